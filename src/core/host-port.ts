/**
 * A broker's address as other brokers reach it: `host:port` and nothing else
 * (docs/operations.md "Addresses"). The host is a DNS name, a dotted IPv4
 * address or a bracketed IPv6 address; the port is 1-65535. No scheme, no
 * user, no path, no query: a peer announces an address that this broker then
 * calls, so a URL there would let anyone who can reach the API point it at
 * any URL (server-side request forgery).
 */

const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const HOST_BYTES_MAX = 253;

/** Whether `text` is `host:port` as described above. */
export function isHostPort(text: string): boolean {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) return false;
  return isHost(text.slice(0, colon)) && isPort(text.slice(colon + 1));
}

function isPort(text: string): boolean {
  if (!/^[0-9]{1,5}$/.test(text)) return false;
  const port = Number(text);
  return port >= 1 && port <= 65_535;
}

function isHost(host: string): boolean {
  if (host.startsWith("[")) return host.endsWith("]") && isIpv6(host.slice(1, -1));
  if (host.length > HOST_BYTES_MAX) return false;
  const labels = host.split(".");
  // All digits: an IPv4 address, which must then be a whole dotted quad (no "1.2.3", no "0x7f.1").
  if (/^[0-9.]+$/.test(host)) return labels.length === 4 && labels.every((octet) => IPV4_OCTET.test(octet) && Number(octet) <= 255);
  return labels.every((label) => LABEL.test(label));
}

function isIpv6(text: string): boolean {
  if (!text.includes(":") || !IPV6.test(text)) return false;
  try {
    return new URL(`http://[${text}]/`).hostname !== "";
  } catch {
    return false;
  }
}

/** A `host:port` already checked (isHostPort, or the CLI) as host and port; an IPv6 host loses its brackets. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) };
}

/** The other way: brackets around an IPv6 host. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * What a broker leaves open to its network, said once at start. On a
 * loopback address only this machine can reach it; on any other address
 * (0.0.0.0 included) anyone who can reach the port can do what the API
 * allows, and without TLS everything crosses the network in clear.
 */

export interface ExposureFacts {
  /** The address the listener binds (--host). */
  host: string;
  /** The listener speaks HTTPS (--tls-cert and --tls-key). */
  tls: boolean;
  /** Every client request must carry credentials (--auth required); false when unknown. */
  authRequired: boolean;
  /** Replication calls are accepted from authenticated brokers only; false when unknown. */
  peersAuthenticated: boolean;
}

const BANNER = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!";

/**
 * The warning block's lines (a banner, the address, one line per thing
 * exposed, what to do, a banner), or none when the broker listens on
 * loopback only or nothing is exposed.
 */
export function exposureWarnings(facts: ExposureFacts): string[] {
  if (isLoopbackHost(facts.host)) return [];
  const exposed: string[] = [];
  if (!facts.tls) exposed.push("no TLS: records, offsets and any credentials cross the network in clear text (--tls-cert, --tls-key)");
  if (!facts.authRequired) exposed.push("no client authentication: anyone who can reach the port can produce, consume, create and delete topics and reset group offsets (--auth required)");
  if (!facts.peersAuthenticated) {
    exposed.push("replication is not authenticated: anyone who can reach the port can stream every topic, or make this broker follow them and overwrite its data (--cluster-secret-file)");
  }
  if (exposed.length === 0) return [];
  return [
    BANNER,
    `WARNING: listening on ${facts.host}, a non-loopback address, with:`,
    ...exposed.map((line) => `  - ${line}`),
    "  Listen on 127.0.0.1, or restrict who can reach this port, until these are set up (docs/security.md).",
    BANNER,
  ];
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  if (lower === "localhost" || lower.endsWith(".localhost")) return true;
  if (lower === "::1" || lower === "0:0:0:0:0:0:0:1") return true;
  const ipv4 = lower.startsWith("::ffff:") ? lower.slice("::ffff:".length) : lower;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ipv4);
}

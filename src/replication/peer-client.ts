/**
 * Brokers calling one another over the same HTTP API clients use
 * (docs/api.md, "Replication"): the follower's stream and position reports,
 * a new leader telling its former leader, a restarted leader asking whether
 * someone else leads now.
 */
import { isHostPort } from "../core/host-port.ts";
import type { BrokerTls } from "../security/tls-files.ts";
import { isClusterId } from "./cluster-id.ts";

export type PeerFetch = (url: string, init: RequestInit) => Promise<Response>;

export const defaultPeerFetch: PeerFetch = (url, init) => fetch(url, init);

/**
 * How this broker calls its peers. Without TLS, plainly. With TLS (a
 * cluster runs it throughout), https to the same `host:port` that peerUrl
 * writes as an http URL: the peer's certificate is verified against this
 * broker's --tls-ca (the system's CAs without one) and must name the host,
 * and this broker's own certificate goes along as its client certificate.
 * A certificate that does not verify fails the call with a message saying so.
 */
export function peerFetch(tls: BrokerTls | undefined): PeerFetch {
  if (tls === undefined) return defaultPeerFetch;
  const options = tls.ca === undefined ? { cert: tls.cert, key: tls.key } : { cert: tls.cert, key: tls.key, ca: tls.ca };
  const trusted = tls.ca === undefined ? "a CA this system trusts" : "the CA of --tls-ca";
  return async (url, init) => {
    const httpsUrl = url.startsWith("http://") ? `https://${url.slice("http://".length)}` : url;
    try {
      return await fetch(httpsUrl, { ...init, tls: options });
    } catch (error) {
      throw tlsFailure(error, httpsUrl, trusted) ?? error;
    }
  };
}

/** Verification codes (OpenSSL's, and Node's for a name mismatch) that mean the peer's certificate was not accepted. */
const CERTIFICATE_REFUSED = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

/** A failed call as the operator needs to read it (it is shown at /api/v1/replication/status); undefined when it was not about TLS. */
function tlsFailure(error: unknown, url: string, trusted: string): Error | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  const host = new URL(url).host;
  const detail = `${code}: ${error instanceof Error ? error.message : String(error)}`;
  if (CERTIFICATE_REFUSED.test(code)) {
    return new Error(`the certificate of ${host} does not verify (${detail}); it must be signed by ${trusted} and name ${new URL(url).hostname}`, { cause: error });
  }
  // The peer refused this broker's certificate, or does not speak TLS.
  if (code === "EPROTO") return new Error(`TLS handshake with ${host} failed (${detail}): does it run TLS, and does it trust this broker's certificate?`, { cause: error });
  return undefined;
}

/** Makes the Authorization header that proves this broker holds the cluster secret (src/security/peer-proof.ts). */
export interface PeerRequestSigner {
  authorization(method: string, path: string): string;
}

/**
 * `fetchPeer` with a fresh proof on every call, for its method and path: with
 * a cluster secret every broker-to-broker call goes through here (the
 * follower's stream and acks, announcements, status questions), so none
 * leaves unsigned.
 */
export function signedPeerFetch(fetchPeer: PeerFetch, signer: PeerRequestSigner): PeerFetch {
  return (url, init) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", signer.authorization(init.method ?? "GET", new URL(url).pathname));
    return fetchPeer(url, { ...init, headers });
  };
}

/** `host:port` (src/core/host-port.ts, checked where the address came in) to the base URL of that broker's API. */
export function peerUrl(address: string): string {
  return `http://${address}`;
}

/** What GET /api/v1/replication/status answers (the fields brokers read from one another). */
export interface PeerStatus {
  brokerId: number;
  role: "leader" | "follower";
  leaderEpoch: number;
  /** A follower's leader. */
  leader: string | null;
  address: string;
  /** Null when it has none yet (or answers without one). */
  clusterId: string | null;
}

/** Asks a broker for its role and epoch; undefined when it does not answer in time. */
export async function peerStatus(fetchPeer: PeerFetch, address: string, timeoutMs: number): Promise<PeerStatus | undefined> {
  try {
    const response = await fetchPeer(`${peerUrl(address)}/api/v1/replication/status`, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as Record<string, unknown>;
    if ((body.role !== "leader" && body.role !== "follower") || typeof body.leader_epoch !== "number") return undefined;
    return {
      brokerId: Number(body.broker_id),
      role: body.role,
      leaderEpoch: body.leader_epoch,
      leader: typeof body.leader === "string" && isHostPort(body.leader) ? body.leader : null,
      address: typeof body.address === "string" && isHostPort(body.address) ? body.address : address,
      clusterId: isClusterId(body.cluster_id) ? body.cluster_id : null,
    };
  } catch {
    return undefined;
  }
}

export interface AnnounceAnswer {
  /** The broker now follows the announcer. */
  accepted: boolean;
  /** Its epoch, when it refused (a newer one means the announcer is deposed itself). */
  leaderEpoch?: number;
  /** Whom it follows or is, when it refused. */
  leader?: string | null;
}

/** Tells a broker "I lead under this epoch" (POST /api/v1/replication/leader); undefined when it does not answer. */
export async function announceLeader(
  fetchPeer: PeerFetch,
  address: string,
  announcement: { leaderId: number; leaderEpoch: number; address: string; clusterId: string },
  timeoutMs: number,
): Promise<AnnounceAnswer | undefined> {
  try {
    const response = await fetchPeer(`${peerUrl(address)}/api/v1/replication/leader`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        leader_id: announcement.leaderId,
        leader_epoch: announcement.leaderEpoch,
        address: announcement.address,
        cluster_id: announcement.clusterId,
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, any>;
    if (response.ok) return { accepted: true };
    const error = body.error ?? {};
    return { accepted: false, leaderEpoch: typeof error.leader_epoch === "number" ? error.leader_epoch : undefined, leader: typeof error.leader === "string" && isHostPort(error.leader) ? error.leader : null };
  } catch {
    return undefined;
  }
}

/**
 * The high watermark and log end of each partition of a broker that leads
 * under `leaderEpoch` (GET /api/v1/replication/status); undefined when it
 * does not answer within `timeoutMs`, or answers as anything but that leader.
 */
export async function leaderPositions(
  fetchPeer: PeerFetch,
  address: string,
  leaderEpoch: number,
  timeoutMs: number,
): Promise<{ topic: string; partition: number; highWatermark: number; logEndOffset: number }[] | undefined> {
  try {
    const response = await fetchPeer(`${peerUrl(address)}/api/v1/replication/status`, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as Record<string, any>;
    if (body.role !== "leader" || body.leader_epoch !== leaderEpoch || !Array.isArray(body.partitions)) return undefined;
    return (body.partitions as any[])
      .filter((p) => typeof p.high_watermark === "number" && typeof p.log_end_offset === "number")
      .map((p) => ({ topic: String(p.topic), partition: Number(p.partition), highWatermark: p.high_watermark, logEndOffset: p.log_end_offset }));
  } catch {
    return undefined;
  }
}

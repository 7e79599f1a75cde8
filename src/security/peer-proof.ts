import { timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { CredentialVerifier, PresentedRequest } from "./authenticator.ts";
import type { ClusterSecret } from "./cluster-secret.ts";
import { NonceCache } from "./nonce-cache.ts";
import { brokerPrincipal, type Principal } from "./principal.ts";

/**
 * The `Gafka-Peer` authorization scheme: a broker proves, on each call to
 * another broker, that it holds the cluster secret.
 *
 * ```
 * Authorization: Gafka-Peer broker=<id>,cluster=<cluster id or ->,ts=<wall ms>,nonce=<32 hex>,mac=<64 hex>
 * mac = HMAC-SHA256(secret, "gafka-peer-v1\n" + broker + "\n" + cluster + "\n" + ts + "\n" + nonce + "\n" + METHOD + "\n" + path)
 * ```
 *
 * `path` is the request's path without its query; `cluster` is `-` for a
 * broker that has no cluster id yet (a new follower). Hex is lowercase.
 *
 * What it proves: the sender holds the secret, made this proof for this
 * method and path within the last `limits.peerProofWindowMs` (either way, for
 * clock skew), and this broker has not taken this nonce before. What it does
 * not cover is the body (and the query): it cannot, for a stream's request
 * is read after the headers. On a network, TLS keeps bodies from being
 * changed and proofs from being captured and replayed with another body;
 * the proof keeps out anyone without the secret.
 */
export const PEER_PROOF_SCHEME = "Gafka-Peer";

const PROOF_VERSION = "gafka-peer-v1";
/** Longest credentials worth parsing: each field is bounded by the pattern below. */
const CREDENTIALS_LENGTH_MAX = 200;
const CREDENTIALS_PATTERN = /^broker=(\d{1,10}),cluster=([A-Za-z0-9_-]{22}|-),ts=(\d{1,16}),nonce=([0-9a-f]{32}),mac=([0-9a-f]{64})$/;
const BROKER_ID_MAX = 2 ** 31 - 1;

interface ProofFields {
  brokerId: number;
  /** `-` without one. */
  cluster: string;
  tsMs: number;
  nonce: string;
}

function proofMessage(fields: ProofFields, method: string, path: string): string {
  return [PROOF_VERSION, fields.brokerId, fields.cluster, fields.tsMs, fields.nonce, method.toUpperCase(), path].join("\n");
}

/** Makes the Authorization header of each call this broker makes to another. */
export class PeerProofSigner {
  constructor(
    private readonly options: {
      secret: ClusterSecret;
      brokerId: number;
      /** This broker's cluster id now; null before it has one. */
      clusterId: () => string | null;
      clock: Clock;
    },
  ) {}

  /** The whole header value, fresh (a new nonce, the clock's time) for one request of `method` on `path`. */
  authorization(method: string, path: string): string {
    const { secret, brokerId, clusterId, clock } = this.options;
    const fields: ProofFields = {
      brokerId,
      cluster: clusterId() ?? "-",
      tsMs: Math.floor(clock.nowMs()),
      nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex"),
    };
    const mac = secret.hmacSha256(proofMessage(fields, method, path)).toString("hex");
    return `${PEER_PROOF_SCHEME} broker=${fields.brokerId},cluster=${fields.cluster},ts=${fields.tsMs},nonce=${fields.nonce},mac=${mac}`;
  }
}

export interface PeerProofVerifierOptions {
  secret: ClusterSecret;
  /** This broker's cluster id now; null before it has one. */
  clusterId: () => string | null;
  clock: Clock;
  /** Default limits.peerProofWindowMs. */
  windowMs?: number;
  /** Default limits.peerProofNoncesMax. */
  noncesMax?: number;
}

/**
 * The `gafka-peer` CredentialVerifier (authenticator.ts): a proof that
 * verifies is the principal `Broker:<id>`. Anything else is 401
 * unauthenticated, saying which check failed (never anything of the
 * secret); a proof from a broker of another cluster is 409
 * cluster_id_mismatch.
 */
export class PeerProofVerifier implements CredentialVerifier {
  private readonly nonces: NonceCache;
  private readonly windowMs: number;

  constructor(private readonly options: PeerProofVerifierOptions) {
    this.windowMs = options.windowMs ?? limits.peerProofWindowMs;
    this.nonces = new NonceCache(options.noncesMax ?? limits.peerProofNoncesMax);
  }

  verify(credentials: string, request: PresentedRequest): Principal {
    const { fields, macHex } = parseCredentials(credentials);
    const expected = this.options.secret.hmacSha256(proofMessage(fields, request.method, request.path));
    const presented = Buffer.from(macHex, "hex");
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw refused("its MAC does not verify: the sender does not hold this broker's cluster secret (is --cluster-secret-file the same on both brokers?)");
    }
    const nowMs = this.options.clock.nowMs();
    const skewMs = fields.tsMs - nowMs;
    if (Math.abs(skewMs) > this.windowMs) {
      throw refused(`its timestamp is ${Math.round(skewMs / 1000)} s from this broker's clock; at most ${this.windowMs / 1000} s either way is taken (check the brokers' clocks)`);
    }
    // Remembered only now, with a valid MAC and in the window: outsiders cannot fill the cache.
    if (!this.nonces.remember(fields.nonce, fields.tsMs + this.windowMs, nowMs)) throw refused("its nonce was used already (a replayed proof)");
    const mine = this.options.clusterId();
    if (fields.cluster !== "-" && mine !== null && fields.cluster !== mine) {
      throw new GafkaError("cluster_id_mismatch", `broker ${fields.brokerId} belongs to cluster ${fields.cluster}, this broker to cluster ${mine}`, {
        details: { cluster_id: mine },
      });
    }
    return brokerPrincipal(fields.brokerId);
  }
}

function parseCredentials(credentials: string): { fields: ProofFields; macHex: string } {
  const match = credentials.length <= CREDENTIALS_LENGTH_MAX ? CREDENTIALS_PATTERN.exec(credentials) : null;
  const brokerId = match === null ? Number.NaN : Number(match[1]);
  if (match === null || brokerId > BROKER_ID_MAX) {
    throw refused("malformed: expected broker=<id>,cluster=<cluster id or ->,ts=<wall ms>,nonce=<32 hex>,mac=<64 hex>");
  }
  return { fields: { brokerId, cluster: match[2]!, tsMs: Number(match[3]), nonce: match[4]! }, macHex: match[5]! };
}

function refused(why: string): GafkaError {
  return new GafkaError("unauthenticated", `the ${PEER_PROOF_SCHEME} proof is refused: ${why}`);
}

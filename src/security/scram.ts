import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { assert } from "../core/assert.ts";
import { GafkaError, invalidRequest } from "../core/errors.ts";
import { limits } from "../core/limits.ts";

/**
 * SCRAM credentials (RFC 5802, RFC 7677) as Kafka stores them, and the
 * server side of a SCRAM exchange.
 *
 * A credential never holds the password, only what RFC 5802 §3 lets a
 * server keep:
 *
 *   SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations)   (Hi)
 *   ClientKey      = HMAC(SaltedPassword, "Client Key")
 *   StoredKey      = H(ClientKey)
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * with H = SHA-256 or SHA-512. The password is taken as its UTF-8 bytes
 * without SASLprep, as Kafka's ScramFormatter does, so a Kafka client and
 * this broker derive the same keys.
 */
export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

export interface ScramCredential {
  readonly mechanism: ScramMechanism;
  /** 32 random bytes for credentials made here; any length when adopted from a Kafka client's upsert. */
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
}

/** Bytes of salt a new credential gets. */
export const SCRAM_SALT_BYTES = 32;

const HASH: Record<ScramMechanism, { name: "sha256" | "sha512"; bytes: number }> = {
  "SCRAM-SHA-256": { name: "sha256", bytes: 32 },
  "SCRAM-SHA-512": { name: "sha512", bytes: 64 },
};

export function isScramMechanism(value: unknown): value is ScramMechanism {
  return value === "SCRAM-SHA-256" || value === "SCRAM-SHA-512";
}

/** The length in bytes of a mechanism's hash, hence of its StoredKey, ServerKey and proofs. */
export function scramKeyBytes(mechanism: ScramMechanism): number {
  return HASH[mechanism].bytes;
}

/** Returns a reason an iteration count is out of bounds, or undefined. */
export function scramIterationsProblem(iterations: unknown): string | undefined {
  if (typeof iterations !== "number" || !Number.isInteger(iterations) || iterations < limits.scramIterationsMin || iterations > limits.scramIterationsMax) {
    return `iterations must be an integer from ${limits.scramIterationsMin} to ${limits.scramIterationsMax}`;
  }
  return undefined;
}

/** PBKDF2 on the thread pool, so a login does not stall the event loop for its milliseconds. */
export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const hash = HASH[mechanism];
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, iterations, hash.bytes, hash.name, (error, key) => (error ? reject(error) : resolve(new Uint8Array(key)))),
  );
}

function hmac(mechanism: ScramMechanism, key: Uint8Array, data: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(HASH[mechanism].name, key).update(data).digest());
}

function digest(mechanism: ScramMechanism, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(HASH[mechanism].name).update(data).digest());
}

/** StoredKey and ServerKey from a SaltedPassword (what Kafka's AlterUserScramCredentials carries). */
export function scramCredentialFromSaltedPassword(mechanism: ScramMechanism, salt: Uint8Array, iterations: number, salted: Uint8Array): ScramCredential {
  assert(salted.length === scramKeyBytes(mechanism), "a salted password is as long as its mechanism's hash");
  const clientKey = hmac(mechanism, salted, "Client Key");
  return Object.freeze({
    mechanism,
    salt: new Uint8Array(salt),
    iterations,
    storedKey: digest(mechanism, clientKey),
    serverKey: hmac(mechanism, salted, "Server Key"),
  });
}

/**
 * A new credential for `password`: a fresh 32-byte random salt, `iterations`
 * (default 4096, bounded by limits.scramIterationsMin..Max). The caller
 * checks the password's length; an iteration count out of bounds is 400.
 */
export async function createScramCredential(
  mechanism: ScramMechanism,
  password: string,
  options: { iterations?: number; salt?: Uint8Array } = {},
): Promise<ScramCredential> {
  const iterations = options.iterations ?? limits.scramIterationsDefault;
  const problem = scramIterationsProblem(iterations);
  if (problem !== undefined) throw invalidRequest(problem);
  const salt = options.salt ?? new Uint8Array(randomBytes(SCRAM_SALT_BYTES));
  return scramCredentialFromSaltedPassword(mechanism, salt, iterations, await saltedPassword(mechanism, password, salt, iterations));
}

/** Whether `password` is the credential's, compared in constant time (one PBKDF2 run of the credential's iterations). */
export async function verifyPassword(credential: ScramCredential, password: string): Promise<boolean> {
  const { mechanism } = credential;
  const salted = await saltedPassword(mechanism, password, credential.salt, credential.iterations);
  return timingSafeEqual(digest(mechanism, hmac(mechanism, salted, "Client Key")), credential.storedKey);
}

/**
 * Why an exchange failed, as RFC 5802's server-error-value names it, so a
 * SASL door can answer `e=<value>` in its server-final message.
 */
export type ScramErrorValue = "invalid-encoding" | "channel-bindings-dont-match" | "invalid-proof" | "extensions-not-supported" | "other-error";

function scramFailure(value: ScramErrorValue, message: string): GafkaError {
  return new GafkaError("unauthenticated", `SCRAM authentication failed: ${message}`, { details: { scram_error: value } });
}

/** base64 of the only GS2 header taken: no channel binding, no authorization identity. */
const GS2_HEADER = "n,,";
const GS2_HEADER_BASE64 = Buffer.from(GS2_HEADER).toString("base64");
/** printable = %x21-2B / %x2D-7E (RFC 5802 §7): any visible ASCII but the comma. */
const NONCE_PATTERN = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Longest client message read; a user name, a nonce and a proof fit many times over. */
const CLIENT_MESSAGE_LENGTH_MAX = 4096;
const NONCE_LENGTH_MAX = 256;

/** `n=` decoded: `=2C` is a comma, `=3D` an equals sign, any other `=` is malformed (RFC 5802 §5.1). */
function decodeSaslName(value: string): string | undefined {
  if (/=(?!2C|3D)/.test(value)) return undefined;
  return value.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

/** The attributes of a message `a=v,b=w,...`, in order; undefined when one is malformed. */
function attributes(message: string): [string, string][] | undefined {
  const parsed: [string, string][] = [];
  for (const part of message.split(",")) {
    if (part.length < 2 || part[1] !== "=" || !/^[A-Za-z]$/.test(part[0])) return undefined;
    parsed.push([part[0], part.slice(2)]);
  }
  return parsed;
}

/** Looks a user's credential up for the mechanism; undefined when the user has none. */
export type ScramCredentialLookup = (user: string, mechanism: ScramMechanism) => ScramCredential | undefined;

/**
 * The server side of one SCRAM exchange (RFC 5802 §5), channel binding
 * "n,," only:
 *
 *   C: n,,n=user,r=<client nonce>                               → clientFirst()
 *   S: r=<client nonce><server nonce>,s=<salt>,i=<iterations>
 *   C: c=biws,r=<both nonces>,p=<ClientProof>                    → clientFinal()
 *   S: v=<ServerSignature>
 *
 * An unknown user gets a made-up salt (the same for the same name while
 * this process runs) and fails at the proof like a wrong password, so the
 * exchange does not say which users exist. Every failure throws GafkaError
 * `unauthenticated` whose `details.scram_error` is the RFC's error value;
 * the exchange is then over (a second call fails too).
 */
export class ScramServerExchange {
  private state: "initial" | "server-first-sent" | "done" | "failed" = "initial";
  private user = "";
  private credential: ScramCredential | undefined;
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: ScramCredentialLookup,
    private readonly options: {
      /** The server's part of the nonce; random (24 bytes, base64) unless a test fixes it. */
      serverNonce?: string;
      /** What an unknown user's exchange runs against; the module's fake one unless given. */
      unknownUserCredential?: (user: string, mechanism: ScramMechanism) => ScramCredential;
    } = {},
  ) {}

  /** Takes the client-first message and answers the server-first message. */
  clientFirst(message: string): string {
    this.expectState("initial");
    try {
      return this.readClientFirst(message);
    } catch (error) {
      this.state = "failed";
      throw error;
    }
  }

  /**
   * Takes the client-final message, checks its proof, and answers the
   * server-final message; `user` is who the exchange proved.
   */
  clientFinal(message: string): { serverFinal: string; user: string } {
    this.expectState("server-first-sent");
    try {
      const serverFinal = this.readClientFinal(message);
      this.state = "done";
      return { serverFinal, user: this.user };
    } catch (error) {
      this.state = "failed";
      throw error;
    }
  }

  private expectState(expected: "initial" | "server-first-sent"): void {
    if (this.state !== expected) {
      const was = this.state;
      this.state = "failed";
      throw scramFailure("other-error", `message out of order (the exchange is ${was})`);
    }
  }

  private readClientFirst(message: string): string {
    if (message.length > CLIENT_MESSAGE_LENGTH_MAX) throw scramFailure("other-error", "client-first message too long");
    if (message.startsWith("p=")) throw scramFailure("other-error", "channel binding is not supported (use n,,)");
    if (!message.startsWith(GS2_HEADER)) throw scramFailure("other-error", "the GS2 header must be 'n,,' (no channel binding, no authorization identity)");
    this.clientFirstBare = message.slice(GS2_HEADER.length);
    const parsed = attributes(this.clientFirstBare);
    if (parsed === undefined || parsed.length < 2 || parsed[0][0] !== "n" || parsed[1][0] !== "r") {
      throw scramFailure("invalid-encoding", "client-first message must be n=<user>,r=<nonce>");
    }
    if (parsed.slice(2).some(([key]) => key === "m")) throw scramFailure("extensions-not-supported", "mandatory extensions are not supported");
    const user = decodeSaslName(parsed[0][1]);
    const clientNonce = parsed[1][1];
    if (user === undefined || user === "") throw scramFailure("invalid-encoding", "malformed user name");
    if (!NONCE_PATTERN.test(clientNonce) || clientNonce.length > NONCE_LENGTH_MAX) throw scramFailure("invalid-encoding", "malformed client nonce");
    const serverNonce = this.options.serverNonce ?? randomBytes(24).toString("base64");
    assert(NONCE_PATTERN.test(serverNonce), "a server nonce is printable and has no comma");
    this.user = user;
    this.credential = this.lookup(user, this.mechanism);
    const credential = this.credential ?? (this.options.unknownUserCredential ?? fakeCredential)(user, this.mechanism);
    this.nonce = clientNonce + serverNonce;
    this.serverFirst = `r=${this.nonce},s=${Buffer.from(credential.salt).toString("base64")},i=${credential.iterations}`;
    this.state = "server-first-sent";
    return this.serverFirst;
  }

  private readClientFinal(message: string): string {
    if (message.length > CLIENT_MESSAGE_LENGTH_MAX) throw scramFailure("other-error", "client-final message too long");
    const proofAt = message.lastIndexOf(",p=");
    const parsed = attributes(message);
    if (proofAt === -1 || parsed === undefined || parsed.length < 3 || parsed[0][0] !== "c" || parsed[1][0] !== "r" || parsed.at(-1)?.[0] !== "p") {
      throw scramFailure("invalid-encoding", "client-final message must be c=<binding>,r=<nonce>,p=<proof>");
    }
    if (parsed[0][1] !== GS2_HEADER_BASE64) throw scramFailure("channel-bindings-dont-match", "channel binding must be 'biws' (n,,)");
    if (parsed[1][1] !== this.nonce) throw scramFailure("other-error", "the nonce is not this exchange's");
    const proofText = parsed.at(-1)![1];
    const keyBytes = scramKeyBytes(this.mechanism);
    const proof = BASE64_PATTERN.test(proofText) ? Buffer.from(proofText, "base64") : undefined;
    if (proof === undefined || proof.length !== keyBytes) throw scramFailure("invalid-encoding", "malformed proof");

    const authMessage = `${this.clientFirstBare},${this.serverFirst},${message.slice(0, proofAt)}`;
    // Against a random key when the user is unknown: the same work, and no match.
    const credential = this.credential;
    const storedKey = credential?.storedKey ?? new Uint8Array(randomBytes(keyBytes));
    const clientSignature = hmac(this.mechanism, storedKey, authMessage);
    const clientKey = new Uint8Array(keyBytes);
    for (let index = 0; index < keyBytes; index++) clientKey[index] = proof[index] ^ clientSignature[index];
    const matches = timingSafeEqual(digest(this.mechanism, clientKey), storedKey);
    if (!matches || credential === undefined) throw scramFailure("invalid-proof", "invalid user name or password");
    return `v=${Buffer.from(hmac(this.mechanism, credential.serverKey, authMessage)).toString("base64")}`;
  }
}

/** Key for the made-up salts of unknown users: random per process, so they cannot be told from real ones across restarts either. */
const FAKE_SALT_KEY = randomBytes(32);

/** An unknown user's stand-in: a salt derived from the name (stable while the process runs), default iterations, keys that match nothing. */
function fakeCredential(user: string, mechanism: ScramMechanism): ScramCredential {
  const salt = new Uint8Array(createHmac("sha256", FAKE_SALT_KEY).update(`${mechanism}\0${user}`).digest());
  const keyBytes = scramKeyBytes(mechanism);
  return { mechanism, salt, iterations: limits.scramIterationsDefault, storedKey: new Uint8Array(keyBytes), serverKey: new Uint8Array(keyBytes) };
}

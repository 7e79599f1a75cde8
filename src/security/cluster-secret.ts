import { createHmac } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { limits } from "../core/limits.ts";

/**
 * The secret every broker of a cluster shares (`--cluster-secret-file`): the
 * key of the peer proofs brokers sign their calls to one another with
 * (peer-proof.ts). It never leaves this object: no method returns it, and
 * printing or serializing it shows a placeholder, so a log line or an error
 * that happens to include it shows nothing.
 */
export class ClusterSecret {
  readonly #key: Uint8Array;

  private constructor(key: Uint8Array) {
    this.#key = key;
  }

  /**
   * The secret from a file's text, trimmed (a trailing newline is not part
   * of it). Throws when shorter than limits.clusterSecretLengthMin.
   */
  static fromText(text: string): ClusterSecret {
    const trimmed = text.trim();
    if (trimmed.length < limits.clusterSecretLengthMin) {
      throw new Error(
        `the cluster secret is ${trimmed.length} characters; it must be at least ${limits.clusterSecretLengthMin} (make one with: openssl rand -base64 32)`,
      );
    }
    return new ClusterSecret(new TextEncoder().encode(trimmed));
  }

  /** HMAC-SHA256 of `message` (UTF-8) under the secret: 32 bytes. */
  hmacSha256(message: string): Buffer {
    return createHmac("sha256", this.#key).update(message, "utf8").digest();
  }

  toString(): string {
    return "[cluster secret]";
  }

  toJSON(): string {
    return "[cluster secret]";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[cluster secret]";
  }
}

/**
 * Reads the cluster secret from `filePath`, once, at start. Refuses a file
 * that group or others may read (mode & 0o077): whoever can read it can
 * replicate, announce a leader and fence this cluster. The error's message
 * names the file, never its content.
 */
export function readClusterSecretFile(filePath: string): ClusterSecret {
  let mode: number;
  let text: string;
  try {
    mode = statSync(filePath).mode;
    text = readFileSync(filePath, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(`cannot read ${filePath}${typeof code === "string" ? ` (${code})` : ""}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new Error(`${filePath} may be read by group or others (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); make it private: chmod 600 ${filePath}`);
  }
  try {
    return ClusterSecret.fromText(text);
  } catch (error) {
    throw new Error(`${filePath}: ${(error as Error).message}`);
  }
}

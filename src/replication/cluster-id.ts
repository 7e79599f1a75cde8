import * as path from "node:path";
import { GafkaError, systemErrorCode } from "../core/errors.ts";
import type { FileSystem } from "../storage/file-system.ts";

/**
 * The cluster a broker belongs to, persisted in `<dataDir>/cluster.json`
 * (source of truth, written once through FileSystem.writeFileAtomic: temp
 * file, fsync, rename, directory fsync — durable when set() resolves):
 *
 * ```json
 * {"version": 1, "cluster_id": "q1Sh-9_ITX2l6MxLvGUkVA"}
 * ```
 *
 * `cluster_id`: 128 random bits in base64url, 22 characters (Kafka's
 * `meta.properties` cluster.id has the same shape). A leader without one makes
 * one; a follower without one takes its leader's on first contact; once set it
 * never changes. Brokers of different clusters refuse each other's streams
 * and announcements (409 cluster_id_mismatch), so a broker pointed at the
 * wrong leader does not cut back or delete what it holds.
 */
export const CLUSTER_FILE_NAME = "cluster.json";
const FILE_VERSION = 1;

/** A new cluster id: 16 random bytes in base64url without padding. */
export function newClusterId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
}

/** Whether `value` has the shape of a cluster id (newClusterId). */
export function isClusterId(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{22}$/.test(value);
}

/** 409 cluster_id_mismatch: `theirs` belongs to another cluster than this broker's `mine`. */
export function clusterIdMismatch(what: string, theirs: string | null, mine: string): GafkaError {
  return new GafkaError("cluster_id_mismatch", `${what} belongs to cluster ${theirs ?? "(none)"}, this broker to cluster ${mine}`, {
    details: { cluster_id: mine },
  });
}

export class ClusterIdStore {
  private constructor(
    private readonly filePath: string,
    private readonly fs: FileSystem,
    private current: string | null,
  ) {}

  /** Reads `<dataDir>/cluster.json`; no id when there is none yet. Throws when damaged. */
  static load(dataDir: string, fs: FileSystem): ClusterIdStore {
    const filePath = path.join(dataDir, CLUSTER_FILE_NAME);
    if (!fs.exists(filePath)) return new ClusterIdStore(filePath, fs, null);
    let file: Record<string, unknown>;
    try {
      file = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fs.readFile(filePath))) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`${filePath} is damaged: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (file?.version !== FILE_VERSION || !isClusterId(file.cluster_id)) throw new Error(`${filePath} is damaged: no version ${FILE_VERSION} cluster_id`);
    return new ClusterIdStore(filePath, fs, file.cluster_id);
  }

  /** This broker's cluster id; null until it leads or first hears from a leader. */
  get clusterId(): string | null {
    return this.current;
  }

  /** Sets the cluster id, once (a second, different one is a bug in the caller: it checks for a mismatch first). */
  async set(clusterId: string): Promise<void> {
    if (this.current === clusterId) return;
    if (this.current !== null) throw clusterIdMismatch("the cluster id to set", clusterId, this.current);
    try {
      await this.fs.writeFileAtomic(this.filePath, new TextEncoder().encode(`${JSON.stringify({ version: FILE_VERSION, cluster_id: clusterId })}\n`));
    } catch (error) {
      throw new GafkaError(
        systemErrorCode(error) === "ENOSPC" ? "storage_full" : "storage_failed",
        `could not write ${this.filePath}: ${error instanceof Error ? error.message : String(error)}`,
        { retriable: true, cause: error },
      );
    }
    this.current = clusterId;
  }

  /** The cluster id, made now (and persisted) if this broker has none: a leader always has one. */
  async ensure(): Promise<string> {
    if (this.current === null) await this.set(newClusterId());
    return this.current!;
  }

  /**
   * Checks `theirs` (a peer's cluster id) against this broker's: a different one
   * is 409 cluster_id_mismatch; with none of its own yet this broker takes it.
   */
  async join(theirs: string, what: string): Promise<void> {
    if (this.current === null) await this.set(theirs);
    else if (this.current !== theirs) throw clusterIdMismatch(what, theirs, this.current);
  }
}

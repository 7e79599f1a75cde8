import * as path from "node:path";
import { assert } from "../core/assert.ts";
import { GafkaError, systemErrorCode } from "../core/errors.ts";
import { isLeaderEpoch, LEADER_EPOCH_MAX } from "../core/limits.ts";
import type { FileSystem } from "../storage/file-system.ts";

export type ReplicaRole = "leader" | "follower";

/** A broker this one has known as a follower: asked on start whether it leads now. */
export interface KnownBroker {
  id: number;
  address: string;
}

/**
 * What a follower last heard of its leader's settings, from the stream's
 * metadata: what its promotion's safety check and lease wait rest on.
 */
export interface LeaderFacts {
  /** The leader's --min-insync-replicas (N). */
  minInsyncReplicas: number;
  /** Leader + the followers it knows (R). */
  replicas: number;
  /** The leader's --replica-lag-max: its lease period. */
  replicaLagMaxMs: number;
}

/**
 * This broker's place in the cluster, persisted in `<dataDir>/replication.json`
 * (source of truth, rewritten whole through FileSystem.writeFileAtomic: temp
 * file, fsync, rename, directory fsync — durable when save() resolves):
 *
 * ```json
 * {"version": 1, "role": "follower", "leader_epoch": 3,
 *  "leader": "localhost:9001", "leader_id": 1,
 *  "to_inform": [],
 *  "followers": [{"id": 3, "address": "localhost:9003"}], "replicas": 3,
 *  "leader_facts": {"min_insync_replicas": 2, "replicas": 3, "replica_lag_max_ms": 10000}}
 * ```
 *
 * - `leader_epoch`: the newest leader epoch this broker knows; it leads under
 *   it when `role` is leader. Only ever grows.
 * - `leader`, `leader_id`: whom a follower follows (null for a leader).
 * - `to_inform`: a promoted leader keeps telling its former leader and its
 *   fellow followers about the new epoch until each has heard.
 * - `followers`: for a leader, brokers that have followed it, asked on start
 *   whether one of them leads at a newer epoch (a deposed leader's way back);
 *   for a follower, its leader's other followers, told when it is promoted.
 *   A leader drops a follower that expired (--follower-expiry, follower-expiry.ts).
 * - `replicas` (a leader's, optional): R, the leader and the most followers it has
 *   had at once since it began to lead (expired ones included), stated to its
 *   followers for their promotion check; an expiry never lowers it, a promotion
 *   starts it again. Absent (older files): 1 + followers.
 * - `leader_facts` (a follower's, optional): its leader's N, R and lease
 *   period as last stated, so a follower restarted while its leader is away
 *   can still judge whether its promotion would be clean.
 */
export interface ReplicationState {
  role: ReplicaRole;
  leaderEpoch: number;
  leader: string | null;
  leaderId: number | null;
  toInform: string[];
  followers: KnownBroker[];
  /** A leader's replica count R stated so far under its leadership (see the file comment); absent: 1 + followers. */
  replicas?: number;
  leaderFacts?: LeaderFacts | null;
}

export const REPLICATION_FILE_NAME = "replication.json";
const FILE_VERSION = 1;

export class ReplicationStateStore {
  private changes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly filePath: string,
    private readonly fs: FileSystem,
    private current: ReplicationState,
    /** Whether the file existed when loaded (a data dir that has been in a cluster before). */
    readonly existed: boolean,
  ) {}

  /** Reads `<dataDir>/replication.json`; `initial` when there is none yet (not written until save). Throws when damaged. */
  static load(dataDir: string, fs: FileSystem, initial: ReplicationState): ReplicationStateStore {
    const filePath = path.join(dataDir, REPLICATION_FILE_NAME);
    if (!fs.exists(filePath)) return new ReplicationStateStore(filePath, fs, initial, false);
    return new ReplicationStateStore(filePath, fs, parse(filePath, fs.readFile(filePath)), true);
  }

  get state(): Readonly<ReplicationState> {
    return this.current;
  }

  /** Replaces the state durably; changes apply one at a time, in call order; the epoch never goes back. */
  save(next: ReplicationState): Promise<void> {
    return this.update(() => next);
  }

  /** Applies `change` to the state as it is when the change's turn comes, and writes the result durably. */
  update(change: (current: ReplicationState) => ReplicationState): Promise<void> {
    const result = this.changes.then(() => this.write(change(this.current)));
    this.changes = result.catch(() => {});
    return result;
  }

  private async write(next: ReplicationState): Promise<void> {
    // Callers refuse an older epoch (409 stale_leader_epoch) before saving: reaching here with one is a bug.
    assert(next.leaderEpoch >= this.current.leaderEpoch, `leader epoch may not go back from ${this.current.leaderEpoch} to ${next.leaderEpoch}`);
    // Every epoch is validated where it enters, and a promote stops at the maximum.
    assert(isLeaderEpoch(next.leaderEpoch), `leader epoch ${next.leaderEpoch} is out of range`);
    const file = {
      version: FILE_VERSION,
      role: next.role,
      leader_epoch: next.leaderEpoch,
      leader: next.leader,
      leader_id: next.leaderId,
      to_inform: next.toInform,
      followers: next.followers.map((follower) => ({ id: follower.id, address: follower.address })),
      ...(next.replicas === undefined ? {} : { replicas: next.replicas }),
      ...(next.leaderFacts == null
        ? {}
        : {
            leader_facts: {
              min_insync_replicas: next.leaderFacts.minInsyncReplicas,
              replicas: next.leaderFacts.replicas,
              replica_lag_max_ms: next.leaderFacts.replicaLagMaxMs,
            },
          }),
    };
    try {
      await this.fs.writeFileAtomic(this.filePath, new TextEncoder().encode(`${JSON.stringify(file, null, 2)}\n`));
    } catch (error) {
      throw new GafkaError(
        systemErrorCode(error) === "ENOSPC" ? "storage_full" : "storage_failed",
        `could not write ${this.filePath}: ${error instanceof Error ? error.message : String(error)}`,
        { retriable: true, cause: error },
      );
    }
    this.current = { ...next, followers: [...next.followers] };
  }
}

function parse(filePath: string, bytes: Uint8Array): ReplicationState {
  const damaged = (reason: string) => new Error(`${filePath} is damaged: ${reason}`);
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as Record<string, unknown>;
  } catch (error) {
    throw damaged(error instanceof Error ? error.message : String(error));
  }
  if (typeof file !== "object" || file === null || file.version !== FILE_VERSION) throw damaged("unknown version");
  const { role, leader_epoch, leader, leader_id, to_inform, followers, replicas, leader_facts } = file;
  if (role !== "leader" && role !== "follower") throw damaged(`bad role ${JSON.stringify(role)}`);
  if (!isLeaderEpoch(leader_epoch)) throw damaged(`bad leader_epoch ${JSON.stringify(leader_epoch)} (a leader epoch is an integer from 0 to ${LEADER_EPOCH_MAX})`);
  if (leader !== null && typeof leader !== "string") throw damaged("bad leader");
  if (leader_id !== null && typeof leader_id !== "number") throw damaged("bad leader_id");
  if (!Array.isArray(to_inform) || !to_inform.every((address) => typeof address === "string")) throw damaged("bad to_inform");
  if (!Array.isArray(followers)) throw damaged("bad followers");
  if (replicas !== undefined && !(typeof replicas === "number" && Number.isSafeInteger(replicas) && replicas >= 1)) throw damaged("bad replicas");
  return {
    role,
    leaderEpoch: leader_epoch,
    leader,
    leaderId: leader_id,
    toInform: to_inform as string[],
    followers: followers.map((entry: unknown, index) => {
      const { id, address } = (entry ?? {}) as Record<string, unknown>;
      if (typeof id !== "number" || typeof address !== "string") throw damaged(`bad followers[${index}]`);
      return { id, address };
    }),
    ...(replicas === undefined ? {} : { replicas: replicas as number }),
    ...(leader_facts === undefined ? {} : { leaderFacts: parseLeaderFacts(leader_facts) }),
  };
}

/** Facts written by this version; anything else (absent, or from elsewhere) counts as not known. */
function parseLeaderFacts(value: unknown): LeaderFacts | null {
  const { min_insync_replicas, replicas, replica_lag_max_ms } = (value ?? {}) as Record<string, unknown>;
  const positive = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0;
  if (!positive(min_insync_replicas) || !positive(replicas) || !positive(replica_lag_max_ms)) return null;
  return { minInsyncReplicas: min_insync_replicas, replicas, replicaLagMaxMs: replica_lag_max_ms };
}

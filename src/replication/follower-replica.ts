import type { StreamSession } from "./stream-session.ts";
import type { LeaderPartition } from "./leader-partition.ts";

/** A time that is never recent, whatever the monotonic clock reads. */
export const NEVER = -Infinity;

/** A follower's partition as the leader tracks it. */
export interface ReplicaPartition {
  /** One past the last offset the follower has said it holds durably. */
  ackedOffset: number;
  /**
   * The latest leader SEND time as of which the follower is known to have
   * held everything the leader held durably (Kafka's lastCaughtUpTime): the
   * stamp of a send that reached the leader's durable end and that the
   * follower has since acknowledged, or an echoed stamp while it holds the
   * leader's durable end. A send time, never the time an ack arrived: it
   * proves the follower heard the leader then. NEVER (-Infinity) before it
   * ever caught up: the monotonic clock starts near 0 with the process.
   */
  lastCaughtUpMs: number;
  inSync: boolean;
  /** Sends that reached the leader's durable end, oldest first: acking one means caught up as of its send time. */
  sent: { endOffset: number; atMs: number }[];
}

/** A follower as its leader tracks it: its stream, when it was last heard, and its partitions. */
export interface FollowerReplica {
  id: number;
  address: string;
  /** Where Kafka clients reach it, as its stream request said (only from a caller the gate let replicate); undefined: none said. */
  kafkaAddress: string | undefined;
  lastContactMs: number;
  session: StreamSession | undefined;
  /** The id of the latest session, which a leaving follower names after its stream ended; undefined before the first. */
  lastSessionId: string | undefined;
  partitions: Map<string, ReplicaPartition>;
  /** The offset-store write its session's offsets snapshot covers: later writes go out one by one. */
  offsetsSnapshotSequence: number;
}

/** A follower not heard from yet, with no partitions and no stream. */
export function newFollowerReplica(id: number, address: string, lastContactMs: number): FollowerReplica {
  return { id, address, kafkaAddress: undefined, lastContactMs, session: undefined, lastSessionId: undefined, partitions: new Map(), offsetsSnapshotSequence: 0 };
}

/** A follower as GET /api/v1/replication/status reports it. */
export interface FollowerStatus {
  id: number;
  address: string;
  connected: boolean;
  lastContactMs: number;
  /** How long ago (ms, leader's clock) the newest send this follower echoed went out; null if none since it last left. */
  leaseRenewedMsAgo: number | null;
  partitions: {
    topic: string;
    partition: number;
    ackedOffset: number;
    lag: number;
    /** How long the follower has been behind: 0 while it holds the leader's log end, null if it never caught up. */
    lagMs: number | null;
    inSync: boolean;
  }[];
}

/** The follower's status against the leader's partitions; `renewedAtMs`: when it last renewed the lease. */
export function followerStatus(
  follower: FollowerReplica,
  partitions: ReadonlyMap<string, LeaderPartition>,
  renewedAtMs: number | undefined,
  now: number,
): FollowerStatus {
  return {
    id: follower.id,
    address: follower.address,
    connected: follower.session !== undefined,
    lastContactMs: follower.lastContactMs,
    leaseRenewedMsAgo: renewedAtMs === undefined ? null : Math.max(0, Math.round(now - renewedAtMs)),
    partitions: [...partitions.entries()].map(([key, leaderPartition]) => {
      const replica = follower.partitions.get(key);
      const ackedOffset = replica?.ackedOffset ?? 0;
      const lag = Math.max(0, leaderPartition.log.logEndOffset - ackedOffset);
      const lastCaughtUpMs = replica?.lastCaughtUpMs ?? NEVER;
      return {
        topic: leaderPartition.topic,
        partition: leaderPartition.partition,
        ackedOffset,
        lag,
        lagMs: lag === 0 ? 0 : lastCaughtUpMs === NEVER ? null : Math.max(0, Math.round(now - lastCaughtUpMs)),
        inSync: replica?.inSync ?? false,
      };
    }),
  };
}

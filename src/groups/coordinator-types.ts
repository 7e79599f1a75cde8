import type { FetchFormat } from "../broker/broker.ts";
import type { StoredRecord } from "../protocol/record.ts";
import type { AssignorName, TopicPartition } from "./assignor.ts";

// The shapes of the group coordinator's calls and answers (GroupCoordinator re-exports them).

export interface JoinOptions {
  topics: string[];
  sessionTimeoutMs?: number;
  assignor?: AssignorName;
}

export interface MembershipView {
  groupId: string;
  memberId: string;
  generation: number;
  assignment: TopicPartition[];
  sessionTimeoutMs: number;
}

export interface GroupRecord extends StoredRecord {
  topic: string;
  partition: number;
}

/**
 * The stored batches of one partition a group consume delivers (format
 * "batches"): the records [offset, nextOffset), as FetchResult.batches holds them.
 */
export interface GroupChunk extends TopicPartition {
  offset: number;
  nextOffset: number;
  batches: Uint8Array;
}

export interface GroupConsumeRequest extends JoinOptions {
  maxRecords: number;
  waitMs: number;
  /** When given, must be the current generation (else 409 stale_generation). */
  generation?: number;
  /** Ask for one partition only; it must be the member's (else 409 partition_not_owned). */
  only?: TopicPartition;
  signal?: AbortSignal;
  /** Records decoded ("records", the default) or the stored batches holding them ("batches"). */
  format?: FetchFormat;
  /**
   * "previous" (the default): this call commits what the member's previous
   * call delivered, durably, before it is answered. "none": it commits
   * nothing; the member reads on from where its last call ended and commits
   * through commit() when it chooses (Kafka's consumer model: no fsync on the
   * poll's path, and after a crash or rebalance the records since its last
   * commit are delivered again).
   */
  commit?: GroupConsumeCommit;
}

export type GroupConsumeCommit = "previous" | "none";

export interface GroupConsumeResult extends MembershipView {
  /** Format "records": the records delivered; empty for "batches". */
  records: GroupRecord[];
  /** Format "batches": one chunk per partition that delivered records, in read order; empty for "records". */
  chunks: GroupChunk[];
}

export interface OffsetCommit extends TopicPartition {
  offset: number;
}

export interface PartitionStatus extends TopicPartition {
  committedOffset: number | null;
  /** The partition's log start offset; null when the partition is offline or gone. */
  logStartOffset: number | null;
  /** The committed offset lies below the log start (retention or DeleteRecords took those records): the group resumes at the log start. */
  belowLogStart: boolean;
  logEndOffset: number | null;
  lag: number | null;
  owner: string | null;
}

/** A group's status reduced to what the default metrics carry: no entry per partition. */
export interface GroupSummary {
  groupId: string;
  /** Live members (as GroupStatus.members.length). */
  members: number;
  /** Partitions the group has an acknowledged committed offset on or is assigned (as GroupStatus.partitions.length). */
  partitions: number;
  /** The sum of the partitions' lag, leaving out those without one (offline or gone). */
  lag: number;
}

export interface GroupStatus {
  groupId: string;
  state: "empty" | "stable";
  generation: number;
  /** An HTTP group's assignor; a Kafka group's, the protocol its members chose (e.g. "range", "RoundRobinAssigner"). */
  assignor: AssignorName | (string & {});
  members: {
    memberId: string;
    topics: string[];
    sessionTimeoutMs: number;
    lastHeartbeatAtMs: number;
    assignment: TopicPartition[];
  }[];
  partitions: PartitionStatus[];
}

export type ResetTarget =
  | { to: "earliest" }
  | { to: "latest" }
  | { to: "offset"; offset: number }
  | { to: "timestamp"; timestampMs: number };

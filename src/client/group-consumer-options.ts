import type { ValueEncoding } from "./consumer.ts";
import type { ClientOptions } from "./http-client.ts";
import type { TopicPartition } from "./topic-partition.ts";
import type { RecordFormat } from "./wire.ts";

export type AssignorName = "round-robin" | "sticky";

export interface GroupConsumerOptions<E extends ValueEncoding = "utf8"> extends ClientOptions {
  groupId: string;
  /** This member's id, 1–128 of `[A-Za-z0-9._-]`. Default `<hostname>-<pid>-<random>`. */
  consumerId?: string;
  /** The topics to consume: a name, `a,b`, or a list. */
  topics: string | string[];
  /** Chosen at join; the broker drops the member after this long without a sign of life. Broker default 10 s. */
  sessionTimeoutMs?: number;
  /** The group's assignor, chosen by its first member. Default `round-robin`. */
  assignor?: AssignorName;
  /** Default: a third of the session timeout. */
  heartbeatIntervalMs?: number;
  /** Most records one poll returns. Default 100. */
  maxRecords?: number;
  /** Long-poll wait of each poll made by `for await`. Default (and at most) 30 s. */
  waitMs?: number;
  /** `binary` gives keys, values and header values as Uint8Array. Default `utf8`. */
  encoding?: E;
  /**
   * How records travel: `batch` (default) asks for Kafka RecordBatch v2 bytes
   * and reads JSON when that is what comes back; `json` asks for JSON. The
   * records handed out are the same either way.
   */
  format?: RecordFormat;
  /**
   * Kafka's auto-commit (`enable.auto.commit`, `auto.commit.interval.ms`):
   * polls commit nothing (`commit=none`), so no poll waits for an offsets
   * fsync, and what earlier polls handed out is committed in the background
   * by the first poll after this many ms. Undefined (the default): every poll
   * acknowledges the batch before it, durably, before it is answered. With
   * it, a member that dies or loses its partitions hands the records since
   * its last commit (up to this interval of them) to the next owner again.
   */
  autoCommitIntervalMs?: number;
}

/** What the broker last told this member about its group. */
export interface Membership {
  groupId: string;
  consumerId: string;
  generation: number;
  /** The partitions this member owns in `generation`, sorted. */
  assignment: TopicPartition[];
  sessionTimeoutMs: number;
  /** The leader epoch of the coordinator that answered (0 from a broker without replication). */
  leaderEpoch: number;
}

export interface GroupCloseOptions {
  /**
   * Commit the last batch handed out before leaving. Pass it when that batch
   * was processed (a loop that stops after handling it); without it, those
   * records go to the partition's next owner again.
   */
  commit?: boolean;
}

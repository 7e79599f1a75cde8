/**
 * What a partition scenario saw, as plain data: the checker
 * (partition-checker.ts) judges it, the scenarios (scenarios.ts) record it.
 * Times are milliseconds on the harness's own clock (`performance.now()`),
 * so intervals from different clients compare; brokers' clocks are not used.
 */

/** A produce the broker answered 200: the client was told `value` is at `offset`. */
export interface ProduceAck {
  value: string;
  partition: number;
  offset: number;
  acks: "0" | "1" | "all";
  /** Base URL of the broker that acknowledged it. */
  broker: string;
  atMs: number;
}

/** A record a consumer was shown (explicit partition reads or group consume). */
export interface RecordRead {
  value: string;
  partition: number;
  offset: number;
  broker: string;
  atMs: number;
}

/** A group commit the coordinator answered 200: `offset` is the next offset to consume. */
export interface CommitAck {
  group: string;
  partition: number;
  offset: number;
  broker: string;
  atMs: number;
}

/**
 * A member believed it owned `partition` from `fromMs` (it received the answer
 * that assigned it) until `toMs` (an answer without it, a failed call, or the
 * end of the run). `coordinator` is the broker that answered; `leaderEpoch`
 * the epoch the answer carried (null when the broker sends none).
 */
export interface OwnershipClaim {
  member: string;
  partition: number;
  fromMs: number;
  toMs: number;
  coordinator: string;
  leaderEpoch: number | null;
  generation: number;
}

/** What the cluster holds once healed and converged, read from its leader. */
export interface FinalState {
  /** Per partition, every record from offset 0 to the high watermark. */
  records: Map<number, { offset: number; value: string }[]>;
  /** Per partition, the group's committed offset (absent: none). */
  committed: Map<number, number>;
}

export interface History {
  produced: ProduceAck[];
  reads: RecordRead[];
  commits: CommitAck[];
  ownership: OwnershipClaim[];
}

export function emptyHistory(): History {
  return { produced: [], reads: [], commits: [], ownership: [] };
}

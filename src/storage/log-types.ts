import type { RetentionCheck } from "./retention-check.ts";
import type { SegmentRollPolicy } from "./segment-roll-policy.ts";
import type { CheckedClientBatch } from "./batch-check.ts";
import type { CompactionTarget } from "./compaction-target.ts";
import type { LeaderEpochCache } from "./leader-epoch-cache.ts";
import type { FrontDeleted } from "./log-front.ts";
import type { RetentionPolicy } from "./retention-policy.ts";
import type { ReadWaiter } from "./read-waiters.ts";
import type { RecordInput, StoredRecord } from "../protocol/record.ts";

/**
 * The contract between a partition's log (src/storage/partition-log.ts) and
 * the broker that owns it. Offsets are JS numbers (safe to 2^53).
 */
export interface AppendResult {
  /** Offset of the first record appended. */
  baseOffset: number;
  /** Offset of the last record appended (baseOffset + records - 1). */
  lastOffset: number;
  /** The timestamp stored for the batch's first record. */
  timestampMs: number;
}

export interface ReadResult {
  /** Records at or after the requested offset, in offset order. */
  records: StoredRecord[];
  /**
   * The offset to ask for next: last returned + 1, or the requested offset
   * when none; past offsets a compaction left without records when the read
   * walked over them (src/storage/segment-read.ts).
   */
  nextOffset: number;
}

/** Stored batches as PartitionLog.readBatches returns them for a binary consume. */
export interface BatchesRead {
  /**
   * Whole stored RecordBatch v2 batches, back to back, without their frame
   * headers: every record in [offset asked for, nextOffset), and possibly
   * records before it (the first batch) and after it (the last). Empty when
   * nextOffset is the offset asked for.
   */
  batches: Uint8Array;
  /** One past the last record delivered; the offset asked for when none is. */
  nextOffset: number;
}

/** Stored frames as PartitionLog.readFrames returns them for a follower. */
export interface FramesRead {
  /** Whole frames (header + batch) exactly as stored; empty when none. */
  frames: Uint8Array;
  /** One past the last offset in `frames`. */
  nextOffset: number;
  /** The first frame is the first of a segment file. */
  startsSegment: boolean;
}

export type PartitionStatus = "online" | "offline" | "corrupt";

export interface PartitionLogApi {
  /**
   * online: serving. offline: a write or fsync failed and the log is being
   * reopened through recovery (503, retriable). corrupt: recovery found damage
   * in the middle of the log and refuses it (503 log_corrupt, see statusMessage).
   */
  readonly status: PartitionStatus;
  readonly statusMessage: string | undefined;
  /**
   * The log start offset (Kafka's logStartOffset, src/storage/log-front.ts):
   * the first offset a reader may ask for. Checkpointed; only grows
   * (retention, DeleteRecords, a follower following its leader).
   */
  readonly earliestOffset: number;
  /** The first segment's base offset, at or below earliestOffset: where stored frames begin (replication reads). */
  readonly firstSegmentOffset: number;
  /**
   * One past the last offset a reader may see: durable here per the fsync
   * policy and, under replication, held durably by every in-sync replica.
   */
  readonly highWatermark: number;
  /** One past the last offset written, durable or not. */
  readonly logEndOffset: number;
  /** One past the last offset durable here (per the fsync policy); the high watermark when alone. */
  readonly durableEndOffset: number;
  /** Replication's bound on the high watermark (a follower: its leader's); undefined when none. */
  readonly highWatermarkBound: number | undefined;
  /** Which leader epoch began at which offset (persisted beside the segments). */
  readonly leaderEpochs: LeaderEpochCache;
  /** Bytes of all segment files. */
  readonly sizeBytes: number;
  /**
   * Appends the records as one batch. Resolves once the batch is durable as
   * the fsync policy demands; rejects with a GafkaError (storage_full,
   * storage_failed, partition_offline) and then nothing of it is acknowledged.
   */
  append(records: RecordInput[]): Promise<AppendResult>;
  /** Appends a client's checked batches (binary produce) as one unit; durability as append(). */
  appendBatches(batches: readonly CheckedClientBatch[]): Promise<AppendResult>;
  /**
   * Reads records from `offset` (earliestOffset <= offset <= highWatermark,
   * otherwise offset_out_of_range), at most `maxRecords`, stopping after about
   * `maxBytes` of batches (at least one batch is read when any is there).
   */
  read(offset: number, maxRecords: number, maxBytes: number): ReadResult;
  /**
   * The same records as read() with the same arguments, as the stored
   * batches holding them, undecoded (each batch's frame CRC32 checked).
   */
  /** `firstBatchPastMaxBytes` (default true): the first batch is read whole even past maxBytes, so a reader always progresses; false keeps to maxBytes. */
  readBatches(offset: number, maxRecords: number, maxBytes: number, firstBatchPastMaxBytes?: boolean): BatchesRead;
  /**
   * Resolves when highWatermark > offset, or after waitMs, or when any of the
   * signals aborts, whichever is first. Woken by the append itself, not by
   * polling. (Several signals rather than AbortSignal.any: each of those
   * leaves the garbage collector weak references to process, per poll.)
   */
  waitForData(offset: number, waitMs: number, ...signals: (AbortSignal | undefined)[]): Promise<void>;
  /**
   * The parts of waitForData for a wait spanning several partitions: registers
   * `waiter`, woken once (and taken out) when highWatermark > waiter.offset
   * or the log closes. Registers nothing and answers false when that is so
   * already. The caller removes a waiter whose wait ended otherwise.
   */
  addReadWaiter(waiter: ReadWaiter): boolean;
  removeReadWaiter(waiter: ReadWaiter): void;
  /** First offset whose timestamp is >= timestampMs, or the high watermark when none is. */
  offsetForTimestamp(timestampMs: number): number;
  /** Moves the log start up to `offset` (at most logEndOffset), deleting the segments wholly below it; durable when it returns. */
  advanceLogStart(offset: number, reason: string): FrontDeleted | undefined;
  /** Delete retention: removes the oldest sealed segments past `policy` at `nowMs`; durable when it returns. */
  applyRetention(policy: RetentionPolicy, nowMs: number): FrontDeleted | undefined;
  /** Finishes in-flight writes, fsyncs and closes the files. */
  close(): Promise<void>;
  /** The topic's segment.bytes and segment.ms, changed live (setLimits): the next roll decision uses them. */
  readonly rollPolicy: SegmentRollPolicy;
  /** Kafka's size rule checked on every append (arm: the topic's retention.bytes): asks for a retention pass once the partition is past it. */
  readonly retentionCheck: RetentionCheck;
  /**
   * Seals the active segment once it has held records for segment.ms, so that
   * a partition nobody writes to still gets a sealed segment retention can
   * delete (the leader's periodic check; a follower rolls where its leader
   * did, never by its own clock); true when it rolled.
   */
  rollIfAged(): boolean;

  /** The log cleaner's view (src/storage/compaction-target.ts). */
  compactionTarget(): CompactionTarget;

  // Replication (src/replication): see PartitionLog for the contracts.
  appendFrames(frames: Uint8Array, startsSegment: boolean): Promise<AppendResult>;
  readFrames(offset: number, maxBytes: number): FramesRead;
  batchBaseOffsetOf(offset: number): number;
  truncateTo(offset: number): Promise<void>;
  restartAt(offset: number): Promise<void>;
  onDurable(listener: () => void): void;
  setHighWatermarkLimit(limit: number | undefined): void;
  resetHighWatermarkLimit(limit: number | undefined): void;
}

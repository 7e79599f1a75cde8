import type { Clock, Timer } from "../core/clock.ts";
import { GafkaError, systemErrorCode } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { assert } from "../core/assert.ts";
import { encodeBatchFrame, FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";
import type { CheckedClientBatch } from "./batch-check.ts";
import { setBaseOffset, setPartitionLeaderEpoch } from "../protocol/record-batch.ts";
import { checkFrames } from "./frame-chunk.ts";
import { batchStartPosition, locateBatch, readFrameRun } from "./frame-locator.ts";
import type { FsyncPolicy } from "./fsync-policy.ts";
import { LeaderEpochCache } from "./leader-epoch-cache.ts";
import type { AppendResult, BatchesRead, FramesRead, PartitionLogApi, PartitionStatus, ReadResult } from "./log-types.ts";
import type { RecordInput, StoredRecord } from "../protocol/record.ts";
import type { Segment } from "./segment.ts";
import { type ReadWaiter, ReadWaiters } from "./read-waiters.ts";
import { SegmentReader } from "./segment-reader.ts";
import { createSegment, loadSegments, rebuildIndex, type SegmentFiles, writeIndexFile } from "./segment-loader.ts";
import { firstOffsetAtOrAfter, readSegmentRecords } from "./segment-read.ts";
import { joinRuns, readSegmentBatches, type SegmentBatches } from "./batch-read.ts";
import { checkedIndexStart, type FrameStart } from "./index-lookup.ts";

export interface PartitionLogOptions {
  /** The partition's directory; created when missing. */
  dir: string;
  /** For messages, e.g. "orders-3". */
  name: string;
  fs: FileSystem;
  clock: Clock;
  logger: Logger;
  fsyncPolicy: FsyncPolicy;
  segmentBytesMax: number;
  indexIntervalBytes?: number;
  /**
   * The data dir held the clean-shutdown marker (src/storage/clean-shutdown-marker.ts):
   * every log was closed and fdatasync'ed, so a damaged last frame is
   * corruption and the log is refused rather than cut. Opening only; a
   * reopen after a failed write or fsync allows a torn tail again.
   */
  afterCleanShutdown?: boolean;
  /** The leader epoch stamped into each batch append() writes; -1 (no epoch) when absent. */
  leaderEpoch?: () => number;
  /**
   * Called after every successful fdatasync of appended records (group commit
   * and the interval sync): how long it took, and how many records and bytes
   * it made durable. For metrics; must not throw.
   */
  onFsync?: (durationSeconds: number, records: number, bytes: number) => void;
}

/** An append whose frames are written (in `unwritten`: about to be) and whose promise waits. */
interface PendingAck {
  result: AppendResult;
  /** Its frame, run of frames (a follower's), or frame headers and batches in turn (a client's batches), to write in order. */
  chunks: readonly Uint8Array[];
  /** Bytes of `chunks`. */
  bytes: number;
  /** One past the last offset in the frame. */
  nextOffset: number;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

const READ_CHUNK_BYTES = 256 * 1024;
/**
 * Under `always`, frames appended while an fdatasync runs are held and
 * written together just before the next one (one write for many small
 * produces); once this many bytes are held they are written at the end of
 * their turn instead, so that copying large batches into the page cache
 * overlaps the running fdatasync rather than delaying the next.
 */
const HELD_WHILE_SYNCING_BYTES_MAX = 64 * 1024;
/** How long an offline partition waits before trying its reopen again (docs/operations.md). */
const REOPEN_RETRY_MS = 1000;

/**
 * A partition's log: segments of framed Kafka record batches on disk, read
 * back from the files (the page cache), never held in memory.
 *
 * Durability contract of append(): the returned promise resolves when the
 * batch is
 * - fdatasync'ed (policy `always`; concurrent appends share one fdatasync —
 *   group commit), or
 * - written to the OS (policies `interval:<ms>` and `never`).
 * Readers see a record only once it is acknowledged (the high watermark), so
 * under `always` no reader ever sees a record a crash could take back. Under
 * replication the high watermark is further bounded by what the in-sync
 * followers hold (setHighWatermarkLimit, src/replication); a follower appends
 * the leader's stored frames unchanged (appendFrames) and cuts back what its
 * leader never had (truncateTo). Every batch append() writes carries the
 * current leader epoch, and the first of each epoch is recorded durably in
 * `leader-epoch-checkpoint` before it is acknowledged.
 *
 * Appends are coalesced: every frame appended in one turn of the event loop
 * (and, under `always`, the small frames appended while the previous
 * fdatasync ran) goes to disk in ONE gathered write, at the end of the turn
 * or just before the group commit's fdatasync; the segment's offsets, size and index
 * move at append() time, the high watermark only once the bytes are written
 * (and fsync'ed, under `always`).
 *
 * A failed write is cut off and every append in it is rejected (their offsets
 * are given out again); the partition goes on. A failed fsync is never
 * retried: everything since the last good fsync is rejected, the partition
 * goes offline and is reopened through recovery.
 */
export class PartitionLog implements PartitionLogApi {
  status: PartitionStatus = "offline";
  statusMessage: string | undefined = "opening";

  private readonly fs: FileSystem;
  private readonly logger: Logger;
  private readonly indexIntervalBytes: number;
  private segments: Segment[] = [];
  /** One past the last offset acknowledged locally (fsynced under `always`). */
  private durableOffset = 0;
  /**
   * Replication's bound on what readers see: the leader's in-sync replicas'
   * durable position, or on a follower the leader's high watermark.
   * Undefined for a broker alone: then the high watermark is durableOffset.
   */
  private highWatermarkLimit: number | undefined = undefined;
  private durableListeners: (() => void)[] = [];
  private epochs: LeaderEpochCache | undefined;
  private totalBytes = 0;
  /** Appended in this turn (or during the running fdatasync), not yet written: one write takes them all. */
  private unwritten: PendingAck[] = [];
  /** Bytes of the frames in `unwritten`: the last ones of the active segment. */
  private unwrittenBytes = 0;
  private flushScheduled = false;
  /** Written, waiting for the fdatasync that acknowledges them (policy `always`). */
  private pendingAcks: PendingAck[] = [];
  private syncInFlight: Promise<void> | undefined;
  /** Position in the active segment covered by the last good fdatasync. */
  private durablePosition = 0;
  /** One past the last offset the interval sync covered (what its next fsync reports as records). */
  private intervalSyncedOffset = 0;
  private intervalTimer: Timer | undefined;
  private readonly waiters: ReadWaiters;
  private closed = false;
  private readonly reader: SegmentReader;
  /** The next reopen attempt, while the partition is offline. */
  private reopenTimer: Timer | undefined;
  /** Where the active segment must be cut before a reopen loads it (past the last good fdatasync), until done. */
  private cutOnReopen: { logPath: string; position: number } | undefined;
  /** Until the first load: the last stop was clean, so the active segment's tail must be whole. */
  private afterCleanShutdown: boolean;

  private constructor(private readonly options: PartitionLogOptions) {
    this.fs = options.fs;
    this.logger = options.logger;
    this.indexIntervalBytes = options.indexIntervalBytes ?? limits.indexIntervalBytes;
    this.reader = new SegmentReader(options.fs, -1, 0, READ_CHUNK_BYTES);
    this.afterCleanShutdown = options.afterCleanShutdown ?? false;
    this.waiters = new ReadWaiters(options.clock);
  }

  /**
   * Opens the log and recovers it from the files (src/storage/segment-loader.ts):
   * a torn tail of the active segment is cut off (and logged with the bytes
   * dropped), unless the last stop was clean; damage followed by valid frames,
   * damage in a sealed segment or a gap between segments throws GafkaError
   * `log_corrupt` naming the file, position and offsets.
   */
  static open(options: PartitionLogOptions): PartitionLog {
    const log = new PartitionLog(options);
    log.load();
    log.afterCleanShutdown = false;
    if (options.fsyncPolicy.kind === "interval") {
      log.intervalTimer = options.clock.setInterval(() => log.syncDirty(), options.fsyncPolicy.intervalMs);
    }
    return log;
  }

  get earliestOffset(): number {
    return this.segments.length === 0 ? 0 : this.segments[0]!.baseOffset;
  }

  /** One past the last offset readers may see: durable here and, with replication, on every in-sync replica. */
  get highWatermark(): number {
    const limit = this.highWatermarkLimit;
    return limit === undefined || limit >= this.durableOffset ? this.durableOffset : limit;
  }

  /** One past the last offset written (durable or not): where the next batch goes. */
  get logEndOffset(): number {
    return this.segments.length === 0 ? this.durableOffset : this.active.nextOffset;
  }

  /** One past the last offset acknowledged locally under the fsync policy. */
  get durableEndOffset(): number {
    return this.durableOffset;
  }

  /** Replication's bound on the high watermark (on a follower: the leader's high watermark); undefined when none. */
  get highWatermarkBound(): number | undefined {
    return this.highWatermarkLimit;
  }

  /** Which leader epoch began where (persisted beside the segments). */
  get leaderEpochs(): LeaderEpochCache {
    if (this.epochs === undefined) throw new GafkaError("partition_offline", `partition ${this.options.name} is not open`, { retriable: true });
    return this.epochs;
  }

  get sizeBytes(): number {
    return this.totalBytes;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  // ---------------------------------------------------------------- append

  append(records: RecordInput[]): Promise<AppendResult> {
    try {
      this.assertWritable();
      if (records.length === 0) throw new GafkaError("invalid_request", "a batch needs at least one record");
      const baseOffset = this.active.nextOffset;
      const partitionLeaderEpoch = this.options.leaderEpoch?.() ?? -1;
      const frame = encodeBatchFrame({ baseOffset, records, partitionLeaderEpoch });
      const target = this.active.sizeBytes > 0 && this.active.sizeBytes + frame.length > this.options.segmentBytesMax
        ? this.roll()
        : this.active;
      assert(target.nextOffset === baseOffset, "offsets move only forward between encoding and appending a batch");
      // The epoch's start is on disk before any record of it is acknowledged.
      if (partitionLeaderEpoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(partitionLeaderEpoch, baseOffset);
      const nextOffset = baseOffset + records.length;
      target.appended(baseOffset, nextOffset, frame.length, this.indexIntervalBytes);
      const result = { baseOffset, lastOffset: nextOffset - 1, timestampMs: records[0]!.timestampMs };
      return this.enqueueWrite([frame], frame.length, result, nextOffset);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A client's batches (binary produce), already checked by
   * checkClientBatches (src/storage/batch-check.ts): given consecutive
   * offsets from the log end and this leader's epoch (both outside the
   * CRC-32C, which stays valid) and appended as one unit, each after a frame
   * header of its own. The batches are not copied: their bytes (the request
   * body, which the log now owns) are stamped in place and written from
   * there, so the caller must not use them again. Durability as append().
   */
  appendBatches(batches: readonly CheckedClientBatch[]): Promise<AppendResult> {
    try {
      this.assertWritable();
      if (batches.length === 0) throw new GafkaError("invalid_request", "a produce needs at least one batch");
      const baseOffset = this.active.nextOffset;
      const partitionLeaderEpoch = this.options.leaderEpoch?.() ?? -1;
      let frameBytes = 0;
      for (const batch of batches) frameBytes += FRAME_HEADER_BYTES + batch.bytes.length;
      const target = this.active.sizeBytes > 0 && this.active.sizeBytes + frameBytes > this.options.segmentBytesMax
        ? this.roll()
        : this.active;
      assert(target.nextOffset === baseOffset, "offsets move only forward between checking batches and appending them");
      if (partitionLeaderEpoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(partitionLeaderEpoch, baseOffset);
      const headers = new Uint8Array(FRAME_HEADER_BYTES * batches.length);
      const view = new DataView(headers.buffer);
      const chunks: Uint8Array[] = [];
      let nextOffset = baseOffset;
      for (let index = 0; index < batches.length; index++) {
        const batch = batches[index]!;
        const stored = batch.bytes;
        setBaseOffset(stored, nextOffset);
        setPartitionLeaderEpoch(stored, partitionLeaderEpoch);
        const at = index * FRAME_HEADER_BYTES;
        view.setUint32(at, stored.length);
        view.setUint32(at + 4, frameChecksum(stored));
        chunks.push(headers.subarray(at, at + FRAME_HEADER_BYTES), stored);
        target.appended(nextOffset, nextOffset + batch.recordCount, FRAME_HEADER_BYTES + stored.length, this.indexIntervalBytes);
        nextOffset += batch.recordCount;
      }
      const result = { baseOffset, lastOffset: nextOffset - 1, timestampMs: batches[0]!.baseTimestampMs };
      return this.enqueueWrite(chunks, frameBytes, result, nextOffset);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A follower's append: whole frames exactly as the leader stored them
   * (src/storage/frame.ts), written unchanged at their own offsets. Every
   * frame's CRC32 and its batch's CRC-32C are checked before anything is
   * written, and the first batch must continue this log (its baseOffset is
   * logEndOffset). `startsSegment` says the leader began a segment with the
   * first frame; the follower does the same, so its segment files match the
   * leader's byte for byte. Durability as append(): resolves once the frames
   * are durable per the fsync policy; on a rejection nothing of them is
   * acknowledged (a failed write is cut off).
   */
  appendFrames(frames: Uint8Array, startsSegment: boolean): Promise<AppendResult> {
    try {
      this.assertWritable();
      const firstOffset = this.active.nextOffset;
      const checked = checkFrames(frames, firstOffset, this.options.name);
      const target = startsSegment && this.active.sizeBytes > 0 ? this.roll() : this.active;
      assert(target.nextOffset === firstOffset, "offsets move only forward between checking frames and appending them");
      for (const batch of checked) {
        if (batch.partitionLeaderEpoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(batch.partitionLeaderEpoch, batch.baseOffset);
      }
      for (const batch of checked) target.appended(batch.baseOffset, batch.nextOffset, batch.frameBytes, this.indexIntervalBytes);
      const last = checked[checked.length - 1]!;
      const result = { baseOffset: checked[0]!.baseOffset, lastOffset: last.nextOffset - 1, timestampMs: checked[0]!.baseTimestampMs };
      return this.enqueueWrite([frames], frames.length, result, last.nextOffset);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Holds `chunks` (`bytes` of frames, already counted in the active
   * segment's size, offsets and index) until the turn's one write; resolves
   * with `result` once they are durable per the fsync policy.
   */
  private enqueueWrite(chunks: readonly Uint8Array[], bytes: number, result: AppendResult, nextOffset: number): Promise<AppendResult> {
    this.totalBytes += bytes;
    return new Promise<AppendResult>((resolve, reject) => {
      this.unwritten.push({ result, chunks, bytes, nextOffset, resolve, reject });
      this.unwrittenBytes += bytes;
      this.scheduleFlush();
    });
  }

  /**
   * End of the turn: write what was appended. Under `always` the group
   * commit writes it, just before its fdatasync; while an fdatasync runs the
   * frames wait for it to finish, so they share the next write and fsync.
   */
  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    if (this.status !== "online") return;
    if (this.options.fsyncPolicy.kind !== "always") {
      this.writeUnwritten();
    } else if (!this.syncInFlight) {
      this.writeUnwritten();
      if (this.pendingAcks.length > 0 && this.status === "online") this.syncInFlight = this.groupCommit();
    } else if (this.unwrittenBytes >= HELD_WHILE_SYNCING_BYTES_MAX) {
      // Big frames are written now, while the fsync runs, not on the group commit's critical path.
      this.writeUnwritten();
    }
  };

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flushTurn);
  }

  /**
   * Writes every unwritten frame at the end of the active segment in one
   * gathered write. Under `always` their appends then wait for the group
   * commit's fdatasync; otherwise they are acknowledged now. A failed write
   * is cut off, rolled back out of the segment (offsets, size, index) and
   * rejects every append in it; the error is returned.
   */
  private writeUnwritten(): GafkaError | undefined {
    const appends = this.unwritten;
    if (appends.length === 0) return undefined;
    const bytes = this.unwrittenBytes;
    this.unwritten = [];
    this.unwrittenBytes = 0;
    const segment = this.active;
    const position = segment.sizeBytes - bytes;
    try {
      const only = appends.length === 1 && appends[0]!.chunks.length === 1 ? appends[0]!.chunks[0] : undefined;
      if (only !== undefined) this.fs.write(segment.fd, only, position);
      else this.fs.writeChunks(segment.fd, appends.flatMap((each) => each.chunks), position);
    } catch (error) {
      try {
        this.fs.truncate(segment.fd, position);
      } catch (truncateError) {
        this.fail(`cannot cut off a failed write: ${describe(truncateError)}`);
      }
      // The next append takes the first offset these would have had.
      segment.truncated(position, appends[0]!.result.baseOffset, this.indexIntervalBytes);
      this.totalBytes -= bytes;
      const full = systemErrorCode(error) === "ENOSPC";
      const failure = new GafkaError(
        full ? "storage_full" : "storage_failed",
        `partition ${this.options.name}: write failed (${describe(error)}); nothing was acknowledged`,
        { retriable: true, cause: error },
      );
      for (const append of appends) append.reject(failure);
      return failure;
    }
    if (this.options.fsyncPolicy.kind === "always") {
      for (const append of appends) this.pendingAcks.push(append);
      return undefined;
    }
    this.makeDurable(appends[appends.length - 1]!.nextOffset);
    for (const append of appends) append.resolve(append.result);
    return undefined;
  }

  /** Writes what is unwritten now (not at the end of the turn), making sure a group commit will acknowledge it. */
  private writeUnwrittenNow(): GafkaError | undefined {
    const failure = this.writeUnwritten();
    if (this.pendingAcks.length > 0 && !this.syncInFlight) this.scheduleFlush();
    return failure;
  }

  private assertWritable(): void {
    if (this.closed) throw new GafkaError("shutting_down", `partition ${this.options.name} is closing`, { retriable: true });
    this.assertServing();
  }

  private assertServing(): void {
    if (this.status === "corrupt") {
      throw new GafkaError("log_corrupt", this.statusMessage ?? `partition ${this.options.name} is corrupt`);
    }
    if (this.status === "offline") {
      throw new GafkaError("partition_offline", `partition ${this.options.name} is offline: ${this.statusMessage}`, {
        retriable: true,
      });
    }
  }

  /**
   * Seals the active segment and starts the next. The sealed segment is
   * fdatasync'ed first, so a sealed segment is always whole on disk and any
   * damage found in one later is corruption, never a torn write.
   */
  private roll(): Segment {
    // The frames appended before this one belong to the old segment: write them first.
    const failure = this.writeUnwrittenNow();
    if (failure) throw failure;
    const old = this.active;
    try {
      this.fs.fdatasyncSync(old.fd);
    } catch (error) {
      this.fail(`fsync failed while sealing ${old.logPath}: ${describe(error)}`);
      throw new GafkaError("storage_failed", `partition ${this.options.name}: fsync failed (${describe(error)})`, {
        retriable: true,
        cause: error,
      });
    }
    writeIndexFile(this.files, old);
    const segment = createSegment(this.files, old.nextOffset);
    this.segments.push(segment);
    this.durablePosition = 0;
    return segment;
  }

  /**
   * One write and one fdatasync for every append that arrived before it
   * started (group commit); appends arriving while it runs wait for the next
   * round and share its write and fdatasync.
   */
  private async groupCommit(): Promise<void> {
    while (this.pendingAcks.length > 0 && this.status === "online") {
      const acks = this.pendingAcks;
      this.pendingAcks = [];
      const segment = this.active;
      const position = segment.sizeBytes;
      const nextOffset = segment.nextOffset;
      const startedMs = this.options.clock.monotonicMs();
      try {
        await this.fs.fdatasync(segment.fd);
      } catch (error) {
        const failure = new GafkaError(
          "storage_failed",
          `partition ${this.options.name}: fsync failed (${describe(error)}); nothing since the last good fsync is acknowledged`,
          { retriable: true, cause: error },
        );
        for (const ack of acks) ack.reject(failure);
        this.fail(`fsync failed: ${describe(error)}`);
        break;
      }
      if (this.status !== "online") {
        // The partition failed while this fsync ran; recovery decides what stays.
        const failure = new GafkaError("partition_offline", `partition ${this.options.name} is offline: ${this.statusMessage}`, {
          retriable: true,
        });
        for (const ack of acks) ack.reject(failure);
        break;
      }
      if (segment === this.active) this.durablePosition = Math.max(this.durablePosition, position);
      this.reportFsync(startedMs, acks);
      this.makeDurable(nextOffset);
      for (const ack of acks) ack.resolve(ack.result);
      // What was appended while the fsync ran: one write now, shared by the next fsync.
      // (A failed write rejects only its own appends.)
      this.writeUnwritten();
    }
    // Anything still pending was appended after a failure: not acknowledged.
    if (this.status !== "online") this.rejectPending();
    this.syncInFlight = undefined;
  }

  private reportFsync(startedMs: number, acks: PendingAck[]): void {
    const onFsync = this.options.onFsync;
    if (onFsync === undefined) return;
    let records = 0;
    let bytes = 0;
    for (const ack of acks) {
      records += ack.nextOffset - ack.result.baseOffset;
      bytes += ack.bytes;
    }
    onFsync((this.options.clock.monotonicMs() - startedMs) / 1000, records, bytes);
  }

  /** Policy interval: fsync what was written since the last tick. */
  private syncDirty(): void {
    if (this.status !== "online" || this.syncInFlight) return;
    this.writeUnwritten();
    const segment = this.active;
    if (segment.sizeBytes === this.durablePosition) return;
    const position = segment.sizeBytes;
    const nextOffset = segment.nextOffset;
    const records = nextOffset - this.intervalSyncedOffset;
    const bytes = position - this.durablePosition;
    const startedMs = this.options.clock.monotonicMs();
    this.syncInFlight = this.fs.fdatasync(segment.fd).then(
      () => {
        if (segment === this.active) this.durablePosition = Math.max(this.durablePosition, position);
        this.intervalSyncedOffset = Math.max(this.intervalSyncedOffset, nextOffset);
        this.syncInFlight = undefined;
        this.options.onFsync?.((this.options.clock.monotonicMs() - startedMs) / 1000, records, bytes);
      },
      (error) => {
        this.syncInFlight = undefined;
        this.fail(`fsync failed: ${describe(error)}`);
      },
    );
  }

  private rejectPending(): void {
    const acks = [...this.pendingAcks, ...this.unwritten];
    this.pendingAcks = [];
    this.unwritten = [];
    this.unwrittenBytes = 0;
    const failure = new GafkaError("partition_offline", `partition ${this.options.name} is offline: ${this.statusMessage}`, {
      retriable: true,
    });
    for (const ack of acks) ack.reject(failure);
  }

  /**
   * A write path failed in a way that leaves the file's state unknown. Take the
   * partition offline, drop what was not durably acknowledged, and reopen it
   * through recovery — the same path as a restart.
   */
  private fail(reason: string): void {
    if (this.status !== "online") return;
    this.status = "offline";
    this.statusMessage = reason;
    this.logger.error(`partition ${this.options.name} offline: ${reason}; reopening through recovery`);
    this.rejectPending();
    this.reopenTimer = this.options.clock.setTimeout(() => void this.reopen(), 0);
  }

  /**
   * Reopens the log from its files after a failure (fail()): cuts what was
   * written past the last good fdatasync, then loads as at start. While the
   * disk is still bad this fails; it is then tried again every
   * REOPEN_RETRY_MS until it succeeds, the log proves corrupt, or it closes.
   */
  private async reopen(): Promise<void> {
    this.reopenTimer = undefined;
    while (this.syncInFlight) await this.syncInFlight;
    if (this.closed) return;
    if (this.segments.length > 0) {
      // First attempt: the files are still open. Later attempts find them closed and the cut remembered.
      const segment = this.active;
      if (this.options.fsyncPolicy.kind === "always" && segment.sizeBytes > this.durablePosition) {
        this.cutOnReopen = { logPath: segment.logPath, position: this.durablePosition };
      }
      this.closeFiles();
    }
    try {
      // Bytes past the last good fsync were never acknowledged; they must not reappear.
      if (this.cutOnReopen !== undefined) {
        cutFile(this.fs, this.cutOnReopen.logPath, this.cutOnReopen.position);
        this.cutOnReopen = undefined;
      }
      this.load();
      this.logger.info(`partition ${this.options.name} recovered and back online`);
    } catch (error) {
      this.status = error instanceof GafkaError && error.code === "log_corrupt" ? "corrupt" : "offline";
      this.statusMessage = describe(error);
      const retry = this.status === "offline" ? `; trying again in ${REOPEN_RETRY_MS} ms` : "";
      this.logger.error(`partition ${this.options.name} could not be reopened: ${this.statusMessage}${retry}`);
      if (this.status === "offline") this.reopenTimer = this.options.clock.setTimeout(() => void this.reopen(), REOPEN_RETRY_MS);
    }
  }

  // ---------------------------------------------------------------- read

  read(offset: number, maxRecords: number, maxBytes: number): ReadResult {
    this.assertServing();
    const highWatermark = this.highWatermark;
    this.checkReadOffset(offset, highWatermark);
    const records: StoredRecord[] = [];
    let bytesRead = 0;
    let segmentIndex = this.segmentFor(offset);
    while (segmentIndex < this.segments.length && records.length < maxRecords && bytesRead < maxBytes) {
      const segment = this.segments[segmentIndex]!;
      if (segment.baseOffset >= highWatermark) break;
      bytesRead += this.readSegment(segment, offset, highWatermark, maxRecords, maxBytes - bytesRead, records);
      segmentIndex++;
      // A segment left before its end (the byte limit) ends the read: going on to the next would skip records.
      const readTo = records.length === 0 ? offset : records[records.length - 1]!.offset + 1;
      if (readTo < (this.segments[segmentIndex]?.baseOffset ?? Infinity)) break;
    }
    const nextOffset = records.length === 0 ? offset : records[records.length - 1]!.offset + 1;
    return { records, nextOffset };
  }

  /**
   * The stored batches, undecoded, holding the records read() would return
   * for the same arguments: [offset, nextOffset) (src/storage/batch-read.ts).
   * Each batch is copied once out of the file's buffer, except when the read
   * spans segments: their runs are then joined into one (a second copy).
   */
  readBatches(offset: number, maxRecords: number, maxBytes: number): BatchesRead {
    this.assertServing();
    const highWatermark = this.highWatermark;
    this.checkReadOffset(offset, highWatermark);
    const runs: Uint8Array[] = [];
    let bytesRead = 0;
    let nextOffset = offset;
    let segmentIndex = this.segmentFor(offset);
    while (segmentIndex < this.segments.length && nextOffset - offset < maxRecords && bytesRead < maxBytes) {
      const segment = this.segments[segmentIndex]!;
      if (segment.baseOffset >= highWatermark) break;
      let run: SegmentBatches;
      try {
        run = readSegmentBatches(this.reader, segment, this.options.name, {
          offset: nextOffset,
          highWatermark,
          maxRecords: maxRecords - (nextOffset - offset),
          maxBytes: maxBytes - bytesRead,
          start: this.readStart(segment, nextOffset),
        });
      } catch (error) {
        // Damage at the start of this segment: deliver what earlier segments gave; the next read is refused.
        if (runs.length > 0 && error instanceof GafkaError && error.code === "log_corrupt") break;
        throw error;
      }
      if (run.batches.length > 0) runs.push(run.batches);
      bytesRead += run.batches.length;
      nextOffset = run.nextOffset;
      segmentIndex++;
      // As in read(): only a segment read to its end leads on to the next.
      if (nextOffset < (this.segments[segmentIndex]?.baseOffset ?? Infinity)) break;
    }
    return { batches: joinRuns(runs, bytesRead), nextOffset };
  }

  /** offset_out_of_range unless earliestOffset <= offset <= highWatermark. */
  private checkReadOffset(offset: number, highWatermark: number): void {
    const earliest = this.earliestOffset;
    if (!Number.isInteger(offset) || offset < earliest || offset > highWatermark) {
      throw new GafkaError(
        "offset_out_of_range",
        `offset ${offset} is out of range [${earliest}, ${highWatermark}] for partition ${this.options.name}`,
        { details: { earliest, latest: highWatermark } },
      );
    }
  }

  /** Reads batches of one segment into `records` (src/storage/segment-read.ts); returns the batch bytes read. */
  private readSegment(
    segment: Segment,
    offset: number,
    highWatermark: number,
    maxRecords: number,
    maxBytes: number,
    records: StoredRecord[],
  ): number {
    const start = this.readStart(segment, Math.max(offset, segment.baseOffset));
    return readSegmentRecords(this.reader, segment, this.options.name, { offset, highWatermark, maxRecords, maxBytes, start }, records);
  }

  /**
   * Where a read of `offset` in `segment` starts, with the reader pointed at
   * the segment's written bytes: the index's entry once the log agrees with it
   * (src/storage/index-lookup.ts). An index found out of step with the log is
   * rebuilt from a scan, and that is logged: the log is the truth. When the
   * log itself is damaged the read starts at the segment's first frame and
   * finds the damage there.
   */
  private readStart(segment: Segment, offset: number): FrameStart {
    const writtenEnd = this.writtenEnd(segment);
    this.reader.reset(segment.fd, writtenEnd);
    const start = checkedIndexStart(this.reader, segment, offset);
    if (start !== undefined) return start;
    const rebuilt = rebuildIndex(this.files, segment, writtenEnd, segment !== this.active);
    this.logger.warn(
      `partition ${this.options.name}: the offset index of ${segment.logPath} disagrees with the log at offset ${offset}; ` +
        (rebuilt ? "rebuilt it from a scan" : "the log itself is damaged there, reading from the segment's first frame"),
    );
    this.reader.reset(segment.fd, writtenEnd);
    return (rebuilt ? checkedIndexStart(this.reader, segment, offset) : undefined) ?? { position: 0, baseOffset: segment.baseOffset };
  }


  /**
   * The first offset whose record timestamp is >= timestampMs (Kafka's
   * ListOffsets by time), or the high watermark when there is none. Scans
   * batch headers (their maxTimestamp) and decodes only the batch that holds it.
   */
  offsetForTimestamp(timestampMs: number): number {
    this.assertServing();
    const highWatermark = this.highWatermark;
    for (const segment of this.segments) {
      this.reader.reset(segment.fd, this.writtenEnd(segment));
      const found = firstOffsetAtOrAfter(this.reader, timestampMs, highWatermark);
      if (found !== undefined) return found;
    }
    return highWatermark;
  }

  /** Bytes of `segment` in its file: its size less the frames still waiting for the turn's write. */
  private writtenEnd(segment: Segment): number {
    return segment === this.active ? segment.sizeBytes - this.unwrittenBytes : segment.sizeBytes;
  }

  /** Index of the segment holding `offset` (the last one whose base is <= offset). */
  private segmentFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.segments[middle]!.baseOffset <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  waitForData(offset: number, waitMs: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
    if (this.highWatermark > offset || waitMs <= 0 || this.closed || signals.some((signal) => signal?.aborted)) return Promise.resolve();
    return this.waiters.wait(offset, waitMs, signals);
  }

  addReadWaiter(waiter: ReadWaiter): boolean {
    if (this.highWatermark > waiter.offset || this.closed) return false;
    this.waiters.add(waiter);
    return true;
  }

  removeReadWaiter(waiter: ReadWaiter): void {
    this.waiters.remove(waiter);
  }

  /** Records that everything below nextOffset is durable here; wakes replication and, when it moved, readers. */
  private makeDurable(nextOffset: number): void {
    if (nextOffset <= this.durableOffset) return;
    const highWatermarkBefore = this.highWatermark;
    this.durableOffset = nextOffset;
    for (const listener of this.durableListeners) listener();
    if (this.highWatermark > highWatermarkBefore) this.wakeReaders();
  }

  private wakeReaders(): void {
    if (this.waiters.size > 0) this.waiters.wake(this.highWatermark);
  }

  /** Calls `listener` whenever durableEndOffset grows (the leader's replication streams wait on it). */
  onDurable(listener: () => void): void {
    this.durableListeners.push(listener);
  }

  /**
   * Raises replication's bound on the high watermark (never lowers what
   * readers already see); undefined lifts the bound (a leader with no
   * in-sync follower: the high watermark is the durable end).
   */
  setHighWatermarkLimit(limit: number | undefined): void {
    const before = this.highWatermark;
    this.highWatermarkLimit = limit === undefined ? undefined : Math.max(limit, before);
    if (this.highWatermark > before) this.wakeReaders();
  }

  /**
   * Sets the bound as given, even below what readers saw: only for a broker
   * taking up a role (start-up, a leader change), before it serves reads.
   */
  resetHighWatermarkLimit(limit: number | undefined): void {
    this.highWatermarkLimit = limit;
    this.wakeReaders();
  }

  // ---------------------------------------------------------------- replication reads and truncation

  /**
   * Stored frames, unchanged, from `offset` (which must be a batch's base
   * offset) up to the durable end: whole frames of one segment, about
   * `maxBytes` (at least one frame). Each frame's CRC32 is checked as it is
   * read. Empty when nothing durable lies at or after `offset`.
   */
  readFrames(offset: number, maxBytes: number): FramesRead {
    if (this.closed) throw new GafkaError("shutting_down", `partition ${this.options.name} is closed`, { retriable: true });
    this.assertServing();
    const durableEnd = this.durableOffset;
    if (offset >= durableEnd) return { frames: new Uint8Array(0), nextOffset: offset, startsSegment: false };
    const segment = this.segments[this.segmentFor(offset)]!;
    const start = this.readStart(segment, offset);
    return readFrameRun(this.fs, this.reader, segment, offset, start, durableEnd, maxBytes, this.options.name);
  }

  /** The base offset of the batch that holds `offset` (a batch boundary at or before it); logEndOffset beyond the end. */
  batchBaseOffsetOf(offset: number): number {
    this.assertServing();
    // The frames are read from the file: write what this turn appended first.
    if (this.unwritten.length > 0) this.writeUnwrittenNow();
    if (offset >= this.logEndOffset) return this.logEndOffset;
    const segment = this.segments[this.segmentFor(offset)]!;
    return locateBatch(this.reader, segment, offset, this.readStart(segment, offset), this.options.name).baseOffset;
  }

  /**
   * Cuts the log back so that `offset` is its end: a follower dropping
   * records its new leader never had (leader-epoch truncation). `offset`
   * must be a batch boundary. Later segments are deleted, the one holding
   * `offset` is cut and fdatasync'ed, and epochs that began at or after it
   * are forgotten; when it resolves the cut is durable. Waits for in-flight
   * fsyncs first, so no acknowledgement races it.
   */
  async truncateTo(offset: number): Promise<void> {
    await this.settleWrites();
    this.assertWritable();
    if (offset >= this.logEndOffset) return;
    if (offset < this.earliestOffset) throw new GafkaError("offset_out_of_range", `cannot truncate ${this.options.name} to ${offset}, before its start`);
    let keep = this.segmentFor(offset);
    if (keep > 0 && this.segments[keep]!.baseOffset === offset) keep--;
    for (const segment of this.segments.splice(keep + 1)) {
      this.fs.close(segment.fd);
      this.fs.removeRecursive(segment.logPath);
      this.fs.removeRecursive(segment.indexPath);
    }
    const segment = this.active;
    const position = offset === segment.nextOffset
      ? segment.sizeBytes
      : batchStartPosition(this.reader, segment, offset, this.readStart(segment, offset), this.options.name);
    this.fs.truncate(segment.fd, position);
    this.fs.fdatasyncSync(segment.fd);
    this.fs.syncDirectorySync(this.options.dir);
    this.logger.warn(`partition ${this.options.name}: truncated from offset ${offset} (file ${segment.logPath} cut at position ${position})`);
    segment.truncated(position, offset, this.indexIntervalBytes);
    this.durablePosition = position;
    this.intervalSyncedOffset = Math.min(this.intervalSyncedOffset, offset);
    this.totalBytes = this.segments.reduce((sum, each) => sum + each.sizeBytes, 0);
    this.durableOffset = Math.min(this.durableOffset, offset);
    if (this.highWatermarkLimit !== undefined) this.highWatermarkLimit = Math.min(this.highWatermarkLimit, offset);
    this.leaderEpochs.truncateFromEnd(offset);
  }

  // ---------------------------------------------------------------- open / close

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.durableListeners = [];
    this.intervalTimer?.cancel();
    this.reopenTimer?.cancel();
    await this.settleWrites();
    if (this.status === "online" && this.segments.length > 0 && this.active.sizeBytes !== this.durablePosition) {
      try {
        await this.fs.fdatasync(this.active.fd);
      } catch (error) {
        // Not closed cleanly: the broker must not write its clean-shutdown marker.
        this.status = "offline";
        this.statusMessage = `final fsync failed: ${describe(error)}`;
        this.logger.error(`partition ${this.options.name}: final fsync failed: ${describe(error)}`);
      }
    }
    this.waiters.wakeAll();
    this.closeFiles();
  }

  /**
   * Writes (and under `always` fsyncs, acknowledging them) the appends made
   * so far, and waits until no write or fsync is in flight.
   */
  private async settleWrites(): Promise<void> {
    for (;;) {
      if (this.status === "online" && (this.unwritten.length > 0 || this.pendingAcks.length > 0)) this.flushTurn();
      if (!this.syncInFlight) return;
      await this.syncInFlight;
    }
  }

  private closeFiles(): void {
    for (const segment of this.segments) {
      try {
        this.fs.close(segment.fd);
      } catch {
        // Closing is best effort; the descriptor is gone either way.
      }
    }
    this.segments = [];
  }

  /** Reads the segment files and rebuilds the log's state: the recovery path. */
  private load(): void {
    const { dir, name } = this.options;
    const segments = loadSegments(this.files);
    try {
      this.epochs = LeaderEpochCache.load(dir, this.fs);
      this.epochs.clampTo(segments[segments.length - 1]!.nextOffset);
    } catch (error) {
      for (const segment of segments) this.fs.close(segment.fd);
      throw error;
    }
    this.segments = segments;
    this.totalBytes = segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
    this.durablePosition = this.active.sizeBytes;
    this.intervalSyncedOffset = this.active.nextOffset;
    // A reopen after a failure may find less than was durable before: readers follow the files.
    this.durableOffset = this.active.nextOffset;
    if (this.highWatermarkLimit !== undefined) this.highWatermarkLimit = Math.min(this.highWatermarkLimit, this.durableOffset);
    this.status = "online";
    this.statusMessage = undefined;
    this.logger.debug(`partition ${name}: ${segments.length} segment(s), offsets [${this.earliestOffset}, ${this.durableOffset})`);
    for (const listener of this.durableListeners) listener();
    this.wakeReaders();
  }

  /** What opening and creating segment files needs (src/storage/segment-loader.ts). */
  private get files(): SegmentFiles {
    return {
      fs: this.fs,
      logger: this.logger,
      dir: this.options.dir,
      name: this.options.name,
      indexIntervalBytes: this.indexIntervalBytes,
      afterCleanShutdown: this.afterCleanShutdown,
    };
  }
}

/** Cuts the file at `logPath` to `position` and makes the cut durable. */
function cutFile(fs: FileSystem, logPath: string, position: number): void {
  const fd = fs.openReadWrite(logPath);
  try {
    fs.truncate(fd, position);
    fs.fdatasyncSync(fd);
  } finally {
    fs.close(fd);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

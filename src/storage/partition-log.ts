import { assert } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { RecordInput } from "../protocol/record.ts";
import { type CheckedClientBatch, frameClientBatches } from "./batch-check.ts";
import { DescriptorPool } from "./descriptor-pool.ts";
import type { FileSystem } from "./file-system.ts";
import { CompactionTarget } from "./compaction-target.ts";
import { checkFrames } from "./frame-chunk.ts";
import { encodeBatchFrame, FRAME_HEADER_BYTES, frameMaxTimestampMs } from "./frame.ts";
import { HighWatermark } from "./high-watermark.ts";
import type { LeaderEpochCache } from "./leader-epoch-cache.ts";
import { loadLog } from "./log-loader.ts";
import { ReopenCut } from "./reopen-cut.ts";
import { LogReads } from "./log-reads.ts";
import { type FrontDeleted, LogFront } from "./log-front.ts";
import { LogSegments } from "./log-segments.ts";
import type { AppendResult, BatchesRead, FramesRead, PartitionLogApi, PartitionStatus, ReadResult } from "./log-types.ts";
import { describe, LogWriter } from "./log-writer.ts";
import { JournalMember } from "./journal-member.ts";
import { activeSegmentFile } from "./active-segment-file.ts";
import type { JournalOp } from "./journal-record.ts";
import { type PartitionLogOptions, segmentFilesOf } from "./partition-log-options.ts";
import { RetentionCheck } from "./retention-check.ts";
import type { ReadWaiter } from "./read-waiters.ts";
import type { RetentionPolicy } from "./retention-policy.ts";
import type { Segment } from "./segment.ts";
import { cutLogAt } from "./log-truncation.ts";
import { createSegment, type SegmentFiles, writeIndexFile } from "./segment-loader.ts";
import { SegmentRollPolicy } from "./segment-roll-policy.ts";

export type { PartitionLogOptions } from "./partition-log-options.ts";

/**
 * A partition's log: segments of framed Kafka record batches on disk, read
 * back from the files (the page cache), never held in memory.
 *
 * Durability of append() (log-writer.ts): resolves once durable — under
 * `always` after an fdatasync of the segment or, for a small round, of the
 * shared commit journal (commit-journal.ts), shared by every append of the
 * round; under `interval:<ms>` and `never` once written. Readers see a record
 * only once it is acknowledged (the high watermark, further bounded under
 * replication by the in-sync followers: setHighWatermarkLimit). A follower
 * appends the leader's stored frames unchanged (appendFrames) and cuts back
 * what its leader never had (truncateTo). The first batch of each leader
 * epoch is recorded in `leader-epoch-checkpoint` before it is acknowledged.
 * Appends of one turn go to disk in ONE gathered write. A failed write is cut
 * off and rejected (its offsets given out again); a failed fsync is never
 * retried: the partition goes offline and reopens through recovery.
 *
 * The parts, along Kafka's lines: the write pipeline (log-writer.ts), the
 * segment list (log-segments.ts), loading and recovery (log-loader.ts,
 * segment-loader.ts, journal-replay.ts), reads (log-reads.ts), the high
 * watermark (high-watermark.ts), the log start (log-front.ts) and the
 * journal's checkpoints (journal-member.ts). This class holds them together.
 */
export class PartitionLog implements PartitionLogApi {
  /** The pool's view of the file system: segment files' writes and syncs go through it. */
  private readonly fs: FileSystem;
  /** The broker's descriptor pool (or the log's own, when none is given). */
  private readonly pool: DescriptorPool;
  private readonly logger: Logger;
  private readonly indexIntervalBytes: number;
  private readonly segments = new LogSegments();
  private readonly watermark: HighWatermark;
  private readonly writer: LogWriter<AppendResult>;
  private readonly reads: LogReads;
  private readonly front: LogFront;
  private readonly journal: JournalMember; // its side of the commit journal: checkpoints, truncations recorded first
  private epochs: LeaderEpochCache | undefined;
  private closed = false;
  /** Where the active segment must be cut before a reopen loads it (past the last good fdatasync), until done. */
  private readonly reopenCut = new ReopenCut();
  /** Until the first load: the last stop was clean, so the active segment's tail must be whole. */
  private afterCleanShutdown: boolean;
  readonly rollPolicy: SegmentRollPolicy;
  readonly retentionCheck: RetentionCheck;

  private constructor(private readonly options: PartitionLogOptions) {
    this.pool = options.descriptorPool ?? new DescriptorPool(options.fs, limits.segmentFilesOpenMaxDefault);
    this.fs = this.pool.fs;
    this.logger = options.logger;
    this.indexIntervalBytes = options.indexIntervalBytes ?? limits.indexIntervalBytes;
    this.afterCleanShutdown = options.afterCleanShutdown ?? false;
    this.rollPolicy = new SegmentRollPolicy(options.segmentBytesMax, options.clock);
    this.watermark = new HighWatermark(options.clock);
    this.retentionCheck = new RetentionCheck(this.segments, options.onRetentionDue);
    this.writer = new LogWriter<AppendResult>({
      subject: `partition ${options.name}`,
      fs: this.fs,
      logger: options.logger,
      clock: options.clock,
      fsyncPolicy: options.fsyncPolicy,
      offlineCode: "partition_offline",
      onFsync: options.onFsync,
      journal: options.journal,
      host: {
        file: () => activeSegmentFile(this.segments.length > 0 ? this.active : undefined, this.watermark.durableOffset, (reason) => this.writer.fail(reason)),
        writeCutOff: (position, firstOffset, bytes) => {
          this.segments.active.truncated(position, firstOffset, this.indexIntervalBytes);
          this.segments.totalBytes -= bytes;
        },
        durable: (nextOffset) => this.watermark.makeDurable(nextOffset),
        recover: () => this.recover(),
      },
    });
    this.journal = new JournalMember(options.journal, {
      name: options.name,
      syncActive: () => (this.status === "online" && this.segments.length > 0 ? this.active.file.sync() : undefined),
      fail: (reason) => this.writer.fail(reason),
    });
    this.front = new LogFront({ fs: this.fs, clock: options.clock, logger: options.logger, dir: options.dir, name: options.name, segments: this.segments });
    this.reads = new LogReads({
      name: options.name,
      fs: this.fs,
      logger: options.logger,
      segments: this.segments,
      unwrittenBytes: () => this.writer.unwrittenBytes,
      files: () => this.files,
      logStartOffset: () => this.front.logStartOffset,
    });
  }

  /**
   * Opens the log and recovers it from the files (log-loader.ts): journal
   * entries replayed, a torn tail cut (and logged) unless the stop was clean;
   * other damage throws GafkaError `log_corrupt` naming file and position.
   */
  static open(options: PartitionLogOptions): PartitionLog {
    const log = new PartitionLog(options);
    log.load(options.journalOps);
    log.journal.start();
    log.afterCleanShutdown = false;
    log.writer.startIntervalSync();
    return log;
  }

  // The state (documented on PartitionLogApi, log-types.ts; earliestOffset is the log start, log-front.ts).
  get status(): PartitionStatus {
    return this.writer.status;
  }
  get statusMessage(): string | undefined {
    return this.writer.statusMessage;
  }
  get earliestOffset(): number {
    return this.front.logStartOffset;
  }
  get firstSegmentOffset(): number {
    return this.segments.earliestOffset;
  }
  get highWatermark(): number {
    return this.watermark.value;
  }
  get logEndOffset(): number {
    return this.segments.length === 0 ? this.watermark.durableOffset : this.active.nextOffset;
  }
  get durableEndOffset(): number {
    return this.watermark.durableOffset;
  }
  get highWatermarkBound(): number | undefined {
    return this.watermark.limit;
  }
  get leaderEpochs(): LeaderEpochCache {
    if (this.epochs === undefined) throw new GafkaError("partition_offline", `partition ${this.options.name} is not open`, { retriable: true });
    return this.epochs;
  }
  get sizeBytes(): number {
    return this.segments.totalBytes;
  }

  private get active(): Segment {
    return this.segments.active;
  }

  // ---------------------------------------------------------------- append

  append(records: RecordInput[]): Promise<AppendResult> {
    try {
      this.assertWritable();
      if (records.length === 0) throw new GafkaError("invalid_request", "a batch needs at least one record");
      const baseOffset = this.active.nextOffset;
      const partitionLeaderEpoch = this.options.leaderEpoch?.() ?? -1;
      const frame = encodeBatchFrame({ baseOffset, records, partitionLeaderEpoch });
      const target = this.targetFor(frame.length);
      const startsSegment = target.sizeBytes === 0;
      assert(target.nextOffset === baseOffset, "offsets move only forward between encoding and appending a batch");
      // The epoch's start is on disk before any record of it is acknowledged.
      if (partitionLeaderEpoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(partitionLeaderEpoch, baseOffset);
      const nextOffset = baseOffset + records.length;
      target.appended(baseOffset, nextOffset, frame.length, this.indexIntervalBytes, frameMaxTimestampMs(frame));
      const result = { baseOffset, lastOffset: nextOffset - 1, timestampMs: records[0]!.timestampMs };
      return this.enqueueWrite([frame], frame.length, result, nextOffset, startsSegment);
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
      const target = this.targetFor(frameBytes);
      const startsSegment = target.sizeBytes === 0;
      assert(target.nextOffset === baseOffset, "offsets move only forward between checking batches and appending them");
      if (partitionLeaderEpoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(partitionLeaderEpoch, baseOffset);
      const chunks = frameClientBatches(batches, baseOffset, partitionLeaderEpoch, (first, next, bytes, maxTimestampMs) =>
        target.appended(first, next, bytes, this.indexIntervalBytes, maxTimestampMs),
      );
      const nextOffset = target.nextOffset;
      const result = { baseOffset, lastOffset: nextOffset - 1, timestampMs: batches[0]!.baseTimestampMs };
      return this.enqueueWrite(chunks, frameBytes, result, nextOffset, startsSegment);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A follower's append: whole frames exactly as the leader stored them
   * (frame.ts), written unchanged at their own offsets, every CRC checked
   * first; the first batch must continue this log. `startsSegment`: the
   * leader began a segment with the first frame, and so does the follower
   * (their segment files match byte for byte). Durability as append().
   */
  appendFrames(frames: Uint8Array, startsSegment: boolean): Promise<AppendResult> {
    try {
      this.assertWritable();
      const firstOffset = this.active.nextOffset;
      const checked = checkFrames(frames, firstOffset, this.options.name);
      const target = startsSegment && this.active.sizeBytes > 0 ? this.roll() : this.active;
      const beginsTarget = target.sizeBytes === 0;
      assert(target.nextOffset === firstOffset, "offsets move only forward between checking frames and appending them");
      for (const batch of checked) {
        if (batch.partitionLeaderEpoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(batch.partitionLeaderEpoch, batch.baseOffset);
        target.appended(batch.baseOffset, batch.nextOffset, batch.frameBytes, this.indexIntervalBytes, batch.maxTimestampMs);
      }
      const last = checked[checked.length - 1]!;
      const result = { baseOffset: checked[0]!.baseOffset, lastOffset: last.nextOffset - 1, timestampMs: checked[0]!.baseTimestampMs };
      return this.enqueueWrite([frames], frames.length, result, last.nextOffset, beginsTarget);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Hands `chunks` (`bytes` of frames, already counted in the active
   * segment's size, offsets and index) to the writer; resolves with `result`
   * once they are durable per the fsync policy.
   */
  private enqueueWrite(chunks: readonly Uint8Array[], bytes: number, result: AppendResult, nextOffset: number, startsSegment: boolean): Promise<AppendResult> {
    this.segments.totalBytes += bytes;
    this.retentionCheck.grew();
    return this.writer.append(chunks, bytes, result, result.baseOffset, nextOffset, startsSegment);
  }

  private assertWritable(): void {
    if (this.closed) throw new GafkaError("shutting_down", `partition ${this.options.name} is closing`, { retriable: true });
    this.assertServing();
  }

  private assertServing(): void {
    if (this.status === "corrupt") {
      throw new GafkaError("log_corrupt", this.statusMessage ?? `partition ${this.options.name} is corrupt`);
    }
    if (this.status === "offline") throw this.writer.offlineError();
  }

  /** The segment a frame run of `bytes` goes to: the active one, or a new one when the roll policy says so. */
  private targetFor(bytes: number): Segment {
    const target = this.rollPolicy.shouldRoll(this.active.sizeBytes, bytes) ? this.roll() : this.active;
    this.rollPolicy.appending(target.sizeBytes);
    return target;
  }

  rollIfAged(): boolean {
    const aged = !this.closed && this.status === "online" && this.segments.length > 0 && this.rollPolicy.isAged(this.active.sizeBytes);
    return aged && this.roll() !== undefined;
  }

  /**
   * Seals the active segment and starts the next. The sealed segment is
   * fdatasync'ed first, so a sealed segment is always whole on disk and any
   * damage found in one later is corruption, never a torn write.
   */
  private roll(): Segment {
    const failure = this.writer.writeNow(); // the frames appended before belong to the old segment
    if (failure) throw failure;
    const old = this.active;
    try {
      this.fs.fdatasyncSync(old.fd);
    } catch (error) {
      this.writer.fail(`fsync failed while sealing ${old.logPath}: ${describe(error)}`);
      throw new GafkaError("storage_failed", `partition ${this.options.name}: fsync failed (${describe(error)})`, {
        retriable: true,
        cause: error,
      });
    }
    writeIndexFile(this.files, old);
    const segment = createSegment(this.files, old.nextOffset);
    this.segments.push(segment);
    this.writer.durablePosition = 0;
    this.rollPolicy.reset();
    this.options.onRoll?.();
    return segment;
  }

  // ---------------------------------------------------------------- read (src/storage/log-reads.ts)

  read(offset: number, maxRecords: number, maxBytes: number): ReadResult {
    this.assertServing();
    return this.reads.read(offset, maxRecords, maxBytes, this.highWatermark);
  }

  /** The stored batches, undecoded, holding the records read() would return for the same arguments. */
  readBatches(offset: number, maxRecords: number, maxBytes: number, firstBatchPastMaxBytes = true): BatchesRead {
    this.assertServing();
    return this.reads.readBatches(offset, maxRecords, maxBytes, this.highWatermark, firstBatchPastMaxBytes);
  }

  /**
   * The first offset whose record timestamp is >= timestampMs (Kafka's
   * ListOffsets by time), or the high watermark when there is none.
   */
  offsetForTimestamp(timestampMs: number): number {
    this.assertServing();
    return Math.max(this.earliestOffset, this.reads.offsetForTimestamp(timestampMs, this.highWatermark));
  }

  // ---------------------------------------------------------------- the high watermark (src/storage/high-watermark.ts)

  // Read waiters and replication's bound (see PartitionLogApi in log-types.ts for the contracts).
  waitForData(offset: number, waitMs: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
    return this.watermark.waitForData(offset, waitMs, this.closed, signals);
  }
  addReadWaiter(waiter: ReadWaiter): boolean {
    return this.watermark.addReadWaiter(waiter, this.closed);
  }
  removeReadWaiter(waiter: ReadWaiter): void {
    this.watermark.removeReadWaiter(waiter);
  }
  /** Calls `listener` whenever durableEndOffset grows (the leader's replication streams wait on it). */
  onDurable(listener: () => void): void {
    this.watermark.onDurable(listener);
  }
  /** Raises replication's bound on the high watermark (never lowers what readers saw); undefined lifts it. */
  setHighWatermarkLimit(limit: number | undefined): void {
    this.watermark.setLimit(limit);
  }
  /** Sets the bound as given, even below what readers saw: only when taking up a role, before serving reads. */
  resetHighWatermarkLimit(limit: number | undefined): void {
    this.watermark.resetLimit(limit);
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
    const first = this.firstSegmentOffset;
    if (offset < first) throw new GafkaError("offset_out_of_range", `partition ${this.options.name}: offset ${offset} was deleted; frames begin at ${first}`);
    return this.reads.readFrames(offset, maxBytes, this.watermark.durableOffset);
  }

  /** The base offset of the batch that holds `offset` (a batch boundary at or before it); logEndOffset beyond the end. */
  batchBaseOffsetOf(offset: number): number {
    this.assertServing();
    // The frames are read from the file: write what this turn appended first.
    if (this.writer.hasUnwritten) this.writer.writeNow();
    if (offset >= this.logEndOffset) return this.logEndOffset;
    return this.reads.batchBaseOffsetOf(offset);
  }

  /**
   * Cuts the log back so that `offset` (a batch boundary) is its end: a follower dropping what its
   * new leader never had (log-truncation.ts). Recorded in the commit journal first; durable when it
   * resolves. Waits for in-flight fsyncs first, so no acknowledgement races it.
   */
  async truncateTo(offset: number): Promise<void> {
    await this.writer.settle();
    this.assertWritable();
    if (offset >= this.logEndOffset) return;
    if (offset < this.earliestOffset) throw new GafkaError("offset_out_of_range", `cannot truncate ${this.options.name} to ${offset}, before its start`);
    this.journal.record({ kind: "truncate", offset });
    cutLogAt(
      { segments: this.segments, fs: this.fs, reads: this.reads, writer: this.writer, watermark: this.watermark, leaderEpochs: this.leaderEpochs },
      { dir: this.options.dir, name: this.options.name, indexIntervalBytes: this.indexIntervalBytes, logger: this.logger },
      offset,
    );
    this.journal.changed();
  }

  // ---------------------------------------------------------------- the log start (src/storage/log-front.ts)

  /** DeleteRecords, or a follower following its leader: LogFront.advanceTo (offset at most the log end); durable when it returns. */
  advanceLogStart(offset: number, reason: string): FrontDeleted | undefined {
    this.assertWritable();
    assert(offset <= this.logEndOffset, `the log start ${offset} stays at or below the log end ${this.logEndOffset}`);
    return this.front.advanceTo(offset, reason);
  }

  /** Delete retention at `nowMs` (LogFront.applyRetention); durable when it returns. */
  applyRetention(policy: RetentionPolicy, nowMs: number): FrontDeleted | undefined {
    this.assertWritable();
    return this.front.applyRetention(policy, nowMs);
  }

  /** A follower behind its leader's first segment: everything goes, the log starts again empty at `offset` (LogFront.restartAt). */
  async restartAt(offset: number): Promise<void> {
    await this.writer.settle();
    this.assertWritable();
    this.journal.record({ kind: "restart", offset });
    this.front.restartAt(offset);
    this.segments.replace([createSegment(this.files, offset)]);
    this.writer.loaded(0, offset);
    this.watermark.reset(offset);
    this.leaderEpochs.truncateFromEnd(0);
    this.journal.changed();
  }

  /** The log cleaner's view of this log (src/storage/compaction-target.ts): its sealed segments and their swap. */
  compactionTarget(): CompactionTarget {
    const serving = () => !this.closed && this.status === "online";
    return new CompactionTarget({ files: () => this.files, segments: this.segments, highWatermark: () => this.highWatermark, serving });
  }

  // ---------------------------------------------------------------- open / close

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watermark.close();
    await this.writer.close();
    await this.journal.stop();
    this.watermark.wakeAll();
    // A clean stop: the active segment's indexes are written too, so the next start need not scan it (segment-loader.ts).
    if (this.status === "online" && this.segments.length > 0 && this.active.sizeBytes > 0) writeIndexFile(this.files, this.active);
    this.segments.closeAll();
    this.front.close();
  }

  /** Reads the segment files and rebuilds the log's state: the recovery path (src/storage/log-loader.ts). */
  private load(journalOps?: readonly JournalOp[]): void {
    const { segments, epochs } = loadLog(this.files, journalOps);
    this.epochs = epochs;
    this.segments.replace(segments);
    this.front.load();
    this.rollPolicy.reset();
    const active = this.active;
    this.writer.loaded(active.sizeBytes, active.nextOffset);
    this.logger.debug(`partition ${this.options.name}: ${segments.length} segment(s), offsets [${this.earliestOffset}, ${active.nextOffset})`);
    this.watermark.reset(active.nextOffset);
  }

  /**
   * The writer's reopen after a failure: cuts what was written past the last
   * good fdatasync (it was never acknowledged and must not reappear), then
   * loads as at start. Throws while the disk is still bad; the writer tries
   * again.
   */
  private recover(): void {
    if (this.segments.length > 0) {
      // First attempt: the files are still open. Later attempts find them closed and the cut remembered.
      this.reopenCut.note(this.active, this.writer.durablePosition, this.options.fsyncPolicy.kind === "always");
      this.segments.closeAll();
    }
    this.reopenCut.apply(this.fs);
    this.load();
    this.journal.changed();
  }

  /** What opening and creating segment files needs (src/storage/segment-loader.ts). */
  private get files(): SegmentFiles {
    return segmentFilesOf(this.options, { pool: this.pool, onSyncFailed: this.onSyncFailed }, this.indexIntervalBytes, this.afterCleanShutdown);
  }

  /** The pool's fdatasync before closing a written segment file failed: as a failed fsync of the writer's, recovery. */
  private readonly onSyncFailed = (filePath: string, error: unknown): void => {
    this.writer.fail(`fsync failed before closing ${filePath}: ${describe(error)}`);
  };
}

import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { readLogStartCheckpoint, writeLogStartCheckpoint } from "./log-start-checkpoint.ts";
import type { LogSegments } from "./log-segments.ts";
import { type RetentionPolicy, SegmentTimestamps, segmentsPastRetention } from "./retention-policy.ts";
import { removeDeletedLeftovers, SegmentDeletion } from "./segment-deletion.ts";
import type { Segment } from "./segment.ts";

/** What one move of the log start removed. */
export interface FrontDeleted {
  /** Base offsets of the segments deleted, oldest first (may be none: a move inside a segment). */
  baseOffsets: number[];
  /** Their bytes. */
  bytes: number;
  logStartOffset: number;
}

export interface LogFrontContext {
  fs: FileSystem;
  clock: Clock;
  logger: Logger;
  dir: string;
  name: string;
  segments: LogSegments;
}

/**
 * The front of a partition's log: its log start offset (Kafka's
 * logStartOffset, checkpointed in src/storage/log-start-checkpoint.ts) and
 * the deletion of whole segments below it (src/storage/segment-deletion.ts).
 * The log start only grows, is never above the log end, and is at least the
 * first segment's base offset; it may lie inside the first segment (after
 * DeleteRecords), whose records below it are then refused to readers though
 * their bytes remain until the segment goes. Order of every move: the new
 * log start is durable first, then the segments wholly below it leave the
 * list (closing their files) and are renamed for deletion. A crash between
 * the two leaves segments below the checkpointed start: the load takes the
 * checkpoint, and the next retention pass deletes them.
 */
export class LogFront {
  private start = 0;
  private readonly deletion: SegmentDeletion;
  private readonly timestamps: SegmentTimestamps;

  constructor(private readonly context: LogFrontContext) {
    this.deletion = new SegmentDeletion(context.fs, context.clock, context.logger, context.dir);
    this.timestamps = new SegmentTimestamps(context.fs);
  }

  get logStartOffset(): number {
    return this.start;
  }

  /**
   * After the segments were loaded: removes `.deleted` leftovers of a crash
   * and takes the log start from its checkpoint, at least the first
   * segment's base and at most the log end (logged when cut down to it: the
   * end was lost under a relaxed fsync policy).
   */
  load(): void {
    const { fs, dir, logger, name, segments } = this.context;
    const leftovers = removeDeletedLeftovers(fs, dir);
    if (leftovers > 0) logger.info(`partition ${name}: removed ${leftovers} file(s) of segments deleted before a stop`);
    const end = segments.active.nextOffset;
    let start = Math.max(segments.earliestOffset, readLogStartCheckpoint(dir, fs) ?? 0);
    if (start > end) {
      logger.warn(`partition ${name}: the log start offset ${start} is past the log end ${end}; starting at the end`);
      start = end;
    }
    this.start = start;
  }

  /** Moves the log start up to `offset` (at most the log end; the caller bounds it) and deletes the segments wholly below it. */
  advanceTo(offset: number, reason: string): FrontDeleted | undefined {
    if (offset <= this.start) return undefined;
    return this.logged(reason, this.moveTo(offset, this.segmentsBelow(offset)));
  }

  /** Delete retention (src/storage/retention-policy.ts), plus any segment left wholly below the log start. */
  applyRetention(policy: RetentionPolicy, nowMs: number): FrontDeleted | undefined {
    const { segments } = this.context;
    const count = Math.max(
      this.segmentsBelow(this.start),
      segmentsPastRetention(segments.all, segments.totalBytes, policy, nowMs, (segment) => this.timestamps.maxTimestampOf(segment)),
    );
    if (count === 0) return undefined;
    return this.logged("retention", this.moveTo(Math.max(this.start, segments.at(count)!.baseOffset), count));
  }

  /**
   * A follower whose log ends below its leader's first segment: every
   * segment goes and the log starts again, empty, at `offset` (Kafka's
   * truncateFullyAndStartAt). The caller creates the new segment.
   */
  restartAt(offset: number): FrontDeleted {
    const { segments } = this.context;
    const removed = segments.all.slice();
    writeLogStartCheckpoint(this.context.dir, this.context.fs, offset);
    this.start = offset;
    segments.closeAll();
    return this.logged("restarted at its leader's first offset", this.deleted(removed));
  }

  /** A clean stop: removes the renamed files now. */
  close(): void {
    this.deletion.removePending();
  }

  /** Sealed segments whose every offset lies below `offset`. */
  private segmentsBelow(offset: number): number {
    const { segments } = this.context;
    let count = 0;
    while (count < segments.length - 1 && segments.at(count)!.nextOffset <= offset) count++;
    return count;
  }

  /** Every deletion is logged: the partition, the segments, their bytes and the new log start. */
  private logged(reason: string, deleted: FrontDeleted): FrontDeleted {
    const segments = deleted.baseOffsets.length > 0 ? ` [${deleted.baseOffsets.join(", ")}]` : "";
    this.context.logger.info(
      `partition ${this.context.name}: ${reason}: deleted ${deleted.baseOffsets.length} segment(s)${segments}, ${deleted.bytes} bytes; log start offset ${deleted.logStartOffset}`,
    );
    return deleted;
  }

  private moveTo(offset: number, count: number): FrontDeleted {
    if (offset > this.start) {
      writeLogStartCheckpoint(this.context.dir, this.context.fs, offset);
      this.start = offset;
    }
    const removed = this.context.segments.removeFirst(count);
    for (const segment of removed) segment.close();
    return this.deleted(removed);
  }

  private deleted(removed: readonly Segment[]): FrontDeleted {
    const baseOffsets = removed.map((segment) => segment.baseOffset);
    if (baseOffsets.length > 0) this.deletion.renameForDeletion(baseOffsets);
    const bytes = removed.reduce((sum, segment) => sum + segment.sizeBytes, 0);
    return { baseOffsets, bytes, logStartOffset: this.start };
  }
}

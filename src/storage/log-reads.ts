import { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { StoredRecord } from "../protocol/record.ts";
import { joinRuns, readSegmentBatches, type SegmentBatches } from "./batch-read.ts";
import type { FileSystem } from "./file-system.ts";
import { batchStartPosition, locateBatch, readFrameRun } from "./frame-locator.ts";
import { checkedIndexStart, type FrameStart } from "./index-lookup.ts";
import type { LogSegments } from "./log-segments.ts";
import type { BatchesRead, FramesRead, ReadResult } from "./log-types.ts";
import type { Segment } from "./segment.ts";
import { rebuildIndex, type SegmentFiles } from "./segment-loader.ts";
import { readSegmentRecords } from "./segment-read.ts";
import { SegmentReader } from "./segment-reader.ts";
import { lookUpTime, type TimeIndexBounds } from "./time-lookup.ts";

const READ_CHUNK_BYTES = 256 * 1024;

/** A walk of a segment by time that trusts no time index entry. */
const WHOLE_SEGMENT: TimeIndexBounds = { entryOffset: -1, entryMaxTimestampMs: -1, nextEntryOffset: Infinity };

/** What `segment`'s time index says about where the first batch reaching `timestampMs` lies. */
function timeIndexBounds(segment: Segment, timestampMs: number): TimeIndexBounds {
  const timeIndex = segment.timeIndex;
  const entry = timeIndex.lastEntryBefore(timestampMs);
  if (entry < 0) return { ...WHOLE_SEGMENT, nextEntryOffset: timeIndex.length > 0 ? segment.baseOffset + timeIndex.relativeOffsetAt(0) : Infinity };
  return {
    entryOffset: segment.baseOffset + timeIndex.relativeOffsetAt(entry),
    entryMaxTimestampMs: timeIndex.timestampMsAt(entry),
    nextEntryOffset: entry + 1 < timeIndex.length ? segment.baseOffset + timeIndex.relativeOffsetAt(entry + 1) : Infinity,
  };
}

/** What reads need from the partition log they read. */
export interface LogReadsContext {
  name: string;
  fs: FileSystem;
  logger: Logger;
  segments: LogSegments;
  /** Bytes appended to the active segment but not yet written to its file. */
  unwrittenBytes(): number;
  /** What rebuilding an index needs (src/storage/segment-loader.ts). */
  files(): SegmentFiles;
  /** The first offset a reader may ask for (src/storage/log-front.ts): records below it are refused, even while their bytes remain. */
  logStartOffset(): number;
}

/**
 * Reads of a partition's log, from the segment files (the page cache), never
 * from memory: records, stored batches, a follower's frames, offsets by time.
 * Every read stops at a bound the caller gives (the high watermark, or the
 * durable end for a follower) and starts from the segment's offset index
 * once the index agrees with the log (src/storage/index-lookup.ts). Each
 * frame's CRC32 is checked just after it is read (the pair of the check just
 * before it is written, src/storage/log-writer.ts).
 */
export class LogReads {
  private readonly reader: SegmentReader;

  constructor(private readonly context: LogReadsContext) {
    this.reader = new SegmentReader(context.fs, -1, 0, READ_CHUNK_BYTES);
  }

  read(offset: number, maxRecords: number, maxBytes: number, highWatermark: number): ReadResult {
    const segments = this.context.segments;
    this.checkReadOffset(offset, highWatermark);
    const records: StoredRecord[] = [];
    let bytesRead = 0;
    // Past the last batch read, not the last record: a compacted log has offsets without records.
    let readTo = offset;
    let segmentIndex = segments.indexOf(offset);
    while (segmentIndex < segments.length && records.length < maxRecords && bytesRead < maxBytes) {
      const segment = segments.at(segmentIndex)!;
      if (segment.baseOffset >= highWatermark) break;
      let run: { bytesRead: number; readTo: number };
      try {
        run = this.readSegment(segment, offset, highWatermark, maxRecords, maxBytes - bytesRead, records);
      } catch (error) {
        // Damage found as this segment's indexes were first read (a sealed segment's check): deliver what earlier segments gave.
        if (records.length > 0 && error instanceof GafkaError && error.code === "log_corrupt") break;
        throw error;
      }
      bytesRead += run.bytesRead;
      readTo = Math.max(readTo, run.readTo);
      segmentIndex++;
      // A segment left before its end (the byte limit) ends the read: going on to the next would skip records.
      if (readTo < (segments.at(segmentIndex)?.baseOffset ?? Infinity)) break;
    }
    return { records, nextOffset: readTo };
  }

  /**
   * The stored batches, undecoded, holding the records read() would return
   * for the same arguments: [offset, nextOffset) (src/storage/batch-read.ts).
   * Each batch is copied once out of the file's buffer, except when the read
   * spans segments: their runs are then joined into one (a second copy).
   * With `firstBatchPastMaxBytes` false, whole batches within maxBytes
   * only (none when the first is larger); by default as read().
   */
  readBatches(offset: number, maxRecords: number, maxBytes: number, highWatermark: number, firstBatchPastMaxBytes = true): BatchesRead {
    const segments = this.context.segments;
    this.checkReadOffset(offset, highWatermark);
    const runs: Uint8Array[] = [];
    let bytesRead = 0;
    let nextOffset = offset;
    let segmentIndex = segments.indexOf(offset);
    while (segmentIndex < segments.length && nextOffset - offset < maxRecords && bytesRead < maxBytes) {
      const segment = segments.at(segmentIndex)!;
      if (segment.baseOffset >= highWatermark) break;
      let run: SegmentBatches;
      try {
        run = readSegmentBatches(this.reader, segment, this.context.name, {
          offset: nextOffset,
          highWatermark,
          maxRecords: maxRecords - (nextOffset - offset),
          maxBytes: maxBytes - bytesRead,
          firstBatchPastMaxBytes,
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
      if (nextOffset < (segments.at(segmentIndex)?.baseOffset ?? Infinity)) break;
    }
    return { batches: joinRuns(runs, bytesRead), nextOffset };
  }

  /**
   * The first offset whose record timestamp is >= timestampMs (Kafka's
   * ListOffsets by time), or the high watermark when there is none: the first
   * record at or after it in the first batch whose maxTimestamp reaches it.
   * The segment is the first whose largest timestamp (in memory) reaches it;
   * in it the time index (src/storage/time-index.ts) gives, by binary search,
   * where to begin, so about one index interval of batch headers is read and
   * one batch decoded. An index the frames contradict is rebuilt from a scan
   * (logged) and the segment looked at again.
   */
  offsetForTimestamp(timestampMs: number, highWatermark: number): number {
    for (const segment of this.context.segments.all) {
      if (segment.baseOffset >= highWatermark) break;
      if (segment.maxTimestampMs < timestampMs) continue;
      const found = this.offsetForTimestampIn(segment, timestampMs, highWatermark);
      if (found !== undefined) return found;
    }
    return highWatermark;
  }

  /** offsetForTimestamp within one segment; undefined when none of its batches below the high watermark reaches the time. */
  private offsetForTimestampIn(segment: Segment, timestampMs: number, highWatermark: number): number | undefined {
    for (let attempt = 0; ; attempt++) {
      // After a rebuild that did not settle it, walk the whole segment and trust no entry.
      const bounds = attempt === 0 ? timeIndexBounds(segment, timestampMs) : WHOLE_SEGMENT;
      if (bounds.entryOffset >= highWatermark) return highWatermark;
      const start = bounds.entryOffset < 0 ? this.segmentStart(segment) : this.readStart(segment, bounds.entryOffset);
      const result = lookUpTime(this.reader, segment, this.context.name, timestampMs, highWatermark, start, bounds);
      if (result.kind === "found") return result.offset;
      if (result.kind === "none") return undefined;
      const writtenEnd = this.writtenEnd(segment);
      const rebuilt = attempt === 0 && rebuildIndex(this.context.files(), segment, writtenEnd, segment !== this.context.segments.active);
      this.context.logger.warn(
        `partition ${this.context.name}: the time index of ${segment.logPath} disagrees with the log (${result.reason}); ` +
          (rebuilt ? "rebuilt it from a scan" : "looking through the whole segment"),
      );
    }
  }

  /** The segment's first frame, with the reader pointed at its written bytes. */
  private segmentStart(segment: Segment): FrameStart {
    this.reader.reset(segment.fd, this.writtenEnd(segment));
    return { position: 0, baseOffset: segment.baseOffset };
  }

  /**
   * Stored frames, unchanged, from `offset` (a batch's base offset) up to
   * `durableEnd`: whole frames of one segment, about `maxBytes` (at least one
   * frame), each frame's CRC32 checked as it is read.
   */
  readFrames(offset: number, maxBytes: number, durableEnd: number): FramesRead {
    if (offset >= durableEnd) return { frames: new Uint8Array(0), nextOffset: offset, startsSegment: false };
    const segments = this.context.segments;
    const segment = segments.at(segments.indexOf(offset))!;
    const start = this.readStart(segment, offset);
    return readFrameRun(this.context.fs, this.reader, segment, offset, start, durableEnd, maxBytes, this.context.name);
  }

  /** The base offset of the written batch that holds `offset`, which must lie before the log end. */
  batchBaseOffsetOf(offset: number): number {
    const segments = this.context.segments;
    const segment = segments.at(segments.indexOf(offset))!;
    return locateBatch(this.reader, segment, offset, this.readStart(segment, offset), this.context.name).baseOffset;
  }

  /** Position in `segment` of the frame of the batch starting at `offset` (a truncation point). */
  batchStartPosition(segment: Segment, offset: number): number {
    return batchStartPosition(this.reader, segment, offset, this.readStart(segment, offset), this.context.name);
  }

  /** offset_out_of_range unless logStartOffset <= offset <= highWatermark. */
  private checkReadOffset(offset: number, highWatermark: number): void {
    const earliest = this.context.logStartOffset();
    if (!Number.isInteger(offset) || offset < earliest || offset > highWatermark) {
      throw new GafkaError(
        "offset_out_of_range",
        `offset ${offset} is out of range [${earliest}, ${highWatermark}] for partition ${this.context.name}`,
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
  ): { bytesRead: number; readTo: number } {
    const start = this.readStart(segment, Math.max(offset, segment.baseOffset));
    return readSegmentRecords(this.reader, segment, this.context.name, { offset, highWatermark, maxRecords, maxBytes, start }, records);
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
    const rebuilt = rebuildIndex(this.context.files(), segment, writtenEnd, segment !== this.context.segments.active);
    this.context.logger.warn(
      `partition ${this.context.name}: the offset index of ${segment.logPath} disagrees with the log at offset ${offset}; ` +
        (rebuilt ? "rebuilt it from a scan" : "the log itself is damaged there, reading from the segment's first frame"),
    );
    this.reader.reset(segment.fd, writtenEnd);
    return (rebuilt ? checkedIndexStart(this.reader, segment, offset) : undefined) ?? { position: 0, baseOffset: segment.baseOffset };
  }

  /** Bytes of `segment` in its file: its size less the frames still waiting for the turn's write. */
  private writtenEnd(segment: Segment): number {
    return segment === this.context.segments.active ? segment.sizeBytes - this.context.unwrittenBytes() : segment.sizeBytes;
  }
}

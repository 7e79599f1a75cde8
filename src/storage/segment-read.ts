import { GafkaError } from "../core/errors.ts";
import { FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";
import type { StoredRecord } from "../protocol/record.ts";
import { BATCH_HEADER_BYTES, type BatchHeader, decodeRecordBatch, readBatchHeader } from "../protocol/record-batch.ts";
import type { FrameStart } from "./index-lookup.ts";
import type { Segment } from "./segment.ts";
import type { SegmentReader } from "./segment-reader.ts";

/**
 * Reading records out of one segment file, for the partition log
 * (src/storage/partition-log.ts). The reader must already point at the
 * segment's file and end at what has been written of it; nothing at or past
 * the high watermark is returned. Frames are walked from a checked index
 * entry and must follow one another without a gap to the segment's end.
 */
export interface SegmentReadRequest {
  offset: number;
  highWatermark: number;
  maxRecords: number;
  /** Batch bytes to read at most (at least one batch is read when any is there, unless firstBatchPastMaxBytes is false). */
  maxBytes: number;
  /** False: a first batch larger than maxBytes is not read either (whole batches within maxBytes only). Default true. */
  firstBatchPastMaxBytes?: boolean;
  /** Where to begin: a checked index entry at or before `offset` (src/storage/index-lookup.ts). */
  start: FrameStart;
}

/** A frame of the walk, the end of what is written, or damage (why). */
export type FrameStep =
  | { kind: "frame"; batchBytes: number; checksum: number; header: BatchHeader }
  | { kind: "end" }
  | { kind: "damaged"; reason: string };

/**
 * The frame at `position` in a walk where the batch there must begin at
 * `expectedOffset` (frames follow one another without a gap) and lie whole
 * within what is written. Past that, `end`; anything else (a header or frame
 * cut short, an implausible length, a batch that does not follow on) is
 * `damaged`. The batch's checksum is not checked here: only for the batches
 * a read returns.
 */
export function frameStepAt(reader: SegmentReader, position: number, expectedOffset: number, peek = false): FrameStep {
  if (position >= reader.endPosition) return { kind: "end" };
  const head = frameHeadAt(reader, position, peek);
  if (head === undefined) return { kind: "damaged", reason: "frame header cut short" };
  const { batchBytes, header } = head;
  if (batchBytes < BATCH_HEADER_BYTES || position + FRAME_HEADER_BYTES + batchBytes > reader.endPosition) {
    return { kind: "damaged", reason: `frame of ${batchBytes} bytes does not fit in the file` };
  }
  if (header.magic !== 2 || header.baseOffset !== expectedOffset || header.lastOffsetDelta < 0) {
    return { kind: "damaged", reason: `batch starts at offset ${header.baseOffset}, expected ${expectedOffset}` };
  }
  return { kind: "frame", ...head };
}

/**
 * Appends to `records` the records at or after `offset`, walking the frames
 * from `request.start`; returns the batch bytes read and `readTo`, the offset
 * the walk covered: one past the last record taken when maxRecords stopped it
 * inside a batch, else the end of the last batch read (below the high
 * watermark), so offsets a compaction left empty are stepped over (a read at
 * a compacted-away offset returns the next records, and a batch left with
 * none still moves the reader on). Each batch's frame
 * CRC32 is checked as it is read (the pair of the check made as it was
 * written). Damage — a bad checksum, frames that do not follow on, a segment
 * that ends before the offsets it holds — ends the read there: the records
 * before it (in `records`, from this segment or earlier ones) are returned,
 * and a read that would return none throws `log_corrupt` naming the file,
 * position and offset, so the next read, at the damage, is refused.
 */
export function readSegmentRecords(
  reader: SegmentReader,
  segment: Segment,
  partitionName: string,
  request: SegmentReadRequest,
  records: StoredRecord[],
): { bytesRead: number; readTo: number } {
  const { offset, highWatermark, maxRecords, maxBytes } = request;
  let position = request.start.position;
  let expectedOffset = request.start.baseOffset;
  let bytesRead = 0;
  let readTo = offset;
  const damaged = (reason: string): { bytesRead: number; readTo: number } => {
    if (records.length > 0) return { bytesRead, readTo };
    throw corruptFrame(partitionName, segment, position, expectedOffset, reason);
  };
  while (expectedOffset < highWatermark && records.length < maxRecords) {
    const step = frameStepAt(reader, position, expectedOffset);
    if (step.kind === "end") {
      if (expectedOffset < segment.nextOffset) return damaged(`the segment ends before offset ${expectedOffset}`);
      break;
    }
    if (step.kind === "damaged") return damaged(step.reason);
    const { batchBytes, checksum, header } = step;
    const frameBytes = FRAME_HEADER_BYTES + batchBytes;
    const batchNextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    if (batchNextOffset <= offset) {
      position += frameBytes;
      expectedOffset = batchNextOffset;
      continue;
    }
    if (bytesRead > 0 && bytesRead + batchBytes > maxBytes) break;
    const inFile = reader.bytes(position + FRAME_HEADER_BYTES, batchBytes);
    // Copy: the reader's buffer is reused; decoded records point into this copy.
    const batch = inFile ? inFile.slice() : undefined;
    if (!batch || frameChecksum(batch) !== checksum) return damaged("checksum mismatch");
    let stoppedInside = false;
    for (const record of decodeRecordBatch(batch, { frameChecksumVerified: true }).records) {
      if (record.offset < offset || record.offset >= highWatermark) continue;
      if (records.length >= maxRecords) {
        stoppedInside = true;
        break;
      }
      records.push(record);
    }
    readTo = stoppedInside ? records[records.length - 1]!.offset + 1 : Math.min(batchNextOffset, highWatermark);
    bytesRead += batchBytes;
    position += frameBytes;
    expectedOffset = batchNextOffset;
  }
  return { bytesRead, readTo };
}

/**
 * A frame's header and its batch's header, read at `position`; undefined
 * when they are not all there. `peek`: the batch itself will be read
 * elsewhere (SegmentReader.peek), not through the reader's buffer.
 */
export function frameHeadAt(
  reader: SegmentReader,
  position: number,
  peek = false,
): { batchBytes: number; checksum: number; header: BatchHeader } | undefined {
  const length = FRAME_HEADER_BYTES + BATCH_HEADER_BYTES;
  const head = peek ? reader.peek(position, length) : reader.bytes(position, length);
  if (!head) return undefined;
  // All read now: the next reader.bytes() may refill the buffer `head` points into.
  const view = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES);
  return { batchBytes: view.getUint32(0), checksum: view.getUint32(4), header: readBatchHeader(head, FRAME_HEADER_BYTES) };
}

/** A frame that does not check out (why: `reason`), naming the file, position and offset. */
export function corruptFrame(partitionName: string, segment: Segment, position: number, baseOffset: number, reason?: string): GafkaError {
  return new GafkaError(
    "log_corrupt",
    `partition ${partitionName}: corrupt frame at position ${position} of ${segment.logPath} (offset ${baseOffset})` +
      (reason === undefined ? "" : `: ${reason}`),
    { details: { file: segment.logPath, position, offset: baseOffset } },
  );
}

/**
 * The first offset below the high watermark whose record timestamp is >=
 * timestampMs in the reader's segment, or undefined when there is none there.
 * Scans batch headers (their maxTimestamp) and decodes only the batch that
 * holds it; returns the high watermark itself once batches reach it. The
 * full scan the time index replaced (src/storage/time-lookup.ts): kept as the
 * reference its answers are checked against in tests and the benchmark.
 */
export function firstOffsetAtOrAfter(reader: SegmentReader, timestampMs: number, highWatermark: number): number | undefined {
  let position = 0;
  while (position < reader.endPosition) {
    const head = reader.bytes(position, FRAME_HEADER_BYTES + BATCH_HEADER_BYTES);
    if (!head) break;
    const batchBytes = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
    const header = readBatchHeader(head, FRAME_HEADER_BYTES);
    if (header.baseOffset >= highWatermark) return highWatermark;
    if (header.maxTimestampMs >= timestampMs) {
      const batch = reader.bytes(position + FRAME_HEADER_BYTES, batchBytes)!.slice();
      for (const record of decodeRecordBatch(batch).records) {
        if (record.timestampMs >= timestampMs && record.offset < highWatermark) return record.offset;
      }
    }
    position += FRAME_HEADER_BYTES + batchBytes;
  }
  return undefined;
}

import { limits } from "../core/limits.ts";
import type { FileSystem } from "./file-system.ts";
import { FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";
import { OffsetIndex } from "./offset-index.ts";
import { TimeIndex } from "./time-index.ts";
import { BATCH_HEADER_BYTES, BATCH_OVERHEAD_BYTES, readBatchHeader } from "../protocol/record-batch.ts";
import { SegmentReader } from "./segment-reader.ts";

/**
 * Walks a segment file frame by frame, checking each frame's CRC32, the
 * batch's shape and that offsets follow on from one another. This is both
 * recovery (on start) and `gafka admin verify`.
 *
 * A frame that fails is classified:
 * - torn: it is the last thing in the active segment (no valid frame follows
 *   it) — the remains of a write that a crash interrupted. Recovery cuts it off.
 * - corrupt: a valid frame follows it, or it sits in a sealed segment (sealed
 *   segments are fsynced whole before the next one starts). Recovery refuses
 *   the partition rather than drop the records after it.
 */
export interface ScanProblem {
  kind: "torn" | "corrupt";
  file: string;
  /** Byte position of the bad frame in the file. */
  position: number;
  /** The offset the bad frame should have started at. */
  offset: number;
  message: string;
}

export interface SegmentScan {
  /** Bytes of valid frames from the start of the file (up to the first problem). */
  validBytes: number;
  /** One past the last offset in the valid prefix (the frames before the first problem). */
  nextOffset: number;
  batches: number;
  records: number;
  index: OffsetIndex;
  /** Beside `index`, entry for entry (src/storage/time-index.ts). */
  timeIndex: TimeIndex;
  /** The largest batch maxTimestamp in the valid prefix; -1 when it has no frame. */
  maxTimestampMs: number;
  /** The first problem only, unless scanning with continueAfterProblems. */
  problems: ScanProblem[];
  fileBytes: number;
}

export interface ScanOptions {
  /** The active (last) segment may end in a torn frame; a sealed one may not. */
  isActive: boolean;
  indexIntervalBytes: number;
  /** verify: report every damaged place instead of stopping at the first. */
  continueAfterProblems?: boolean;
  /** Scan only this many bytes from the start (the written part of an active segment); the whole file by default. */
  endPosition?: number;
}

export interface FrameCheck {
  ok: boolean;
  reason: string;
  batchBytes: number;
  baseOffset: number;
  lastOffsetDelta: number;
  recordCount: number;
  /** The batch's maxTimestamp (-1 when the frame failed). */
  maxTimestampMs: number;
}

/** Checks the frame at `position` on its own (not its place in the offset sequence). */
export function checkFrame(reader: SegmentReader, position: number): FrameCheck {
  const failed = (reason: string, batchBytes = 0): FrameCheck => ({
    ok: false,
    reason,
    batchBytes,
    baseOffset: -1,
    lastOffsetDelta: -1,
    recordCount: 0,
    maxTimestampMs: -1,
  });
  const frameHeader = reader.bytes(position, FRAME_HEADER_BYTES);
  if (!frameHeader) return failed("frame header runs past the end of the file");
  const headerView = new DataView(frameHeader.buffer, frameHeader.byteOffset, FRAME_HEADER_BYTES);
  const batchBytes = headerView.getUint32(0);
  const checksum = headerView.getUint32(4);
  if (batchBytes < BATCH_HEADER_BYTES || batchBytes > limits.frameBytesMax) {
    return failed(`implausible batch length ${batchBytes}`, batchBytes);
  }
  const batch = reader.bytes(position + FRAME_HEADER_BYTES, batchBytes);
  if (!batch) return failed(`frame of ${batchBytes} bytes runs past the end of the file`, batchBytes);
  const actual = frameChecksum(batch);
  if (actual !== checksum) {
    return failed(`checksum mismatch (stored ${checksum.toString(16)}, computed ${actual.toString(16)})`, batchBytes);
  }
  const header = readBatchHeader(batch, 0);
  if (header.magic !== 2) return failed(`batch magic ${header.magic}, expected 2`, batchBytes);
  if (header.batchLength !== batchBytes - BATCH_OVERHEAD_BYTES) return failed("batch length disagrees with frame", batchBytes);
  // A compacted batch holds fewer records than offsets (src/protocol/record-batch-filter.ts), never more.
  if (header.lastOffsetDelta < 0 || header.recordCount < 0 || header.recordCount > header.lastOffsetDelta + 1) {
    return failed("batch record count disagrees with its offset delta", batchBytes);
  }
  return {
    ok: true,
    reason: "",
    batchBytes,
    baseOffset: header.baseOffset,
    lastOffsetDelta: header.lastOffsetDelta,
    recordCount: header.recordCount,
    maxTimestampMs: header.maxTimestampMs,
  };
}

/** The position of the next frame that checks out, after `position`, or -1. */
function findNextValidFrame(reader: SegmentReader, position: number): number {
  // Cheap filter first: the batch's magic byte sits at a fixed place.
  const magicAt = FRAME_HEADER_BYTES + 16;
  for (let candidate = position + 1; candidate + FRAME_HEADER_BYTES + BATCH_HEADER_BYTES <= reader.endPosition; candidate++) {
    const magic = reader.bytes(candidate + magicAt, 1);
    if (magic?.[0] !== 2) continue;
    if (checkFrame(reader, candidate).ok) return candidate;
  }
  return -1;
}

export function scanSegment(
  fs: FileSystem,
  filePath: string,
  fd: number,
  baseOffset: number,
  options: ScanOptions,
): SegmentScan {
  const fileBytes = options.endPosition ?? fs.sizeOf(fd);
  const reader = new SegmentReader(fs, fd, fileBytes);
  const index = new OffsetIndex();
  const timeIndex = new TimeIndex();
  let maxTimestampMs = -1;
  let validMaxTimestampMs = -1;
  const problems: ScanProblem[] = [];
  let position = 0;
  let expectedOffset = baseOffset;
  let validBytes = -1;
  let validNextOffset = -1;
  let batches = 0;
  let records = 0;
  let bytesSinceIndexEntry = options.indexIntervalBytes; // index the first frame

  while (position < fileBytes) {
    const check = checkFrame(reader, position);
    let reason = check.reason;
    if (check.ok && check.baseOffset !== expectedOffset) {
      reason = `batch starts at offset ${check.baseOffset}, expected ${expectedOffset}`;
    }
    if (reason === "") {
      if (check.maxTimestampMs > maxTimestampMs) maxTimestampMs = check.maxTimestampMs;
      if (bytesSinceIndexEntry >= options.indexIntervalBytes) {
        index.append(check.baseOffset - baseOffset, position);
        // verify goes on past damage and may see offsets or times out of order: those indexes are not used.
        if (validBytes < 0) timeIndex.append(maxTimestampMs, check.baseOffset - baseOffset);
        bytesSinceIndexEntry = 0;
      }
      const frameBytes = FRAME_HEADER_BYTES + check.batchBytes;
      position += frameBytes;
      bytesSinceIndexEntry += frameBytes;
      expectedOffset = check.baseOffset + check.lastOffsetDelta + 1;
      batches++;
      records += check.recordCount;
      continue;
    }

    const next = findNextValidFrame(reader, position);
    const torn = options.isActive && next < 0;
    if (validBytes < 0) {
      validBytes = position;
      validNextOffset = expectedOffset;
      validMaxTimestampMs = maxTimestampMs;
    }
    problems.push({
      kind: torn ? "torn" : "corrupt",
      file: filePath,
      position,
      offset: expectedOffset,
      message: torn
        ? `torn write at position ${position}: ${fileBytes - position} bytes after the last whole frame (${reason})`
        : `corrupt frame at position ${position} (offset ${expectedOffset}): ${reason}` +
          (next >= 0 ? `; a valid frame follows at position ${next}` : ""),
    });
    if (!options.continueAfterProblems || next < 0) break;
    // verify: carry on from the next frame that checks out, following its offsets.
    position = next;
    const resumed = checkFrame(reader, next);
    expectedOffset = resumed.baseOffset;
  }
  return {
    validBytes: validBytes < 0 ? position : validBytes,
    nextOffset: validBytes < 0 ? expectedOffset : validNextOffset,
    batches,
    records,
    index,
    timeIndex,
    maxTimestampMs: validBytes < 0 ? maxTimestampMs : validMaxTimestampMs,
    problems,
    fileBytes,
  };
}

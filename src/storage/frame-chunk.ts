import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { FRAME_HEADER_BYTES, frameChecksum, readFrameHeader } from "./frame.ts";
import { BATCH_HEADER_BYTES, BATCH_OVERHEAD_BYTES, batchCrcMatches, readBatchHeader } from "../protocol/record-batch.ts";

/**
 * A run of whole frames as they lie in a segment file (src/storage/frame.ts):
 * what the leader reads for a follower and the follower writes unchanged.
 */
export interface CheckedBatch {
  baseOffset: number;
  /** One past the batch's last offset. */
  nextOffset: number;
  partitionLeaderEpoch: number;
  baseTimestampMs: number;
  maxTimestampMs: number;
  /** Header + batch bytes. */
  frameBytes: number;
}

/**
 * Checks every frame of `frames`: whole, a plausible length, its CRC32 over
 * the batch, the batch's own CRC-32C and magic, its record count, and that
 * offsets run on from `expectedBaseOffset` without a gap. Throws a GafkaError
 * naming the first fault; returns the batches when all is well (at least one).
 */
export function checkFrames(frames: Uint8Array, expectedBaseOffset: number, partitionName: string): CheckedBatch[] {
  const fault = (position: number, reason: string) =>
    new GafkaError("invalid_request", `partition ${partitionName}: replicated frame at position ${position} ${reason}`);
  if (frames.length === 0) throw fault(0, "is missing: no frames given");
  const batches: CheckedBatch[] = [];
  let position = 0;
  let expected = expectedBaseOffset;
  while (position < frames.length) {
    if (frames.length - position < FRAME_HEADER_BYTES) throw fault(position, "is cut short");
    const { batchBytes, checksum } = readFrameHeader(frames, position);
    if (batchBytes < BATCH_HEADER_BYTES || batchBytes > limits.frameBytesMax) throw fault(position, `has an implausible length ${batchBytes}`);
    const end = position + FRAME_HEADER_BYTES + batchBytes;
    if (end > frames.length) throw fault(position, "is cut short");
    const batch = frames.subarray(position + FRAME_HEADER_BYTES, end);
    if (frameChecksum(batch) !== checksum) throw fault(position, "fails its CRC32");
    const header = readBatchHeader(batch);
    if (header.magic !== 2) throw fault(position, `has magic ${header.magic}`);
    if (header.batchLength !== batchBytes - BATCH_OVERHEAD_BYTES || !batchCrcMatches(batch)) throw fault(position, "fails its CRC-32C");
    // A compacted batch (src/protocol/record-batch-filter.ts) holds fewer records than offsets, never more.
    if (header.lastOffsetDelta < 0 || header.recordCount < 0 || header.recordCount > header.lastOffsetDelta + 1) throw fault(position, "miscounts its records");
    if (header.baseOffset !== expected) throw fault(position, `starts at offset ${header.baseOffset}, expected ${expected}`);
    expected = header.baseOffset + header.lastOffsetDelta + 1;
    batches.push({
      baseOffset: header.baseOffset,
      nextOffset: expected,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      baseTimestampMs: header.baseTimestampMs,
      maxTimestampMs: header.maxTimestampMs,
      frameBytes: FRAME_HEADER_BYTES + batchBytes,
    });
    position = end;
  }
  return batches;
}

import { joinBytes } from "../core/bytes.ts";
import { FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";
import type { Segment } from "./segment.ts";
import type { SegmentReader } from "./segment-reader.ts";
import { corruptFrame, frameStepAt, type SegmentReadRequest } from "./segment-read.ts";

/**
 * Reading stored batches out of one segment file undecoded, for the binary
 * consume (docs/api.md "Binary consume"): the bytes a consumer gets are the
 * RecordBatch v2 bytes as stored, without gafka's 8-byte frame header
 * (src/storage/frame.ts). Only batch headers are read to choose the batches
 * (baseOffset, lastOffsetDelta); no record is decoded.
 *
 * The records delivered are [request.offset, nextOffset): the first batch may
 * begin before request.offset and the last may run past nextOffset (when the
 * count ends inside it), and the reader of the bytes skips the rest. So the
 * records delivered are exactly those readSegmentRecords (segment-read.ts)
 * returns for the same request: at or after the offset, below the high
 * watermark, at most maxRecords, and the same batches within maxBytes.
 */
export interface SegmentBatches {
  /** Whole batches, back to back; empty when none is delivered. */
  batches: Uint8Array;
  /** One past the last offset delivered; request.offset when none is. */
  nextOffset: number;
}

/** Where one chosen batch lies in the file. */
interface ChosenBatch {
  /** Byte position of its frame. */
  position: number;
  batchBytes: number;
  checksum: number;
  baseOffset: number;
}

const NO_BATCHES = new Uint8Array(0);

/**
 * The batches holding the records at or after `request.offset`, walking the
 * frames from `request.start`. Two passes over the (buffered) reader: the
 * first reads frame and batch headers only, to choose the batches and size
 * the answer; the second copies each chosen batch once into one buffer of
 * exactly that size. Each batch's frame CRC32 is checked on the copied bytes
 * (the pair of the check made as it was written). Damage ends the run where
 * it is, as readSegmentRecords does: the batches before it are delivered, and
 * a run that would deliver none throws `log_corrupt` naming the file and
 * position (the caller, holding earlier segments' runs, delivers those).
 */
export function readSegmentBatches(
  reader: SegmentReader,
  segment: Segment,
  partitionName: string,
  request: SegmentReadRequest,
): SegmentBatches {
  const { offset, highWatermark, maxRecords, maxBytes } = request;
  const chosen: ChosenBatch[] = [];
  let position = request.start.position;
  let expectedOffset = request.start.baseOffset;
  let totalBytes = 0;
  let nextOffset = offset;
  let damage: { position: number; offset: number; reason: string } | undefined;
  const lastOffsetAllowed = Math.min(highWatermark, offset + maxRecords);
  while (expectedOffset < highWatermark && nextOffset < lastOffsetAllowed) {
    const step = frameStepAt(reader, position, expectedOffset, true);
    if (step.kind === "end") {
      if (expectedOffset < segment.nextOffset) damage = { position, offset: expectedOffset, reason: `the segment ends before offset ${expectedOffset}` };
      break;
    }
    if (step.kind === "damaged") {
      damage = { position, offset: expectedOffset, reason: step.reason };
      break;
    }
    const { batchBytes, checksum, header } = step;
    const frameBytes = FRAME_HEADER_BYTES + batchBytes;
    const batchNextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    position += frameBytes;
    expectedOffset = batchNextOffset;
    if (batchNextOffset <= offset) continue;
    if ((totalBytes > 0 || request.firstBatchPastMaxBytes === false) && totalBytes + batchBytes > maxBytes) break;
    chosen.push({ position: position - frameBytes, batchBytes, checksum, baseOffset: header.baseOffset });
    totalBytes += batchBytes;
    nextOffset = Math.min(batchNextOffset, lastOffsetAllowed);
  }

  const batches = new Uint8Array(totalBytes);
  let at = 0;
  for (let index = 0; index < chosen.length; index++) {
    const batch = chosen[index]!;
    // Straight from the file into the answer (or from the buffer, for small frames already in it).
    const read = reader.readInto(batch.position + FRAME_HEADER_BYTES, batch.batchBytes, batches, at);
    if (!read || frameChecksum(batches.subarray(at, at + batch.batchBytes)) !== batch.checksum) {
      damage = { position: batch.position, offset: batch.baseOffset, reason: read ? "checksum mismatch" : "frame cut short" };
      // Deliver the batches before it; the next read starts at the damaged one.
      chosen.length = index;
      nextOffset = batch.baseOffset;
      break;
    }
    at += batch.batchBytes;
  }
  if (chosen.length === 0) {
    if (damage !== undefined) throw corruptFrame(partitionName, segment, damage.position, damage.offset, damage.reason);
    return { batches: NO_BATCHES, nextOffset: offset };
  }
  return { batches: at === batches.length ? batches : batches.subarray(0, at), nextOffset };
}

/** The runs of several segments as one buffer (a read that crossed into the next segment); the run itself when only one. */
export function joinRuns(runs: readonly Uint8Array[], totalBytes: number): Uint8Array {
  return runs.length === 0 ? NO_BATCHES : joinBytes(runs, totalBytes);
}

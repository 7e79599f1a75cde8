import { joinBytes } from "../core/bytes.ts";
import { FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";
import type { Segment } from "./segment.ts";
import type { SegmentReader } from "./segment-reader.ts";
import { corruptFrame, frameHeadAt, type SegmentReadRequest } from "./segment-read.ts";

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
 * The batches holding the records at or after `request.offset`, from the
 * sparse index's position for it. Two passes over the (buffered) reader: the
 * first reads frame and batch headers only, to choose the batches and size
 * the answer; the second copies each chosen batch once into one buffer of
 * exactly that size. Each batch's frame CRC32 is checked on the copied bytes
 * (the pair of the check made as it was written); a mismatch is `log_corrupt`
 * naming the file and position, as readSegmentRecords reports it.
 */
export function readSegmentBatches(
  reader: SegmentReader,
  segment: Segment,
  partitionName: string,
  request: SegmentReadRequest,
): SegmentBatches {
  const { offset, highWatermark, maxRecords, maxBytes } = request;
  const corrupt = (position: number, baseOffset: number) => corruptFrame(partitionName, segment, position, baseOffset);
  const endPosition = reader.endPosition;
  const chosen: ChosenBatch[] = [];
  let position = segment.index.lookup(Math.max(0, offset - segment.baseOffset));
  let totalBytes = 0;
  let nextOffset = offset;
  const lastOffsetAllowed = Math.min(highWatermark, offset + maxRecords);
  while (position < endPosition && nextOffset < lastOffsetAllowed) {
    const head = frameHeadAt(reader, position, true);
    if (!head) break;
    const { batchBytes, checksum, header } = head;
    if (header.baseOffset >= highWatermark) break;
    const frameBytes = FRAME_HEADER_BYTES + batchBytes;
    const batchNextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    if (batchNextOffset <= offset) {
      position += frameBytes;
      continue;
    }
    if (totalBytes > 0 && totalBytes + batchBytes > maxBytes) break;
    // A damaged length must not size the answer: the frame has to lie within what is written.
    if (position + frameBytes > endPosition) throw corrupt(position, header.baseOffset);
    chosen.push({ position, batchBytes, checksum, baseOffset: header.baseOffset });
    totalBytes += batchBytes;
    nextOffset = Math.min(batchNextOffset, lastOffsetAllowed);
    position += frameBytes;
  }
  if (chosen.length === 0) return { batches: NO_BATCHES, nextOffset: offset };

  const batches = new Uint8Array(totalBytes);
  let at = 0;
  for (const batch of chosen) {
    // Straight from the file into the answer (or from the buffer, for small frames already in it).
    if (!reader.readInto(batch.position + FRAME_HEADER_BYTES, batch.batchBytes, batches, at)) throw corrupt(batch.position, batch.baseOffset);
    if (frameChecksum(batches.subarray(at, at + batch.batchBytes)) !== batch.checksum) throw corrupt(batch.position, batch.baseOffset);
    at += batch.batchBytes;
  }
  return { batches, nextOffset };
}

/** The runs of several segments as one buffer (a read that crossed into the next segment); the run itself when only one. */
export function joinRuns(runs: readonly Uint8Array[], totalBytes: number): Uint8Array {
  return runs.length === 0 ? NO_BATCHES : joinBytes(runs, totalBytes);
}

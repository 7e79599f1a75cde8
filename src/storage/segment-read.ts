import { GafkaError } from "../core/errors.ts";
import { FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";
import type { StoredRecord } from "./record.ts";
import { BATCH_HEADER_BYTES, type BatchHeader, decodeRecordBatch, readBatchHeader } from "./record-batch.ts";
import type { Segment } from "./segment.ts";
import type { SegmentReader } from "./segment-reader.ts";

/**
 * Reading records out of one segment file, for the partition log
 * (src/storage/partition-log.ts). The reader must already point at the
 * segment's file and end at what has been written of it; nothing at or past
 * the high watermark is returned.
 */
export interface SegmentReadRequest {
  offset: number;
  highWatermark: number;
  maxRecords: number;
  /** Batch bytes to read at most (at least one batch is read when any is there). */
  maxBytes: number;
}

/**
 * Appends to `records` the records at or after `offset`, starting from the
 * sparse index's position for it; returns the batch bytes read. Each batch's
 * frame CRC32 is checked as it is read (the pair of the check made as it was
 * written); a mismatch is `log_corrupt` naming the file and position.
 */
export function readSegmentRecords(
  reader: SegmentReader,
  segment: Segment,
  partitionName: string,
  request: SegmentReadRequest,
  records: StoredRecord[],
): number {
  const { offset, highWatermark, maxRecords, maxBytes } = request;
  const endPosition = reader.endPosition;
  let position = segment.index.lookup(Math.max(0, offset - segment.baseOffset));
  let bytesRead = 0;
  while (position < endPosition && records.length < maxRecords) {
    const head = frameHeadAt(reader, position);
    if (!head) break;
    const { batchBytes, checksum, header } = head;
    if (header.baseOffset >= highWatermark) break;
    const frameBytes = FRAME_HEADER_BYTES + batchBytes;
    if (header.baseOffset + header.lastOffsetDelta < offset) {
      position += frameBytes;
      continue;
    }
    if (bytesRead > 0 && bytesRead + batchBytes > maxBytes) break;
    const inFile = reader.bytes(position + FRAME_HEADER_BYTES, batchBytes);
    // Copy: the reader's buffer is reused; decoded records point into this copy.
    const batch = inFile ? inFile.slice() : undefined;
    if (!batch || frameChecksum(batch) !== checksum) throw corruptFrame(partitionName, segment, position, header.baseOffset);
    for (const record of decodeRecordBatch(batch, { frameChecksumVerified: true }).records) {
      if (record.offset >= offset && record.offset < highWatermark && records.length < maxRecords) records.push(record);
    }
    bytesRead += batchBytes;
    position += frameBytes;
  }
  return bytesRead;
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

/** A frame whose CRC32 (or length) does not check out, naming the file, position and offset. */
export function corruptFrame(partitionName: string, segment: Segment, position: number, baseOffset: number): GafkaError {
  return new GafkaError(
    "log_corrupt",
    `partition ${partitionName}: corrupt frame at position ${position} of ${segment.logPath} (offset ${baseOffset})`,
    { details: { file: segment.logPath, position, offset: baseOffset } },
  );
}

/**
 * The first offset below the high watermark whose record timestamp is >=
 * timestampMs in the reader's segment, or undefined when there is none there.
 * Scans batch headers (their maxTimestamp) and decodes only the batch that
 * holds it; returns the high watermark itself once batches reach it.
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

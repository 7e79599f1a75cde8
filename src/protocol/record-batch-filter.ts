import { AssertionError } from "../core/assert.ts";
import { writeInt32, writeInt64 } from "./big-endian.ts";
import { crc32c } from "./crc32c.ts";
import {
  ATTRIBUTES_POSITION,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POSITION,
  BATCH_OVERHEAD_BYTES,
  CRC_POSITION,
  MAX_TIMESTAMP_POSITION,
  RECORD_COUNT_POSITION,
  readBatchHeader,
} from "./record-batch-header.ts";
import { type Cursor, readVarint, readVarlong } from "./varint.ts";

/** What a filter sees of one record: enough to decide, without decoding headers. */
export interface FilteredRecord {
  offset: number;
  timestampMs: number;
  /** A view into the batch; null for a keyless record. */
  key: Uint8Array | null;
  /** A tombstone has a null value. */
  valueIsNull: boolean;
}

/**
 * A RecordBatch v2 holding only the records `keep` accepts, as Kafka's log
 * cleaner rewrites a batch (MemoryRecords.filterTo): baseOffset,
 * partitionLeaderEpoch, attributes, lastOffsetDelta, baseTimestamp and the
 * producer fields stay as they were, and each kept record's bytes are copied
 * unchanged, so its offsetDelta and timestampDelta (relative to the unchanged
 * base) still give its offset and timestamp. Offsets are never reassigned:
 * the batch keeps covering [baseOffset, baseOffset + lastOffsetDelta], and
 * the records dropped leave gaps (recordCount <= lastOffsetDelta + 1; zero
 * records is allowed: the batch then only holds its offsets' place, so the
 * next batch still follows on). recordCount, batchLength, maxTimestamp (of
 * the kept records; unchanged when none is kept) and the CRC-32C are
 * rewritten.
 *
 * Returns `batch` itself when every record is kept. The batch must already
 * have been checked (its frame CRC32): malformed records are a bug here.
 */
export function filterRecordBatch(batch: Uint8Array, keep: (record: FilteredRecord) => boolean): Uint8Array {
  const header = readBatchHeader(batch);
  const spans: number[] = [];
  let keptBytes = 0;
  let maxTimestampMs = Number.NEGATIVE_INFINITY;
  const cursor: Cursor = { position: BATCH_HEADER_BYTES };
  for (let index = 0; index < header.recordCount; index++) {
    const start = cursor.position;
    const bodySize = readVarint(batch, cursor);
    const end = cursor.position + bodySize;
    if (bodySize < 1 || end > batch.length) throw new AssertionError(`record ${index} of batch ${header.baseOffset} runs past it`);
    cursor.position++; // attributes
    const timestampMs = header.baseTimestampMs + readVarlong(batch, cursor);
    const offset = header.baseOffset + readVarint(batch, cursor);
    const keyLength = readVarint(batch, cursor);
    const key = keyLength < 0 ? null : batch.subarray(cursor.position, cursor.position + keyLength);
    cursor.position += Math.max(keyLength, 0);
    const valueIsNull = readVarint(batch, cursor) < 0;
    if (keep({ offset, timestampMs, key, valueIsNull })) {
      spans.push(start, end);
      keptBytes += end - start;
      if (timestampMs > maxTimestampMs) maxTimestampMs = timestampMs;
    }
    cursor.position = end;
  }
  const keptCount = spans.length / 2;
  if (keptCount === header.recordCount) return batch;

  const size = BATCH_HEADER_BYTES + keptBytes;
  const filtered = new Uint8Array(size);
  filtered.set(batch.subarray(0, BATCH_HEADER_BYTES), 0);
  let position = BATCH_HEADER_BYTES;
  for (let index = 0; index < spans.length; index += 2) {
    filtered.set(batch.subarray(spans[index]!, spans[index + 1]!), position);
    position += spans[index + 1]! - spans[index]!;
  }
  writeInt32(filtered, BATCH_LENGTH_POSITION, size - BATCH_OVERHEAD_BYTES);
  writeInt32(filtered, RECORD_COUNT_POSITION, keptCount);
  if (keptCount > 0) writeInt64(filtered, MAX_TIMESTAMP_POSITION, maxTimestampMs);
  writeInt32(filtered, CRC_POSITION, crc32c(filtered, ATTRIBUTES_POSITION, size));
  return filtered;
}

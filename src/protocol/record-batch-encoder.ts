import { AssertionError } from "../core/assert.ts";
import { writeInt16, writeInt32, writeInt64 } from "./big-endian.ts";
import { crc32c } from "./crc32c.ts";
import type { RecordHeader } from "./record.ts";
import {
  ATTRIBUTES_POSITION,
  BASE_OFFSET_POSITION,
  BASE_SEQUENCE_POSITION,
  BASE_TIMESTAMP_POSITION,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POSITION,
  BATCH_OVERHEAD_BYTES,
  CRC_POSITION,
  isInt32,
  isOffset,
  LAST_OFFSET_DELTA_POSITION,
  MAGIC,
  MAGIC_POSITION,
  MAX_TIMESTAMP_POSITION,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH_POSITION,
  PRODUCER_EPOCH_POSITION,
  PRODUCER_ID_POSITION,
  RECORD_COUNT_POSITION,
} from "./record-batch-header.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from "./varint.ts";

/** Below this size a plain loop beats TypedArray.set's fixed cost (see writeBytesField). */
const SHORT_COPY_BYTES = 32;

const utf8Encoder = new TextEncoder();

export interface EncodeBatchOptions {
  baseOffset: number;
  /** Defaults to -1, Kafka's "no epoch known". */
  partitionLeaderEpoch?: number;
  records: readonly EncodableRecord[];
  /**
   * Bytes left free before the batch in the returned array (a frame header,
   * src/storage/frame.ts), so the batch is encoded once, in place, and never
   * copied into its frame. Default 0: the array is exactly the batch.
   */
  prefixBytes?: number;
}

/**
 * A record as encodeRecordBatch takes it: a RecordInput, except that the key
 * and value may also be strings, written as their UTF-8 bytes straight into
 * the batch (TextEncoder.encodeInto) with no intermediate array. The SDK
 * sends user strings this way; copying each value through its own
 * Uint8Array was the largest cost of a producer encoding 1 KB values.
 */
export interface EncodableRecord {
  key: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers: readonly RecordHeader[];
  timestampMs: number;
}

/**
 * Encodes records as one RecordBatch v2. Integers are big-endian; "varint"
 * and "varlong" are zigzag varints (src/protocol/varint.ts).
 *
 * ```
 * position  bytes  field
 *        0      8  baseOffset            int64   offset of the first record
 *        8      4  batchLength           int32   bytes after this field
 *       12      4  partitionLeaderEpoch  int32
 *       16      1  magic                 int8    2
 *       17      4  crc                   uint32  CRC-32C of bytes 21..end
 *       21      2  attributes            int16   0: no compression, CreateTime
 *       23      4  lastOffsetDelta       int32   recordCount - 1
 *       27      8  baseTimestamp         int64   first record's timestamp, ms
 *       35      8  maxTimestamp          int64   largest record timestamp, ms
 *       43      8  producerId            int64   -1
 *       51      2  producerEpoch         int16   -1
 *       53      4  baseSequence          int32   -1
 *       57      4  recordCount           int32
 *       61         records, each:
 *                    length          varint   bytes after this field
 *                    attributes      int8     0
 *                    timestampDelta  varlong  timestamp - baseTimestamp
 *                    offsetDelta     varint   index in the batch
 *                    keyLength       varint   -1 for a null key
 *                    key             bytes
 *                    valueLength     varint   -1 for a null value
 *                    value           bytes
 *                    headerCount     varint
 *                    headers, each:
 *                      keyLength     varint
 *                      key           UTF-8
 *                      valueLength   varint   -1 for a null value
 *                      value         bytes
 * ```
 *
 * baseOffset and partitionLeaderEpoch lie before the CRC-covered region, so
 * the log can stamp them (setBaseOffset, setPartitionLeaderEpoch) without
 * recomputing the CRC. The size is computed first and the batch is written
 * into a single allocation, after `prefixBytes` free bytes when asked (the
 * positions above are then relative to that start). Zero records is a bug
 * and throws.
 */
export function encodeRecordBatch(options: EncodeBatchOptions): Uint8Array {
  const { baseOffset, records } = options;
  const start = options.prefixBytes ?? 0;
  const partitionLeaderEpoch = options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH;
  const recordCount = records.length;
  // Invariant messages are built only on failure: a template string per call costs more than a small record.
  if (recordCount === 0) throw new AssertionError("a record batch needs at least one record");
  if (!isOffset(baseOffset)) throw new AssertionError(`baseOffset ${baseOffset}`);
  if (!isInt32(partitionLeaderEpoch)) throw new AssertionError(`epoch ${partitionLeaderEpoch}`);
  if (!(start >= 0 && Number.isSafeInteger(start))) throw new AssertionError(`prefixBytes ${start}`);

  const baseTimestampMs = records[0].timestampMs;
  let maxTimestampMs = baseTimestampMs;
  // Per record: body size, key length, value length (-1: null), measured once for the size
  // and the write; one allocation, as a batch of one record is the common produce.
  const sizes = new Int32Array(recordCount * 3);
  let size = BATCH_HEADER_BYTES;
  for (let index = 0; index < recordCount; index++) {
    const record = records[index];
    const timestampMs = record.timestampMs;
    if (!Number.isSafeInteger(timestampMs) || !Number.isSafeInteger(timestampMs - baseTimestampMs)) {
      throw new AssertionError(`record timestamp ${timestampMs} (batch base ${baseTimestampMs})`);
    }
    if (timestampMs > maxTimestampMs) maxTimestampMs = timestampMs;
    const keyLength = fieldLength(record.key);
    const valueLength = fieldLength(record.value);
    const bodySize = recordBodySize(record.headers, timestampMs - baseTimestampMs, index, keyLength, valueLength);
    sizes[index * 3] = bodySize;
    sizes[index * 3 + 1] = keyLength;
    sizes[index * 3 + 2] = valueLength;
    size += sizeOfVarint(bodySize) + bodySize;
  }
  if (size - BATCH_OVERHEAD_BYTES > 0x7fffffff) throw new AssertionError(`batch of ${size} bytes`);

  // Written byte by byte rather than through a DataView: asking a fresh
  // Uint8Array for its .buffer makes the engine allocate an ArrayBuffer for
  // it, which costs more than encoding a small batch.
  // With a prefix the caller will take a view of the batch (a frame's checksum): an array made
  // over its own ArrayBuffer gives that view cheaply, where a plain one must first be given one.
  const bytes = start > 0 ? new Uint8Array(new ArrayBuffer(start + size)) : new Uint8Array(size);
  writeInt64(bytes, start + BASE_OFFSET_POSITION, baseOffset);
  writeInt32(bytes, start + BATCH_LENGTH_POSITION, size - BATCH_OVERHEAD_BYTES);
  writeInt32(bytes, start + PARTITION_LEADER_EPOCH_POSITION, partitionLeaderEpoch);
  bytes[start + MAGIC_POSITION] = MAGIC;
  writeInt16(bytes, start + ATTRIBUTES_POSITION, 0);
  writeInt32(bytes, start + LAST_OFFSET_DELTA_POSITION, recordCount - 1);
  writeInt64(bytes, start + BASE_TIMESTAMP_POSITION, baseTimestampMs);
  writeInt64(bytes, start + MAX_TIMESTAMP_POSITION, maxTimestampMs);
  writeInt64(bytes, start + PRODUCER_ID_POSITION, NO_PRODUCER_ID);
  writeInt16(bytes, start + PRODUCER_EPOCH_POSITION, NO_PRODUCER_EPOCH);
  writeInt32(bytes, start + BASE_SEQUENCE_POSITION, NO_SEQUENCE);
  writeInt32(bytes, start + RECORD_COUNT_POSITION, recordCount);

  let position = start + BATCH_HEADER_BYTES;
  for (let index = 0; index < recordCount; index++) {
    const record = records[index];
    position = writeVarint(bytes, position, sizes[index * 3]);
    const bodyEnd = position + sizes[index * 3];
    bytes[position++] = 0; // record attributes: none defined
    position = writeVarlong(bytes, position, record.timestampMs - baseTimestampMs);
    position = writeVarint(bytes, position, index);
    position = writeField(bytes, position, record.key, sizes[index * 3 + 1]);
    position = writeField(bytes, position, record.value, sizes[index * 3 + 2]);
    const headers = record.headers;
    position = writeVarint(bytes, position, headers.length);
    for (let headerIndex = 0; headerIndex < headers.length; headerIndex++) {
      const header = headers[headerIndex];
      position = writeVarint(bytes, position, utf8Length(header.key));
      position = writeUtf8(bytes, position, header.key);
      position = writeBytesField(bytes, position, header.value);
    }
    if (position !== bodyEnd) throw new AssertionError(`record ${index} ends at ${position}, sized to ${bodyEnd}`);
  }
  if (position !== start + size) throw new AssertionError(`batch ends at ${position - start}, sized to ${size}`);

  writeInt32(bytes, start + CRC_POSITION, crc32c(bytes, start + ATTRIBUTES_POSITION, start + size));
  return bytes;
}

/** Record bytes after the length prefix; key and value lengths are fieldLength()'s (-1: null). */
function recordBodySize(
  headers: readonly RecordHeader[],
  timestampDelta: number,
  offsetDelta: number,
  keyLength: number,
  valueLength: number,
): number {
  let size =
    1 +
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    sizeOfVarint(keyLength) +
    Math.max(keyLength, 0) +
    sizeOfVarint(valueLength) +
    Math.max(valueLength, 0);
  size += sizeOfVarint(headers.length);
  for (let index = 0; index < headers.length; index++) {
    const keyBytes = utf8Length(headers[index].key);
    size += sizeOfVarint(keyBytes) + keyBytes + sizeOfBytesField(headers[index].value);
  }
  return size;
}

/** Bytes a key or value takes in the batch: its length, its UTF-8 length for a string, -1 for null. */
function fieldLength(field: Uint8Array | string | null): number {
  if (field === null) return -1;
  return typeof field === "string" ? utf8ByteLength(field) : field.length;
}

/** UTF-8 length of a key or value string: the native count (header keys, short, use utf8Length). */
function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** A key or value of `length` bytes (fieldLength's): length-prefixed, a string encoded in place. */
function writeField(bytes: Uint8Array, position: number, field: Uint8Array | string | null, length: number): number {
  if (typeof field !== "string") return writeBytesField(bytes, position, field);
  position = writeVarint(bytes, position, length);
  if (length > 0) utf8Encoder.encodeInto(field, bytes.subarray(position, position + length));
  return position + length;
}

function sizeOfBytesField(field: Uint8Array | null): number {
  return field === null ? 1 : sizeOfVarint(field.length) + field.length;
}

/** A length-prefixed byte string; length -1 stands for null. */
function writeBytesField(bytes: Uint8Array, position: number, field: Uint8Array | null): number {
  if (field === null) return writeVarint(bytes, position, -1);
  position = writeVarint(bytes, position, field.length);
  // A plain loop beats TypedArray.set's fixed cost for the short keys most records carry.
  if (field.length <= SHORT_COPY_BYTES) {
    for (let index = 0; index < field.length; index++) bytes[position + index] = field[index];
  } else {
    bytes.set(field, position);
  }
  return position + field.length;
}

/**
 * Kafka's RecordBatch v2 (magic 2), uncompressed, CreateTime: the unit the log
 * appends, stores, replicates and serves. gafka writes the same bytes Kafka
 * does, so a batch is checked against Kafka's own CRC-32C and can be read by
 * any Kafka client's decoder.
 */
import { assert } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { crc32c } from "./crc32c.ts";
import type { RecordHeader, RecordInput, StoredRecord } from "./record.ts";
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from "./varint.ts";

// Field positions within a batch (see the layout over encodeRecordBatch).
const BASE_OFFSET_POSITION = 0;
const BATCH_LENGTH_POSITION = 8;
const PARTITION_LEADER_EPOCH_POSITION = 12;
const MAGIC_POSITION = 16;
const CRC_POSITION = 17;
const ATTRIBUTES_POSITION = 21;
const LAST_OFFSET_DELTA_POSITION = 23;
const BASE_TIMESTAMP_POSITION = 27;
const MAX_TIMESTAMP_POSITION = 35;
const PRODUCER_ID_POSITION = 43;
const PRODUCER_EPOCH_POSITION = 51;
const BASE_SEQUENCE_POSITION = 53;
const RECORD_COUNT_POSITION = 57;

/** Bytes before the first record. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: batchLength counts the bytes after these 12. */
export const BATCH_OVERHEAD_BYTES = 12;

const MAGIC = 2;
/** Kafka's RecordBatch.NO_PARTITION_LEADER_EPOCH. */
const NO_PARTITION_LEADER_EPOCH = -1;
/** attributes bits 0-2: compression codec (0 = none). */
const COMPRESSION_MASK = 0x07;
/** attributes bit 3: timestamps are LogAppendTime (every record gets maxTimestamp). */
const LOG_APPEND_TIME_FLAG = 0x08;
const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;
const NO_SEQUENCE = -1;
const TWO_POW_32 = 2 ** 32;

export interface EncodeBatchOptions {
  baseOffset: number;
  /** Defaults to -1, Kafka's "no epoch known". */
  partitionLeaderEpoch?: number;
  records: RecordInput[];
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestampMs: number;
  maxTimestampMs: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/**
 * Encodes records as one RecordBatch v2. Integers are big-endian; "varint"
 * and "varlong" are zigzag varints (src/storage/varint.ts).
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
 * into a single allocation. Zero records is a bug and throws.
 */
export function encodeRecordBatch(options: EncodeBatchOptions): Uint8Array {
  const { baseOffset, records } = options;
  const partitionLeaderEpoch = options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH;
  const recordCount = records.length;
  assert(recordCount > 0, "a record batch needs at least one record");
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `baseOffset ${baseOffset}`);
  assert((partitionLeaderEpoch | 0) === partitionLeaderEpoch, `epoch ${partitionLeaderEpoch}`);

  const baseTimestampMs = records[0].timestampMs;
  let maxTimestampMs = baseTimestampMs;
  const bodySizes = new Int32Array(recordCount);
  let size = BATCH_HEADER_BYTES;
  for (let index = 0; index < recordCount; index++) {
    const record = records[index];
    const timestampMs = record.timestampMs;
    assert(Number.isSafeInteger(timestampMs), `record timestamp ${timestampMs}`);
    if (timestampMs > maxTimestampMs) maxTimestampMs = timestampMs;
    const bodySize = recordBodySize(record, timestampMs - baseTimestampMs, index);
    bodySizes[index] = bodySize;
    size += sizeOfVarint(bodySize) + bodySize;
  }
  assert(size - BATCH_OVERHEAD_BYTES <= 0x7fffffff, `batch of ${size} bytes`);

  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  writeInt64(view, BASE_OFFSET_POSITION, baseOffset);
  view.setInt32(BATCH_LENGTH_POSITION, size - BATCH_OVERHEAD_BYTES);
  view.setInt32(PARTITION_LEADER_EPOCH_POSITION, partitionLeaderEpoch);
  view.setInt8(MAGIC_POSITION, MAGIC);
  view.setInt16(ATTRIBUTES_POSITION, 0);
  view.setInt32(LAST_OFFSET_DELTA_POSITION, recordCount - 1);
  writeInt64(view, BASE_TIMESTAMP_POSITION, baseTimestampMs);
  writeInt64(view, MAX_TIMESTAMP_POSITION, maxTimestampMs);
  view.setBigInt64(PRODUCER_ID_POSITION, NO_PRODUCER_ID);
  view.setInt16(PRODUCER_EPOCH_POSITION, NO_PRODUCER_EPOCH);
  view.setInt32(BASE_SEQUENCE_POSITION, NO_SEQUENCE);
  view.setInt32(RECORD_COUNT_POSITION, recordCount);

  let position = BATCH_HEADER_BYTES;
  for (let index = 0; index < recordCount; index++) {
    const record = records[index];
    position = writeVarint(bytes, position, bodySizes[index]);
    const bodyEnd = position + bodySizes[index];
    bytes[position++] = 0; // record attributes: none defined
    position = writeVarlong(bytes, position, record.timestampMs - baseTimestampMs);
    position = writeVarint(bytes, position, index);
    position = writeBytesField(bytes, position, record.key);
    position = writeBytesField(bytes, position, record.value);
    const headers = record.headers;
    position = writeVarint(bytes, position, headers.length);
    for (let headerIndex = 0; headerIndex < headers.length; headerIndex++) {
      const header = headers[headerIndex];
      position = writeVarint(bytes, position, utf8Length(header.key));
      position = writeUtf8(bytes, position, header.key);
      position = writeBytesField(bytes, position, header.value);
    }
    assert(position === bodyEnd, `record ${index} wrote ${position} bytes, sized ${bodyEnd}`);
  }
  assert(position === size, `batch wrote ${position} bytes, sized ${size}`);

  view.setUint32(CRC_POSITION, crc32c(bytes, ATTRIBUTES_POSITION, size));
  return bytes;
}

/**
 * Reads the fixed 61-byte header of the batch at `position`, without checking
 * its CRC or magic. `bytes` must hold at least BATCH_HEADER_BYTES from there.
 */
export function readBatchHeader(bytes: Uint8Array, position = 0): BatchHeader {
  assert(
    position >= 0 && bytes.length - position >= BATCH_HEADER_BYTES,
    `batch header needs ${BATCH_HEADER_BYTES} bytes at ${position}, have ${bytes.length - position}`,
  );
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, BATCH_HEADER_BYTES);
  return {
    baseOffset: readInt64(view, BASE_OFFSET_POSITION),
    batchLength: view.getInt32(BATCH_LENGTH_POSITION),
    partitionLeaderEpoch: view.getInt32(PARTITION_LEADER_EPOCH_POSITION),
    magic: view.getInt8(MAGIC_POSITION),
    crc: view.getUint32(CRC_POSITION),
    attributes: view.getInt16(ATTRIBUTES_POSITION),
    lastOffsetDelta: view.getInt32(LAST_OFFSET_DELTA_POSITION),
    baseTimestampMs: readInt64(view, BASE_TIMESTAMP_POSITION),
    maxTimestampMs: readInt64(view, MAX_TIMESTAMP_POSITION),
    producerId: view.getBigInt64(PRODUCER_ID_POSITION),
    producerEpoch: view.getInt16(PRODUCER_EPOCH_POSITION),
    baseSequence: view.getInt32(BASE_SEQUENCE_POSITION),
    recordCount: view.getInt32(RECORD_COUNT_POSITION),
  };
}

/**
 * Whether `bytes` is exactly one batch (its length is BATCH_OVERHEAD_BYTES +
 * batchLength) whose stored CRC-32C matches its bytes from attributes to the
 * end. baseOffset, batchLength, partitionLeaderEpoch and magic are not covered.
 */
export function batchCrcMatches(bytes: Uint8Array): boolean {
  if (bytes.length < BATCH_HEADER_BYTES) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (BATCH_OVERHEAD_BYTES + view.getInt32(BATCH_LENGTH_POSITION) !== bytes.length) return false;
  return view.getUint32(CRC_POSITION) === crc32c(bytes, ATTRIBUTES_POSITION, bytes.length);
}

/**
 * Decodes exactly one batch: `bytes` must be BATCH_OVERHEAD_BYTES +
 * batchLength long. Checks magic == 2, the CRC-32C and the record framing, and
 * throws a GafkaError "log_corrupt" naming what is wrong; compressed batches
 * are refused the same way. Records get absolute offsets (baseOffset +
 * offsetDelta) and timestamps (baseTimestamp + timestampDelta, or
 * maxTimestamp under LogAppendTime).
 *
 * Keys, values and header values are subarray views of `bytes`, not copies:
 * they stay valid only while the caller leaves `bytes` unchanged.
 */
export function decodeRecordBatch(bytes: Uint8Array): { header: BatchHeader; records: StoredRecord[] } {
  if (bytes.length < BATCH_HEADER_BYTES) {
    throw corruptBatch(`is ${bytes.length} bytes, shorter than its ${BATCH_HEADER_BYTES}-byte header`);
  }
  const header = readBatchHeader(bytes);
  const at = `at offset ${header.baseOffset}`;
  if (header.magic !== MAGIC) {
    throw corruptBatch(`${at} has magic ${header.magic}, expected ${MAGIC}`);
  }
  const size = BATCH_OVERHEAD_BYTES + header.batchLength;
  if (size !== bytes.length) {
    throw corruptBatch(`${at} claims ${size} bytes but ${bytes.length} were given`);
  }
  const crc = crc32c(bytes, ATTRIBUTES_POSITION, size);
  if (crc !== header.crc) {
    throw corruptBatch(`${at} fails its CRC-32C: stored ${hex(header.crc)}, computed ${hex(crc)}`);
  }
  if ((header.attributes & COMPRESSION_MASK) !== 0) {
    throw corruptBatch(`${at} is compressed (attributes ${header.attributes}), which gafka does not read`);
  }
  // Every record takes at least one byte, which bounds the count before any allocation.
  if (header.recordCount < 0 || header.recordCount > size - BATCH_HEADER_BYTES) {
    throw corruptBatch(`${at} claims ${header.recordCount} records in ${size} bytes`);
  }
  try {
    return { header, records: decodeRecords(bytes, header) };
  } catch (error) {
    throw corruptBatch(`${at} has malformed records: ${(error as Error).message}`, error);
  }
}

/** Patches baseOffset in place; it is outside the CRC, which stays valid. */
export function setBaseOffset(bytes: Uint8Array, baseOffset: number): void {
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `baseOffset ${baseOffset}`);
  assert(bytes.length >= BATCH_HEADER_BYTES, `batch of ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, BATCH_HEADER_BYTES);
  writeInt64(view, BASE_OFFSET_POSITION, baseOffset);
}

/** Patches partitionLeaderEpoch in place; it is outside the CRC, which stays valid. */
export function setPartitionLeaderEpoch(bytes: Uint8Array, epoch: number): void {
  assert((epoch | 0) === epoch, `partitionLeaderEpoch ${epoch}`);
  assert(bytes.length >= BATCH_HEADER_BYTES, `batch of ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, BATCH_HEADER_BYTES);
  view.setInt32(PARTITION_LEADER_EPOCH_POSITION, epoch);
}

/** Record bytes after the length prefix. */
function recordBodySize(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  let size =
    1 +
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    sizeOfBytesField(record.key) +
    sizeOfBytesField(record.value);
  const headers = record.headers;
  size += sizeOfVarint(headers.length);
  for (let index = 0; index < headers.length; index++) {
    const keyBytes = utf8Length(headers[index].key);
    size += sizeOfVarint(keyBytes) + keyBytes + sizeOfBytesField(headers[index].value);
  }
  return size;
}

function decodeRecords(bytes: Uint8Array, header: BatchHeader): StoredRecord[] {
  const { baseOffset, baseTimestampMs, maxTimestampMs, recordCount } = header;
  const logAppendTime = (header.attributes & LOG_APPEND_TIME_FLAG) !== 0;
  const records: StoredRecord[] = new Array(recordCount);
  const cursor: Cursor = { position: BATCH_HEADER_BYTES };
  for (let index = 0; index < recordCount; index++) {
    const bodySize = readVarint(bytes, cursor);
    const bodyEnd = cursor.position + bodySize;
    if (bodySize < 1 || bodyEnd > bytes.length) {
      throw new Error(`record ${index} claims ${bodySize} bytes at position ${cursor.position}`);
    }
    cursor.position++; // record attributes: none defined
    const timestampDelta = readVarlong(bytes, cursor);
    const offsetDelta = readVarint(bytes, cursor);
    const key = readBytesField(bytes, cursor, bodyEnd);
    const value = readBytesField(bytes, cursor, bodyEnd);
    const headerCount = readVarint(bytes, cursor);
    if (headerCount < 0 || headerCount > bodyEnd - cursor.position) {
      throw new Error(`record ${index} claims ${headerCount} headers`);
    }
    const headers: RecordHeader[] = new Array(headerCount);
    for (let headerIndex = 0; headerIndex < headerCount; headerIndex++) {
      const keyBytes = readVarint(bytes, cursor);
      const keyStart = cursor.position;
      if (keyBytes < 0 || keyStart + keyBytes > bodyEnd) {
        throw new Error(`record ${index} header ${headerIndex} key claims ${keyBytes} bytes`);
      }
      cursor.position += keyBytes;
      const headerKey = utf8Decoder.decode(bytes.subarray(keyStart, cursor.position));
      headers[headerIndex] = { key: headerKey, value: readBytesField(bytes, cursor, bodyEnd) };
    }
    if (cursor.position !== bodyEnd) {
      throw new Error(`record ${index} ends at position ${cursor.position}, its length says ${bodyEnd}`);
    }
    records[index] = {
      offset: baseOffset + offsetDelta,
      timestampMs: logAppendTime ? maxTimestampMs : baseTimestampMs + timestampDelta,
      key,
      value,
      headers,
    };
  }
  if (cursor.position !== bytes.length) {
    throw new Error(`${bytes.length - cursor.position} bytes follow the last record`);
  }
  return records;
}

function sizeOfBytesField(field: Uint8Array | null): number {
  return field === null ? 1 : sizeOfVarint(field.length) + field.length;
}

/** A length-prefixed byte string; length -1 stands for null. */
function writeBytesField(bytes: Uint8Array, position: number, field: Uint8Array | null): number {
  if (field === null) return writeVarint(bytes, position, -1);
  position = writeVarint(bytes, position, field.length);
  bytes.set(field, position);
  return position + field.length;
}

function readBytesField(bytes: Uint8Array, cursor: Cursor, end: number): Uint8Array | null {
  const length = readVarint(bytes, cursor);
  if (length === -1) return null;
  const start = cursor.position;
  if (length < -1 || start + length > end) {
    throw new Error(`byte string at position ${start} claims ${length} bytes`);
  }
  cursor.position = start + length;
  return bytes.subarray(start, cursor.position);
}

const utf8Decoder = new TextDecoder();

/**
 * UTF-8 byte length of `text` as TextEncoder would write it (a lone surrogate
 * becomes U+FFFD, three bytes). Header keys are short, so scanning them beats
 * allocating an encoded copy just to learn its length.
 */
function utf8Length(text: string): number {
  let length = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      length += 1;
    } else if (isSurrogatePair(text, index, code)) {
      length += 2; // two UTF-16 units, four bytes
      index++;
    } else {
      length += 2;
    }
  }
  return length;
}

/** Writes `text` as UTF-8 at `position` (same bytes as TextEncoder); returns the next position. */
function writeUtf8(bytes: Uint8Array, position: number, text: string): number {
  for (let index = 0; index < text.length; index++) {
    let code = text.charCodeAt(index);
    if (code < 0x80) {
      bytes[position++] = code;
    } else if (code < 0x800) {
      bytes[position++] = 0xc0 | (code >> 6);
      bytes[position++] = 0x80 | (code & 0x3f);
    } else if (isSurrogatePair(text, index, code)) {
      code = 0x10000 + ((code - 0xd800) << 10) + (text.charCodeAt(++index) - 0xdc00);
      bytes[position++] = 0xf0 | (code >> 18);
      bytes[position++] = 0x80 | ((code >> 12) & 0x3f);
      bytes[position++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[position++] = 0x80 | (code & 0x3f);
    } else {
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // lone surrogate
      bytes[position++] = 0xe0 | (code >> 12);
      bytes[position++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[position++] = 0x80 | (code & 0x3f);
    }
  }
  return position;
}

function isSurrogatePair(text: string, index: number, code: number): boolean {
  if (code < 0xd800 || code > 0xdbff || index + 1 >= text.length) return false;
  const next = text.charCodeAt(index + 1);
  return next >= 0xdc00 && next <= 0xdfff;
}

/** Writes an int64 (a safe integer) big-endian, as two 32-bit halves. */
function writeInt64(view: DataView, position: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(position, high);
  view.setUint32(position + 4, value - high * TWO_POW_32);
}

/** Reads a big-endian int64; exact while it is a safe integer. */
function readInt64(view: DataView, position: number): number {
  return view.getInt32(position) * TWO_POW_32 + view.getUint32(position + 4);
}

function corruptBatch(message: string, cause?: unknown): GafkaError {
  return new GafkaError("log_corrupt", `record batch ${message}`, { cause });
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

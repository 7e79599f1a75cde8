/**
 * Kafka's RecordBatch v2 (magic 2), uncompressed, CreateTime: the unit the log
 * appends, stores, replicates and serves. gafka writes the same bytes Kafka
 * does, so a batch is checked against Kafka's own CRC-32C and can be read by
 * any Kafka client's decoder.
 */
import { AssertionError } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { crc32c } from "./crc32c.ts";
import type { RecordHeader, StoredRecord } from "./record.ts";
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
const NO_PRODUCER_ID = -1;
const NO_PRODUCER_EPOCH = -1;
const NO_SEQUENCE = -1;
const TWO_POW_32 = 2 ** 32;
/** Below these sizes a plain loop beats the fixed cost of the built-in (see readUtf8, writeBytesField). */
const SHORT_COPY_BYTES = 32;
const SHORT_STRING_BYTES = 32;

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

/**
 * Reads the fixed 61-byte header of the batch at `position`, without checking
 * its CRC or magic. `bytes` must hold at least BATCH_HEADER_BYTES from there.
 */
export function readBatchHeader(bytes: Uint8Array, position = 0): BatchHeader {
  if (position < 0 || bytes.length - position < BATCH_HEADER_BYTES) {
    const available = bytes.length - position;
    throw new AssertionError(`batch header needs ${BATCH_HEADER_BYTES} bytes at ${position}, have ${available}`);
  }
  return {
    baseOffset: readInt64(bytes, position + BASE_OFFSET_POSITION),
    batchLength: readInt32(bytes, position + BATCH_LENGTH_POSITION),
    partitionLeaderEpoch: readInt32(bytes, position + PARTITION_LEADER_EPOCH_POSITION),
    magic: (bytes[position + MAGIC_POSITION] << 24) >> 24,
    crc: readInt32(bytes, position + CRC_POSITION) >>> 0,
    attributes: readInt16(bytes, position + ATTRIBUTES_POSITION),
    lastOffsetDelta: readInt32(bytes, position + LAST_OFFSET_DELTA_POSITION),
    baseTimestampMs: readInt64(bytes, position + BASE_TIMESTAMP_POSITION),
    maxTimestampMs: readInt64(bytes, position + MAX_TIMESTAMP_POSITION),
    producerId: readBigInt64(bytes, position + PRODUCER_ID_POSITION),
    producerEpoch: readInt16(bytes, position + PRODUCER_EPOCH_POSITION),
    baseSequence: readInt32(bytes, position + BASE_SEQUENCE_POSITION),
    recordCount: readInt32(bytes, position + RECORD_COUNT_POSITION),
  };
}

/**
 * Whether `bytes` is exactly one batch (its length is BATCH_OVERHEAD_BYTES +
 * batchLength) whose stored CRC-32C matches its bytes from attributes to the
 * end. baseOffset, batchLength, partitionLeaderEpoch and magic are not covered.
 */
export function batchCrcMatches(bytes: Uint8Array): boolean {
  if (bytes.length < BATCH_HEADER_BYTES) return false;
  if (BATCH_OVERHEAD_BYTES + readInt32(bytes, BATCH_LENGTH_POSITION) !== bytes.length) return false;
  return readInt32(bytes, CRC_POSITION) >>> 0 === crc32c(bytes, ATTRIBUTES_POSITION, bytes.length);
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
export interface DecodeOptions {
  /**
   * The caller has just checked the segment frame's CRC32 over exactly these
   * bytes (src/storage/frame.ts). It covers every byte Kafka's CRC-32C covers
   * and more, so the CRC-32C is not computed again: on the read path it was
   * half the cost of serving a batch.
   */
  frameChecksumVerified?: boolean;
}

export function decodeRecordBatch(bytes: Uint8Array, options?: DecodeOptions): { header: BatchHeader; records: StoredRecord[] } {
  if (bytes.length < BATCH_HEADER_BYTES) {
    throw corruptBatch(`is ${bytes.length} bytes, shorter than its ${BATCH_HEADER_BYTES}-byte header`);
  }
  const header = readBatchHeader(bytes);
  const at = () => `at offset ${header.baseOffset}`; // built only when something is wrong
  if (header.magic !== MAGIC) {
    throw corruptBatch(`${at()} has magic ${header.magic}, expected ${MAGIC}`);
  }
  const size = BATCH_OVERHEAD_BYTES + header.batchLength;
  if (size !== bytes.length) {
    throw corruptBatch(`${at()} claims ${size} bytes but ${bytes.length} were given`);
  }
  if (options?.frameChecksumVerified !== true) {
    const crc = crc32c(bytes, ATTRIBUTES_POSITION, size);
    if (crc !== header.crc) {
      throw corruptBatch(`${at()} fails its CRC-32C: stored ${hex(header.crc)}, computed ${hex(crc)}`);
    }
  }
  if ((header.attributes & COMPRESSION_MASK) !== 0) {
    throw corruptBatch(`${at()} is compressed (attributes ${header.attributes}), which gafka does not read`);
  }
  // Every record takes at least one byte, which bounds the count before any allocation.
  if (header.recordCount < 0 || header.recordCount > size - BATCH_HEADER_BYTES) {
    throw corruptBatch(`${at()} claims ${header.recordCount} records in ${size} bytes`);
  }
  try {
    return { header, records: decodeRecords(bytes, header) };
  } catch (error) {
    throw corruptBatch(`${at()} has malformed records: ${(error as Error).message}`, error);
  }
}

/** Patches baseOffset in place; it is outside the CRC, which stays valid. */
export function setBaseOffset(bytes: Uint8Array, baseOffset: number): void {
  if (!isOffset(baseOffset)) throw new AssertionError(`baseOffset ${baseOffset}`);
  if (bytes.length < BATCH_HEADER_BYTES) throw new AssertionError(`batch of ${bytes.length} bytes`);
  writeInt64(bytes, BASE_OFFSET_POSITION, baseOffset);
}

/** Patches partitionLeaderEpoch in place; it is outside the CRC, which stays valid. */
export function setPartitionLeaderEpoch(bytes: Uint8Array, epoch: number): void {
  if (!isInt32(epoch)) throw new AssertionError(`partitionLeaderEpoch ${epoch}`);
  if (bytes.length < BATCH_HEADER_BYTES) throw new AssertionError(`batch of ${bytes.length} bytes`);
  writeInt32(bytes, PARTITION_LEADER_EPOCH_POSITION, epoch);
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
      const headerKey = readUtf8(bytes, keyStart, cursor.position);
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
const utf8Encoder = new TextEncoder();

/**
 * Decodes bytes[start, end) as UTF-8. Header keys are mostly short ASCII
 * ("content-type", "trace-id"), which a char-code loop builds about twice as
 * fast as TextDecoder; anything else goes to TextDecoder.
 */
function readUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > SHORT_STRING_BYTES) return utf8Decoder.decode(bytes.subarray(start, end));
  let text = "";
  for (let position = start; position < end; position++) {
    const code = bytes[position];
    if (code >= 0x80) return utf8Decoder.decode(bytes.subarray(start, end));
    text += String.fromCharCode(code);
  }
  return text;
}

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

// Big-endian integers, read and written byte by byte (see encodeRecordBatch for why not a DataView).

function writeInt16(bytes: Uint8Array, position: number, value: number): void {
  bytes[position] = value >> 8;
  bytes[position + 1] = value;
}

/** Also writes a uint32: a Uint8Array element keeps the low eight bits of what it is given. */
function writeInt32(bytes: Uint8Array, position: number, value: number): void {
  bytes[position] = value >>> 24;
  bytes[position + 1] = value >>> 16;
  bytes[position + 2] = value >>> 8;
  bytes[position + 3] = value;
}

/** Writes a safe integer as an int64, in two 32-bit halves. */
function writeInt64(bytes: Uint8Array, position: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  writeInt32(bytes, position, high);
  writeInt32(bytes, position + 4, value - high * TWO_POW_32);
}

function readInt16(bytes: Uint8Array, position: number): number {
  return ((bytes[position] << 24) | (bytes[position + 1] << 16)) >> 16;
}

function readInt32(bytes: Uint8Array, position: number): number {
  return (
    (bytes[position] << 24) | (bytes[position + 1] << 16) | (bytes[position + 2] << 8) | bytes[position + 3]
  );
}

/** Reads an int64 as a number; exact while it is a safe integer. */
function readInt64(bytes: Uint8Array, position: number): number {
  return readInt32(bytes, position) * TWO_POW_32 + (readInt32(bytes, position + 4) >>> 0);
}

/** Reads an int64 exactly, as a bigint. */
function readBigInt64(bytes: Uint8Array, position: number): bigint {
  const high = readInt32(bytes, position);
  const low = readInt32(bytes, position + 4) >>> 0;
  if (high === -1 && low === 0xffffffff) return -1n; // no producer id: skip the bigint arithmetic
  return (BigInt(high) << 32n) | BigInt(low);
}

function isOffset(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function isInt32(value: number): boolean {
  return (value | 0) === value;
}

function corruptBatch(message: string, cause?: unknown): GafkaError {
  return new GafkaError("log_corrupt", `record batch ${message}`, { cause });
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

/**
 * Checks record batches a client sent (binary produce, docs/api.md "Record
 * batches") before any of them reaches the log. A batch the log stores is
 * served, replicated and decoded later by every reader, so everything a
 * reader relies on is checked here, once, like Kafka's LogValidator: the
 * framing, the CRC-32C, the attributes gafka supports, offset deltas 0..n-1,
 * the record framing and sizes, header counts and keys (the JSON form's
 * limits), and maxTimestamp (the time index of offsetForTimestamp trusts it). Nothing is decoded into objects: one pass of
 * varint reads per record.
 */
import { GafkaError, invalidRequest } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { readBigInt64, readInt16, readInt32, readInt64, writeInt32 } from "../protocol/big-endian.ts";
import { crc32cFast } from "./crc32c-native.ts";
import { BATCH_HEADER_BYTES, BATCH_OVERHEAD_BYTES, setBaseOffset, setPartitionLeaderEpoch } from "../protocol/record-batch.ts";
import { FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";
import { type Cursor, readVarint, readVarlong } from "../protocol/varint.ts";

/** One checked batch: a view of the body, and what the log needs to know of it. */
export interface CheckedClientBatch {
  bytes: Uint8Array;
  recordCount: number;
  baseTimestampMs: number;
  /** The batch's maxTimestamp, checked against its records (the time index keeps it). */
  maxTimestampMs: number;
  /** Key + value bytes of its records (what the traffic metrics count). */
  payloadBytes: number;
  /** Index in the batch of its first record without a key (a compacted topic refuses it); -1 when every record has one. */
  firstKeylessRecord: number;
}

export interface BatchCheckLimits {
  /** Largest key + value + headers of one record (--max-message-bytes). */
  messageBytesMax: number;
  /** Most records one request may carry. */
  recordsMax: number;
}

/**
 * What kind of fault refused a batch (the error's `details.fault`), for a
 * door that answers in codes rather than messages (the Kafka door): bytes
 * damaged or mis-framed, a compression codec gafka does not take, a feature
 * it does not have (transactions, idempotence, log-append time), a record
 * breaking a rule, a timestamp out of range.
 */
export type BatchFault = "corrupt" | "compression" | "unsupported" | "invalid_record" | "invalid_timestamp";

const MAGIC = 2;
/** The attributes' low 3 bits: the compression codec (0 none). */
const COMPRESSION_BITS = 0x07;
const CRC_COVERED_FROM = 21;

/**
 * Splits `body` into its batches and checks each; throws a GafkaError
 * (400 invalid_request naming the batch, or 413 message_too_large naming the
 * record) at the first fault. The views returned share `body`'s bytes.
 */
export function checkClientBatches(body: Uint8Array, bounds: BatchCheckLimits): CheckedClientBatch[] {
  if (body.length === 0) throw invalidRequest("the request body holds no record batch");
  // Read byte by byte, not through a DataView: a DataView over the body would make the engine materialize its ArrayBuffer.
  const batches: CheckedClientBatch[] = [];
  let records = 0;
  let position = 0;
  while (position < body.length) {
    const index = batches.length;
    const fault = (reason: string, kind: BatchFault = "corrupt") =>
      invalidRequest(`record batch ${index} (at byte ${position} of the body) ${reason}`, { batch: index, fault: kind });
    if (body.length - position < BATCH_HEADER_BYTES) throw fault(`is ${body.length - position} bytes, shorter than a batch header (${BATCH_HEADER_BYTES})`);
    const batchLength = readInt32(body, position + 8);
    const size = BATCH_OVERHEAD_BYTES + batchLength;
    if (batchLength < BATCH_HEADER_BYTES - BATCH_OVERHEAD_BYTES || size > body.length - position) {
      throw fault(`claims a batchLength of ${batchLength}, but ${body.length - position - BATCH_OVERHEAD_BYTES} bytes follow it`);
    }
    const magic = (body[position + 16]! << 24) >> 24;
    if (magic !== MAGIC) throw fault(`has magic ${magic}; gafka takes RecordBatch v2 (magic 2) only`);
    const storedCrc = readInt32(body, position + 17) >>> 0;
    const computedCrc = crc32cFast(body, position + CRC_COVERED_FROM, position + size);
    if (storedCrc !== computedCrc) {
      throw fault(`fails its CRC-32C: it says ${hex(storedCrc)}, its bytes give ${hex(computedCrc)}`);
    }
    const attributes = readInt16(body, position + 21);
    if (attributes !== 0) {
      throw fault(
        `has attributes ${attributes}; gafka takes uncompressed, CreateTime, non-transactional data batches (attributes 0)`,
        (attributes & COMPRESSION_BITS) !== 0 ? "compression" : "unsupported",
      );
    }
    const lastOffsetDelta = readInt32(body, position + 23);
    const baseTimestampMs = readTimestamp(body, position + 27);
    const maxTimestampMs = readTimestamp(body, position + 35);
    if (baseTimestampMs === undefined || maxTimestampMs === undefined) throw fault("has a timestamp outside 0..2^53-1 ms", "invalid_timestamp");
    // Producer id -1 is a producer without idempotence, whose epoch and sequence mean nothing (Kafka ignores them;
    // kafkajs and @platformatic/kafka send 0 for both).
    if (readInt32(body, position + 43) !== -1 || readInt32(body, position + 47) !== -1) {
      const producerId = readBigInt64(body, position + 43);
      throw fault(`has producer id ${producerId}; gafka has no idempotent or transactional producer, so it must be -1`, "unsupported");
    }
    const recordCount = readInt32(body, position + 57);
    if (recordCount < 1 || recordCount > size - BATCH_HEADER_BYTES) throw fault(`claims ${recordCount} records in ${size} bytes`);
    if (lastOffsetDelta !== recordCount - 1) throw fault(`has lastOffsetDelta ${lastOffsetDelta} for ${recordCount} records`);
    records += recordCount;
    if (records > bounds.recordsMax) {
      throw invalidRequest(`a produce request may carry at most ${bounds.recordsMax} records`);
    }
    const bytes = body.subarray(position, position + size);
    const { largestDeltaMs, payloadBytes, firstKeylessRecord } = checkRecords(bytes, recordCount, baseTimestampMs, bounds.messageBytesMax, index, fault);
    if (baseTimestampMs + largestDeltaMs !== maxTimestampMs) {
      throw fault(`has maxTimestamp ${maxTimestampMs}, but its largest record timestamp is ${baseTimestampMs + largestDeltaMs}`, "invalid_record");
    }
    batches.push({ bytes, recordCount, baseTimestampMs, maxTimestampMs, payloadBytes, firstKeylessRecord });
    position += size;
  }
  return batches;
}

/**
 * Walks the records of one batch; returns the largest timestamp delta.
 * Every record must have attributes 0, offset delta = its index, a key and
 * value of -1 (null) or more bytes, headers with keys, and end exactly where
 * its length says; the batch must end with its last record. Returns the
 * largest timestamp delta and the key + value bytes of the batch.
 */
function checkRecords(
  bytes: Uint8Array,
  recordCount: number,
  baseTimestampMs: number,
  messageBytesMax: number,
  batchIndex: number,
  fault: (reason: string, kind?: BatchFault) => GafkaError,
): { largestDeltaMs: number; payloadBytes: number; firstKeylessRecord: number } {
  const cursor: Cursor = { position: BATCH_HEADER_BYTES };
  let largestDeltaMs = -Infinity;
  let batchPayloadBytes = 0;
  let firstKeylessRecord = -1;
  try {
    for (let index = 0; index < recordCount; index++) {
      const bodySize = readVarint(bytes, cursor);
      const bodyEnd = cursor.position + bodySize;
      if (bodySize < 1 || bodyEnd > bytes.length) throw new RecordFault(index, `claims ${bodySize} bytes`);
      if (bytes[cursor.position] !== 0) throw new RecordFault(index, `has attributes ${bytes[cursor.position]} (must be 0)`);
      cursor.position++;
      const timestampDeltaMs = readVarlong(bytes, cursor);
      if (!Number.isSafeInteger(baseTimestampMs + timestampDeltaMs) || baseTimestampMs + timestampDeltaMs < 0) {
        throw new RecordFault(index, `has a timestamp outside 0..2^53-1 ms`, "invalid_timestamp");
      }
      if (timestampDeltaMs > largestDeltaMs) largestDeltaMs = timestampDeltaMs;
      const offsetDelta = readVarint(bytes, cursor);
      if (offsetDelta !== index) throw new RecordFault(index, `has offset delta ${offsetDelta} (must be ${index})`);
      // A key length of -1 (varint 0x01) is a keyless record.
      if (firstKeylessRecord < 0 && bytes[cursor.position] === 0x01) firstKeylessRecord = index;
      let payloadBytes = skipBytesField(bytes, cursor, bodyEnd, index, "key");
      payloadBytes += skipBytesField(bytes, cursor, bodyEnd, index, "value");
      batchPayloadBytes += payloadBytes;
      const headerCount = readVarint(bytes, cursor);
      if (headerCount < 0 || headerCount > bodyEnd - cursor.position) throw new RecordFault(index, `claims ${headerCount} headers`);
      if (headerCount > limits.headersPerRecordMax) {
        throw new RecordFault(index, `has ${headerCount} headers; a record may carry at most ${limits.headersPerRecordMax}`);
      }
      for (let header = 0; header < headerCount; header++) {
        const keyBytes = readVarint(bytes, cursor);
        if (keyBytes < 0 || cursor.position + keyBytes > bodyEnd) throw new RecordFault(index, `header ${header} key claims ${keyBytes} bytes`);
        checkHeaderKey(bytes, cursor.position, keyBytes, index, header);
        cursor.position += keyBytes;
        payloadBytes += keyBytes + skipBytesField(bytes, cursor, bodyEnd, index, `header ${header} value`);
      }
      if (cursor.position !== bodyEnd) throw new RecordFault(index, `ends at byte ${cursor.position}, its length says ${bodyEnd}`);
      if (payloadBytes > messageBytesMax) {
        throw new GafkaError(
          "message_too_large",
          `record ${index} of record batch ${batchIndex} is ${payloadBytes} bytes (key + value + headers); the most a record may have is ${messageBytesMax}`,
          { details: { batch: batchIndex, record: index, size_bytes: payloadBytes, max_bytes: messageBytesMax } },
        );
      }
    }
  } catch (error) {
    if (error instanceof RecordFault) throw fault(`record ${error.record} ${error.message}`, error.kind);
    if (error instanceof GafkaError) throw error;
    // A varint running past the end or too long (src/protocol/varint.ts).
    throw fault(`has malformed records: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (cursor.position !== bytes.length) throw fault(`has ${bytes.length - cursor.position} bytes after its last record`);
  return { largestDeltaMs, payloadBytes: batchPayloadBytes, firstKeylessRecord };
}

/**
 * Header keys follow the JSON form's rule (src/core/limits.ts): 1 to
 * headerKeyLengthMax characters. A key of at most that many bytes has at
 * most that many characters, so only a longer one is decoded to count them.
 */
function checkHeaderKey(bytes: Uint8Array, start: number, keyBytes: number, record: number, header: number): void {
  const tooLong = keyBytes > limits.headerKeyLengthMax && utf8Decoder.decode(bytes.subarray(start, start + keyBytes)).length > limits.headerKeyLengthMax;
  if (keyBytes === 0 || tooLong) {
    throw new RecordFault(record, `header ${header} has a key of ${keyBytes} bytes; header keys are 1 to ${limits.headerKeyLengthMax} characters`);
  }
}

const utf8Decoder = new TextDecoder();

class RecordFault extends Error {
  constructor(
    readonly record: number,
    message: string,
    readonly kind: BatchFault = "invalid_record",
  ) {
    super(message);
  }
}

/** Length-prefixed bytes (-1: null); returns the bytes skipped. */
function skipBytesField(bytes: Uint8Array, cursor: Cursor, end: number, record: number, what: string): number {
  const length = readVarint(bytes, cursor);
  if (length === -1) return 0;
  if (length < -1 || cursor.position + length > end) throw new RecordFault(record, `${what} claims ${length} bytes`);
  cursor.position += length;
  return length;
}

/** An int64 timestamp in 0..2^53-1, else undefined; no bigint on the way. */
function readTimestamp(bytes: Uint8Array, position: number): number | undefined {
  const high = readInt32(bytes, position);
  // 2^53-1 is high 0x1fffff with any low half; a negative high is a negative value.
  if (high < 0 || high > 0x1fffff) return undefined;
  return readInt64(bytes, position);
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

/**
 * Frames a client's checked batches for the log in place: each batch is
 * given its offsets from `baseOffset` on and the leader epoch (both outside
 * the CRC-32C, which stays valid), and a frame header of its own (length,
 * CRC32 of the stamped batch). Returns the chunks to write, header then
 * batch for each, without copying a batch; `appended` is called with each
 * frame's offsets, bytes and maxTimestamp, in order.
 */
export function frameClientBatches(
  batches: readonly CheckedClientBatch[],
  baseOffset: number,
  partitionLeaderEpoch: number,
  appended: (baseOffset: number, nextOffset: number, frameBytes: number, maxTimestampMs: number) => void,
): Uint8Array[] {
  // One header buffer per batch, not views into a shared one: a view of a fresh small array makes the engine move it out of its heap (a copy).
  const chunks: Uint8Array[] = [];
  let nextOffset = baseOffset;
  for (let index = 0; index < batches.length; index++) {
    const batch = batches[index]!;
    const stored = batch.bytes;
    setBaseOffset(stored, nextOffset);
    setPartitionLeaderEpoch(stored, partitionLeaderEpoch);
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    writeInt32(header, 0, stored.length);
    writeInt32(header, 4, frameChecksum(stored));
    chunks.push(header, stored);
    appended(nextOffset, nextOffset + batch.recordCount, FRAME_HEADER_BYTES + stored.length, batch.maxTimestampMs);
    nextOffset += batch.recordCount;
  }
  return chunks;
}

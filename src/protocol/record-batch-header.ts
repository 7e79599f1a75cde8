import { AssertionError } from "../core/assert.ts";
import { readBigInt64, readInt16, readInt32, readInt64, writeInt32, writeInt64 } from "./big-endian.ts";
import { crc32c } from "./crc32c.ts";

// The fixed 61-byte header of a RecordBatch v2 (the layout is over encodeRecordBatch,
// src/protocol/record-batch-encoder.ts): its field positions, reading it, checking the
// CRC-32C, and patching the fields the CRC does not cover.

// Field positions within a batch (see the layout over encodeRecordBatch).
export const BASE_OFFSET_POSITION = 0;
export const BATCH_LENGTH_POSITION = 8;
export const PARTITION_LEADER_EPOCH_POSITION = 12;
export const MAGIC_POSITION = 16;
export const CRC_POSITION = 17;
export const ATTRIBUTES_POSITION = 21;
export const LAST_OFFSET_DELTA_POSITION = 23;
export const BASE_TIMESTAMP_POSITION = 27;
export const MAX_TIMESTAMP_POSITION = 35;
export const PRODUCER_ID_POSITION = 43;
export const PRODUCER_EPOCH_POSITION = 51;
export const BASE_SEQUENCE_POSITION = 53;
export const RECORD_COUNT_POSITION = 57;

/** Bytes before the first record. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: batchLength counts the bytes after these 12. */
export const BATCH_OVERHEAD_BYTES = 12;

export const MAGIC = 2;
/** Kafka's RecordBatch.NO_PARTITION_LEADER_EPOCH. */
export const NO_PARTITION_LEADER_EPOCH = -1;
/** attributes bits 0-2: compression codec (0 = none). */
export const COMPRESSION_MASK = 0x07;
/** attributes bit 3: timestamps are LogAppendTime (every record gets maxTimestamp). */
export const LOG_APPEND_TIME_FLAG = 0x08;
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

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

export function isOffset(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export function isInt32(value: number): boolean {
  return (value | 0) === value;
}

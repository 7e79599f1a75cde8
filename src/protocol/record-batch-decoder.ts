import { GafkaError } from "../core/errors.ts";
import { crc32c } from "./crc32c.ts";
import type { RecordHeader, StoredRecord } from "./record.ts";
import {
  ATTRIBUTES_POSITION,
  BATCH_HEADER_BYTES,
  BATCH_OVERHEAD_BYTES,
  type BatchHeader,
  COMPRESSION_MASK,
  LOG_APPEND_TIME_FLAG,
  MAGIC,
  readBatchHeader,
} from "./record-batch-header.ts";
import { readUtf8 } from "./utf8.ts";
import { type Cursor, readVarint, readVarlong } from "./varint.ts";

export interface DecodeOptions {
  /**
   * The caller has just checked the segment frame's CRC32 over exactly these
   * bytes (src/storage/frame.ts). It covers every byte Kafka's CRC-32C covers
   * and more, so the CRC-32C is not computed again: on the read path it was
   * half the cost of serving a batch.
   */
  frameChecksumVerified?: boolean;
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

function corruptBatch(message: string, cause?: unknown): GafkaError {
  return new GafkaError("log_corrupt", `record batch ${message}`, { cause });
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

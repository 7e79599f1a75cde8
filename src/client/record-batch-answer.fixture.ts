/**
 * Test helpers: binary consume answers built as docs/api.md "Binary consume"
 * lays them out, and the JSON answer a broker gives for the same records, so
 * that a test can hand a consumer either and compare what comes out.
 */
import { encodeRecordBatch } from "../protocol/record-batch.ts";
import type { RecordInput, StoredRecord } from "../protocol/record.ts";
import { RECORD_BATCH_MEDIA_TYPE, type WireChunk, type WireConsumedRecord, type WireHeaders } from "./wire.ts";
import { concatBytes } from "../../test/helpers/bytes.ts";

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

export const utf8 = (text: string): Uint8Array => utf8Encoder.encode(text);

/** A chunk's bytes: batches (already encoded) back to back. */
export interface ChunkBytes {
  topic: string;
  partition: number;
  /** First and next offset delivered. */
  offset: number;
  nextOffset: number;
  batches: Uint8Array[];
}

/** `[4 bytes big-endian N][N bytes JSON header][chunk bytes...]`; the header gets `chunks` from `chunks`. */
export function batchAnswerBytes(header: Record<string, unknown>, chunks: ChunkBytes[]): Uint8Array {
  const wireChunks: WireChunk[] = chunks.map((chunk) => ({
    topic: chunk.topic,
    partition: chunk.partition,
    offset: chunk.offset,
    next_offset: chunk.nextOffset,
    bytes: chunk.batches.reduce((sum, batch) => sum + batch.length, 0),
  }));
  const json = utf8(JSON.stringify({ ...header, chunks: wireChunks }));
  const parts = [new Uint8Array(4), json, ...chunks.flatMap((chunk) => chunk.batches)];
  new DataView(parts[0]!.buffer).setUint32(0, json.length);
  return concatBytes(...parts);
}

export function batchResponse(bytes: Uint8Array): Response {
  return new Response(bytes, { headers: { "content-type": RECORD_BATCH_MEDIA_TYPE } });
}

/** Records stored from `baseOffset` on, as a log would hold them, in one batch. */
export function storedBatch(baseOffset: number, records: RecordInput[]): { bytes: Uint8Array; stored: StoredRecord[] } {
  return {
    bytes: encodeRecordBatch({ baseOffset, partitionLeaderEpoch: 3, records }),
    stored: records.map((record, index) => ({ ...record, offset: baseOffset + index })),
  };
}

/** A stored record in the JSON consume form (value_encoding utf8 or base64), as the broker writes it. */
export function jsonRecord(record: StoredRecord, partition: number, encoding: "utf8" | "base64"): WireConsumedRecord {
  const text = (bytes: Uint8Array | null) =>
    bytes === null ? null : encoding === "base64" ? Buffer.from(bytes).toString("base64") : utf8Decoder.decode(bytes);
  const keys = record.headers.map((header) => header.key);
  const repeated = new Set(keys).size !== keys.length;
  const headers: WireHeaders = repeated
    ? record.headers.map((header) => ({ key: header.key, value: text(header.value) }))
    : Object.fromEntries(record.headers.map((header) => [header.key, text(header.value)]));
  return { partition, offset: record.offset, key: text(record.key), value: text(record.value), headers, timestamp: record.timestampMs };
}

import { BATCH_OVERHEAD_BYTES, decodeRecordBatch } from "../protocol/record-batch.ts";
import type { RecordHeader, StoredRecord } from "../protocol/record.ts";
import { GafkaClientError } from "./client-error.ts";
import type { ConsumerRecord, Decoded, ValueEncoding } from "./consumer.ts";
import type { WireBatchHeader, WireChunk } from "./wire.ts";

/** The big-endian uint32 in front of the JSON header. */
const HEADER_LENGTH_BYTES = 4;
/** Where a RecordBatch v2 keeps its batchLength (src/protocol/record-batch.ts). */
const BATCH_LENGTH_POSITION = 8;

const utf8Decoder = new TextDecoder();

export interface DecodedBatchAnswer<Answer, V> {
  /** The JSON answer's fields other than `records`, plus `chunks`. */
  header: WireBatchHeader<Answer>;
  /** The records delivered, in the order of the chunks, as the JSON path hands them out. */
  records: ConsumerRecord<V>[];
}

/**
 * Reads a binary consume answer (docs/api.md "Binary consume"):
 *
 * ```
 * [4 bytes, big-endian: N] [N bytes: JSON header] [chunk 0's bytes] [chunk 1's bytes] ...
 * ```
 *
 * where the header's `chunks` say, in order, whose bytes follow and how many:
 * whole RecordBatch v2, back to back. Each batch's CRC-32C is checked as it
 * is decoded. A chunk's first batch may start before its `offset` and its
 * last run past its `next_offset`; only the records in between are
 * delivered, so the answer means what the JSON one means. Keys, values and
 * header values become UTF-8 strings (TextDecoder's, as the broker's JSON
 * does), or copies of their bytes for the `binary` encoding. Anything that
 * does not add up is an `invalid_response`.
 */
export function decodeBatchAnswer<Answer, E extends ValueEncoding>(
  body: Uint8Array,
  encoding: ValueEncoding,
): DecodedBatchAnswer<Answer, Decoded<E>> {
  const header = readHeader<Answer>(body);
  const data = (encoding === "binary" ? copyBytes : utf8Text) as (bytes: Uint8Array | null) => Decoded<E> | null;
  const records: ConsumerRecord<Decoded<E>>[] = [];
  let position = HEADER_LENGTH_BYTES + readUint32(body, 0);
  for (const chunk of header.chunks) {
    checkChunk(chunk);
    const chunkEnd = position + chunk.bytes;
    if (chunkEnd > body.length) throw malformed(`chunk ${chunkName(chunk)} claims ${chunk.bytes} bytes, ${body.length - position} are left`);
    while (position < chunkEnd) {
      if (chunkEnd - position < BATCH_OVERHEAD_BYTES) throw malformed(`chunk ${chunkName(chunk)} ends inside a batch header`);
      const batchEnd = position + BATCH_OVERHEAD_BYTES + readUint32(body, position + BATCH_LENGTH_POSITION);
      if (batchEnd > chunkEnd) throw malformed(`a batch of chunk ${chunkName(chunk)} runs past the chunk's end`);
      let stored: StoredRecord[];
      try {
        stored = decodeRecordBatch(body.subarray(position, batchEnd)).records;
      } catch (error) {
        throw malformed(`chunk ${chunkName(chunk)}: ${(error as Error).message}`, error);
      }
      for (let index = 0; index < stored.length; index++) {
        const record = stored[index]!;
        if (record.offset < chunk.offset || record.offset >= chunk.next_offset) continue;
        records.push({
          topic: chunk.topic,
          partition: chunk.partition,
          offset: record.offset,
          timestamp: record.timestampMs,
          key: data(record.key),
          value: data(record.value),
          headers: decodedHeaders(record.headers, data),
        });
      }
      position = batchEnd;
    }
  }
  if (position !== body.length) throw malformed(`${body.length - position} bytes follow the last chunk`);
  return { header, records };
}

function readHeader<Answer>(body: Uint8Array): WireBatchHeader<Answer> {
  if (body.length < HEADER_LENGTH_BYTES) throw malformed(`the answer is ${body.length} bytes, shorter than its header length`);
  const headerEnd = HEADER_LENGTH_BYTES + readUint32(body, 0);
  if (headerEnd > body.length) throw malformed(`the header claims ${headerEnd - HEADER_LENGTH_BYTES} bytes, the answer has ${body.length}`);
  let header: unknown;
  try {
    header = JSON.parse(utf8Decoder.decode(body.subarray(HEADER_LENGTH_BYTES, headerEnd)));
  } catch (error) {
    throw malformed("the header is not JSON", error);
  }
  if (typeof header !== "object" || header === null || !Array.isArray((header as { chunks?: unknown }).chunks)) {
    throw malformed("the header has no list of chunks");
  }
  return header as WireBatchHeader<Answer>;
}

function checkChunk(chunk: WireChunk): void {
  const counts = [chunk.partition, chunk.offset, chunk.next_offset, chunk.bytes];
  if (typeof chunk.topic !== "string" || !counts.every((count) => Number.isSafeInteger(count) && count >= 0)) {
    throw malformed(`a chunk is not {topic, partition, offset, next_offset, bytes}: ${JSON.stringify(chunk)}`);
  }
}

/** The decoder made this list for this record alone, so its entries are replaced in place. */
function decodedHeaders<V>(headers: RecordHeader[], data: (bytes: Uint8Array | null) => V | null): { key: string; value: V | null }[] {
  const decoded = headers as unknown as { key: string; value: V | null }[];
  for (let index = 0; index < headers.length; index++) {
    const header = headers[index]!;
    decoded[index] = { key: header.key, value: data(header.value) };
  }
  return decoded;
}

function utf8Text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : utf8Decoder.decode(bytes);
}

/** A copy, so a record handed out does not hold the whole answer in memory. */
function copyBytes(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : bytes.slice();
}

function readUint32(bytes: Uint8Array, position: number): number {
  return ((bytes[position]! << 24) | (bytes[position + 1]! << 16) | (bytes[position + 2]! << 8) | bytes[position + 3]!) >>> 0;
}

function chunkName(chunk: WireChunk): string {
  return `${chunk.topic}/${chunk.partition}`;
}

function malformed(message: string, cause?: unknown): GafkaClientError {
  return new GafkaClientError("invalid_response", `broker's record-batch answer is malformed: ${message}`, { cause });
}

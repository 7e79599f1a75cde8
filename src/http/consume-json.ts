import type { RecordHeader, StoredRecord } from "../protocol/record.ts";
import { JsonBytesWriter } from "./json-bytes.ts";
import { encodeHeaders, encodeStoredRecord, type Encoding } from "./record-json.ts";

/**
 * A consume answer (docs/api.md) as JSON bytes, written record by record
 * with no object per record: the same text, byte for byte, as
 * JSON.stringify of the object form built from encodeStoredRecord
 * (src/http/record-json.ts, and src/http/consume-json.test.ts checks it).
 *
 * Partition form: {"topic", "partition", "records": [...], "next_offset", "high_watermark"}
 * Group form:     {<membership fields>..., "records": [...]} with "topic" first in each record.
 */

/**
 * Answers of fewer records are built as objects and given to Response.json:
 * below this the byte writer's fixed cost per answer outweighs what it saves
 * per record (bench/record-json.bench.ts: even at 100 records, ahead at 10,000).
 */
const BYTES_WRITER_RECORDS_MIN = 64;
/** Bytes per record beyond its key and value: names, numbers, punctuation. */
const RECORD_OVERHEAD_BYTES = 128;
/** Largest buffer kept from one answer to the next. */
const REUSED_BUFFER_BYTES_MAX = 32 * 1024 * 1024;
const encoder = new TextEncoder();
const JSON_CONTENT_TYPE = { "content-type": "application/json;charset=utf-8" };

/** The answer of GET /api/v1/consume?topic&partition. */
export function partitionConsumeResponse(
  topic: string,
  partition: number,
  records: readonly StoredRecord[],
  encoding: Encoding,
  nextOffset: number,
  highWatermark: number,
): Response {
  if (records.length < BYTES_WRITER_RECORDS_MIN) {
    const json = records.map((record) => encodeStoredRecord(record, partition, encoding));
    return Response.json({ topic, partition, records: json, next_offset: nextOffset, high_watermark: highWatermark });
  }
  const writer = writerFor(records, topic.length);
  writer.ascii('{"topic":');
  writer.value(topic);
  writer.ascii(`,"partition":${partition},"records":[`);
  const recordStart = encoder.encode(`{"partition":${partition},"offset":`);
  for (let i = 0; i < records.length; i++) {
    if (i > 0) writer.ascii(",");
    writer.raw(recordStart);
    writeRecordRest(writer, records[i]!, encoding);
  }
  writer.ascii(`],"next_offset":${nextOffset},"high_watermark":${highWatermark}}`);
  return respond(writer);
}

/** A record read through a consumer group names its topic and partition. */
export interface GroupConsumeRecord extends StoredRecord {
  topic: string;
  partition: number;
}

/** The answer of a group consume: `membership`'s fields (an object of small values), then the records. */
export function groupConsumeResponse(membership: object, records: readonly GroupConsumeRecord[], encoding: Encoding): Response {
  if (records.length < BYTES_WRITER_RECORDS_MIN) {
    const json = records.map((record) => ({ topic: record.topic, ...encodeStoredRecord(record, record.partition, encoding) }));
    return Response.json({ ...membership, records: json });
  }
  const writer = writerFor(records, 32);
  const head = JSON.stringify(membership);
  writer.json(head.slice(0, -1)); // without its closing brace: the records follow
  writer.ascii(head === "{}" ? '"records":[' : ',"records":[');
  // One answer holds records of a few partitions, in runs: each run's opening is rendered once.
  let startTopic: string | undefined;
  let startPartition = -1;
  let recordStart = new Uint8Array(0);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.topic !== startTopic || record.partition !== startPartition) {
      startTopic = record.topic;
      startPartition = record.partition;
      recordStart = encoder.encode(`{"topic":${JSON.stringify(startTopic)},"partition":${startPartition},"offset":`);
    }
    if (i > 0) writer.ascii(",");
    writer.raw(recordStart);
    writeRecordRest(writer, record, encoding);
  }
  writer.ascii("]}");
  return respond(writer);
}

/** A record from its offset on: `N,"key":…,"value":…,"headers":…,"timestamp":N}`. */
function writeRecordRest(writer: JsonBytesWriter, record: StoredRecord, encoding: Encoding): void {
  writer.integer(record.offset);
  writer.ascii(',"key":');
  writeBytes(writer, record.key, encoding);
  writer.ascii(',"value":');
  writeBytes(writer, record.value, encoding);
  writer.ascii(',"headers":');
  writeHeaders(writer, record.headers, encoding);
  writer.ascii(',"timestamp":');
  writer.integer(record.timestampMs);
  writer.ascii("}");
}

function writeBytes(writer: JsonBytesWriter, bytes: Uint8Array | null, encoding: Encoding): void {
  if (bytes === null) writer.ascii("null");
  else if (encoding === "utf8") writer.utf8String(bytes);
  else writer.base64String(bytes);
}

function writeHeaders(writer: JsonBytesWriter, headers: RecordHeader[], encoding: Encoding): void {
  if (headers.length === 0) writer.ascii("{}");
  else writer.value(encodeHeaders(headers, encoding));
}

/**
 * One buffer serves every answer in turn: an answer is written in one
 * synchronous run and `new Response` copies its body (checked by
 * consume-json.test.ts), so the buffer is free again once the Response
 * exists. Reusing it spares the page faults of 10 MB of fresh memory per
 * answer. Only the module holds it, and only up to REUSED_BUFFER_BYTES_MAX.
 */
let reusable: Uint8Array = new Uint8Array(0);

function writerFor(records: readonly StoredRecord[], extraBytes: number): JsonBytesWriter {
  const capacity = capacityOf(records, extraBytes);
  if (capacity > REUSED_BUFFER_BYTES_MAX) return new JsonBytesWriter(new Uint8Array(capacity));
  if (reusable.length < capacity) reusable = new Uint8Array(Math.min(REUSED_BUFFER_BYTES_MAX, Math.max(capacity, reusable.length * 2)));
  return new JsonBytesWriter(reusable);
}

function respond(writer: JsonBytesWriter): Response {
  const response = new Response(writer.finish(), { headers: JSON_CONTENT_TYPE });
  const buffer = writer.buffer;
  if (buffer.length > reusable.length && buffer.length <= REUSED_BUFFER_BYTES_MAX) reusable = buffer;
  return response;
}

/** A first guess at the answer's size, so the buffer seldom grows: key and value bytes plus a fixed part per record. */
function capacityOf(records: readonly StoredRecord[], extraBytes: number): number {
  let bytes = 256 + extraBytes;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    bytes += RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  }
  return bytes;
}

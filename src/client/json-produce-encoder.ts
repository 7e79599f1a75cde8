import { GafkaClientError } from "./client-error.ts";
import type { HttpClient } from "./http-client.ts";
import type { ProduceEncoder, ProduceTarget } from "./produce-encoder.ts";
import { checkRecordTypes, headerEntries, type ProducerRecord, type RecordMetadata } from "./producer-record.ts";
import { asBytes, toBase64, type WireProduceBatchAnswer, type WireProduceRecord } from "./wire.ts";

/** Rough JSON overhead of one record's field names and punctuation. */
const RECORD_OVERHEAD_BYTES = 64;

/**
 * The JSON batch form of `POST /api/v1/produce` (`{"topic", "records": [...]}`,
 * docs/api.md "Produce"): what the SDK spoke before record batches, and what
 * it falls back to when a broker refuses them.
 */
export const jsonProduceEncoder: ProduceEncoder<WireProduceRecord> = {
  prepare: wireRecord,

  sizeBytes(wire) {
    let bytes = RECORD_OVERHEAD_BYTES + (wire.value?.length ?? 0) + (wire.key?.length ?? 0);
    if (wire.headers !== undefined) bytes += JSON.stringify(wire.headers).length;
    return bytes;
  },

  async send(http: HttpClient, target: ProduceTarget, items: WireProduceRecord[]): Promise<RecordMetadata[]> {
    const answer = await http.request<WireProduceBatchAnswer>("POST", "/api/v1/produce", {
      body: { topic: target.topic, records: items, ...(target.acks === 1 ? {} : { acks: target.acks }) },
      // At-least-once: a batch whose answer was lost is sent again and may be appended twice.
      resendAfterLostAnswer: true,
    });
    if (!Array.isArray(answer.results) || answer.results.length !== items.length) {
      throw new GafkaClientError(
        "invalid_response",
        `broker answered ${answer.results?.length ?? "no"} results for a batch of ${items.length} records`,
      );
    }
    return answer.results.map((result) => ({ topic: target.topic, partition: result.partition, offset: result.offset, timestamp: result.timestamp }));
  },
};

/**
 * The record in its wire form. The broker reads the value and the header
 * values in one encoding, so when any of them is bytes, all of them travel
 * as base64.
 */
function wireRecord(record: ProducerRecord, partition: number): WireProduceRecord {
  checkRecordTypes(record);
  const headers = headerEntries(record.headers);
  const binary = record.value instanceof Uint8Array || headers.some((header) => header.value instanceof Uint8Array);
  const encode = (data: string | Uint8Array | null | undefined) =>
    data === null || data === undefined ? null : binary ? toBase64(asBytes(data)) : (data as string);
  const wire: WireProduceRecord = { partition, value: encode(record.value) };
  if (binary) wire.value_encoding = "base64";
  if (typeof record.key === "string") wire.key = record.key;
  else if (record.key instanceof Uint8Array) {
    wire.key = toBase64(record.key);
    wire.key_encoding = "base64";
  }
  if (record.headers !== undefined) wire.headers = headers.map(({ key, value }) => ({ key, value: encode(value) }));
  if (record.timestamp !== undefined) wire.timestamp = record.timestamp;
  return wire;
}

import { limits } from "../core/limits.ts";
import { type EncodableRecord, encodeRecordBatch } from "../protocol/record-batch.ts";
import type { RecordHeader } from "../protocol/record.ts";
import { GafkaClientError } from "./client-error.ts";
import type { HttpClient } from "./http-client.ts";
import type { ProduceEncoder, ProduceTarget } from "./produce-encoder.ts";
import { checkRecordTypes, headerEntries, type ProducerRecord, type RecordMetadata } from "./producer-record.ts";
import { asBytes, RECORD_BATCH_MEDIA_TYPE, type WireRecordBatchProduceAnswer } from "./wire.ts";

/** Length prefixes, attributes and deltas of one record in a batch, at most (varints of small numbers). */
const RECORD_OVERHEAD_BYTES = 24;
/** Kafka's "no epoch known": the broker stamps its own. */
const NO_PARTITION_LEADER_EPOCH = -1;
const NO_HEADERS: RecordHeader[] = [];

/**
 * The binary form of `POST /api/v1/produce` (docs/api.md "Binary produce"):
 * a partition's queued records as one RecordBatch v2, uncompressed,
 * CreateTime, without producer id, epoch or sequence, encoded by the same
 * codec the broker's log uses. The broker assigns the offsets (baseOffset 0
 * here is ignored) and answers with the first and last, so record i got
 * base_offset + i.
 *
 * A record without a timestamp gets `nowMs()` when it is sent, as Kafka's
 * producers stamp CreateTime.
 */
export function batchProduceEncoder(nowMs: () => number = Date.now): ProduceEncoder<EncodableRecord> {
  return {
    prepare: (record) => recordInput(record, nowMs),

    sizeBytes(input) {
      let bytes = RECORD_OVERHEAD_BYTES + byteLength(input.key) + byteLength(input.value);
      for (const header of input.headers) bytes += header.key.length + (header.value?.length ?? 0) + 2;
      return bytes;
    },

    async send(http: HttpClient, target: ProduceTarget, items: EncodableRecord[]): Promise<RecordMetadata[]> {
      const body = encodeRecordBatch({ baseOffset: 0, partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH, records: items });
      const answer = await http.request<WireRecordBatchProduceAnswer>("POST", "/api/v1/produce", {
        query: { topic: target.topic, partition: target.partition, acks: target.acks },
        bytes: body,
        contentType: RECORD_BATCH_MEDIA_TYPE,
        // At-least-once: a batch whose answer was lost is sent again and may be appended twice.
        resendAfterLostAnswer: true,
      });
      return metadataOf(target, items, answer);
    },
  };
}

/** Record i landed at base_offset + i; under acks=0 the broker answers -1 for both and so does every record. */
function metadataOf(target: ProduceTarget, items: EncodableRecord[], answer: WireRecordBatchProduceAnswer): RecordMetadata[] {
  const baseOffset = answer.base_offset;
  const acknowledgedWithoutOffsets = baseOffset === -1 && answer.last_offset === -1;
  if (!acknowledgedWithoutOffsets && !(Number.isSafeInteger(baseOffset) && baseOffset >= 0 && answer.last_offset - baseOffset + 1 === items.length)) {
    throw new GafkaClientError(
      "invalid_response",
      `broker answered offsets ${answer.base_offset}..${answer.last_offset} for a batch of ${items.length} records`,
    );
  }
  const metadata = new Array<RecordMetadata>(items.length);
  for (let index = 0; index < items.length; index++) {
    const offset = acknowledgedWithoutOffsets ? -1 : baseOffset + index;
    metadata[index] = { topic: target.topic, partition: target.partition, offset, timestamp: items[index]!.timestampMs };
  }
  return metadata;
}

/**
 * The record as the codec takes it (keys and values as given, strings or bytes). The
 * broker checks only sizes and framing of a binary batch, so the rules its
 * JSON form enforces on headers and timestamps are checked here, with the
 * same limits, rather than left to a broker that would store them.
 */
function recordInput(record: ProducerRecord, nowMs: () => number): EncodableRecord {
  checkRecordTypes(record);
  const timestampMs = record.timestamp ?? nowMs();
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
    throw new GafkaClientError("invalid_request", `a record's timestamp must be milliseconds since the epoch (a non-negative integer), not ${timestampMs}`);
  }
  return {
    // Strings stay strings: the codec writes their UTF-8 straight into the batch.
    key: record.key === undefined || record.key === null ? null : record.key,
    value: record.value,
    headers: record.headers === undefined ? NO_HEADERS : headerInputs(record.headers),
    timestampMs,
  };
}

function headerInputs(headers: NonNullable<ProducerRecord["headers"]>): RecordHeader[] {
  const entries = headerEntries(headers);
  if (entries.length > limits.headersPerRecordMax) {
    throw new GafkaClientError("invalid_request", `a record may carry at most ${limits.headersPerRecordMax} headers`);
  }
  return entries.map(({ key, value }) => {
    if (key.length === 0 || key.length > limits.headerKeyLengthMax) {
      throw new GafkaClientError("invalid_request", `header keys must be strings of 1 to ${limits.headerKeyLengthMax} characters`);
    }
    return { key, value: value === null || value === undefined ? null : asBytes(value) };
  });
}

/** Bytes a key or value takes on the wire (a string's UTF-8 length, counted natively). */
function byteLength(field: string | Uint8Array | null): number {
  if (field === null) return 0;
  return typeof field === "string" ? Buffer.byteLength(field, "utf8") : field.length;
}

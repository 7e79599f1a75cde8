/**
 * Produce, Fetch and ListOffsets requests by hand (gafka's codec over a raw
 * socket), for the Kafka door's data-path tests: what a client sends, with
 * nothing of a client's own between the test and the bytes.
 */
import { decodeResponse, encodeRequest } from "../../src/kafka/protocol/codec.ts";
import { FETCH } from "../../src/kafka/protocol/messages/fetch.ts";
import { LIST_OFFSETS } from "../../src/kafka/protocol/messages/list-offsets.ts";
import { PRODUCE } from "../../src/kafka/protocol/messages/produce.ts";
import type { MessageDescription } from "../../src/kafka/protocol/types.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../../src/protocol/record-batch.ts";
import type { StoredRecord } from "../../src/protocol/record.ts";
import { framed, type RawKafkaSocket } from "./kafka-socket.ts";

const utf8 = new TextEncoder();
let correlation = 100;

/** One request's bytes, size prefix included. */
export function request(description: MessageDescription, version: number, body: Record<string, unknown>, correlationId = ++correlation): Uint8Array {
  return framed(encodeRequest(description, { requestApiKey: description.apiKey!, requestApiVersion: version, correlationId, clientId: "raw-test" }, body));
}

/** A RecordBatch v2 of string values (and keys), stamped now. */
export function batchOf(values: string[], keys?: (string | null)[]): Uint8Array {
  const timestampMs = Date.now();
  return encodeRecordBatch({
    baseOffset: 0,
    records: values.map((value, index) => ({ key: keys?.[index] == null ? null : utf8.encode(keys[index]!), value: utf8.encode(value), headers: [], timestampMs })),
  });
}

export function produceRequest(topic: string, partition: number, records: Uint8Array | null, acks = 1, version = 8): Uint8Array {
  return request(PRODUCE.request, version, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
}

export interface ProducePartitionAnswer {
  index: number;
  errorCode: number;
  baseOffset: number;
  logStartOffset: number;
  errorMessage: string | null;
}

export function producePartitionAnswer(answer: Uint8Array, version = 8): ProducePartitionAnswer {
  const body = decodeResponse<{ responses: { partitionResponses: ProducePartitionAnswer[] }[] }>(PRODUCE.response, version, answer).body;
  return body.responses[0]!.partitionResponses[0]!;
}

export interface FetchOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  version?: number;
}

export function fetchRequest(partitions: { topic: string; partition: number; offset: number }[], options: FetchOptions = {}): Uint8Array {
  const byTopic = new Map<string, { partition: number; fetchOffset: number; partitionMaxBytes: number }[]>();
  for (const p of partitions) {
    const list = byTopic.get(p.topic) ?? [];
    list.push({ partition: p.partition, fetchOffset: p.offset, partitionMaxBytes: options.partitionMaxBytes ?? 1 << 20 });
    byTopic.set(p.topic, list);
  }
  return request(FETCH.request, options.version ?? 11, {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 50 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list })),
    forgottenTopicsData: [],
    rackId: "",
  });
}

export interface FetchedPartition {
  topic: string;
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  records: Uint8Array | null;
}

export function fetchedPartitions(answer: Uint8Array, version = 11): { sessionId: number; partitions: FetchedPartition[] } {
  const body = decodeResponse<{ sessionId: number; responses: { topic: string; partitions: Omit<FetchedPartition, "topic">[] }[] }>(FETCH.response, version, answer).body;
  return { sessionId: body.sessionId, partitions: body.responses.flatMap((t) => t.partitions.map((p) => ({ ...p, topic: t.topic }))) };
}

/** Splits back-to-back batches and decodes each (checking its CRC-32C): the records, and each batch's size. */
export function decodeBatches(bytes: Uint8Array | null): { records: StoredRecord[]; batchSizes: number[] } {
  const records: StoredRecord[] = [];
  const batchSizes: number[] = [];
  if (bytes === null) return { records, batchSizes };
  let position = 0;
  while (position < bytes.length) {
    const size = 12 + new DataView(bytes.buffer, bytes.byteOffset + position + 8, 4).getInt32(0);
    records.push(...decodeRecordBatch(bytes.subarray(position, position + size)).records);
    batchSizes.push(size);
    position += size;
  }
  return { records, batchSizes };
}

export function listOffsetsRequest(topic: string, partition: number, timestamp: number, version = 5): Uint8Array {
  return request(LIST_OFFSETS.request, version, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  });
}

export function listedOffset(answer: Uint8Array, version = 5): { errorCode: number; offset: number; timestamp: number } {
  const body = decodeResponse<{ topics: { partitions: { errorCode: number; offset: number; timestamp: number }[] }[] }>(LIST_OFFSETS.response, version, answer).body;
  return body.topics[0]!.partitions[0]!;
}

/** Sends one request and reads its answer. */
export async function ask(socket: RawKafkaSocket, bytes: Uint8Array, waitMs?: number): Promise<Uint8Array> {
  socket.write(bytes);
  return (await socket.answers(1, waitMs))[0]!;
}

import { expect, test } from "bun:test";
import { partitionForKey } from "../protocol/partitioner.ts";
import { decodeRecordBatch } from "../protocol/record-batch.ts";
import type { FetchFunction } from "./http-client.ts";
import { Producer, type ProducerOptions } from "./producer.ts";
import { StickyPartitioner } from "./sticky-partitioner.ts";

const HOUR_MS = 3_600_000;
const utf8Decoder = new TextDecoder();

test("stays on one partition until its batch is full or drained, then moves on in turn, per topic", () => {
  const partitioner = new StickyPartitioner(3, 1_000, () => 2);
  const place = (topic: string, count: number, bytes = 10) => {
    const partition = partitioner.partition(topic, count);
    partitioner.appended(topic, partition, bytes);
    return partition;
  };
  expect([1, 2, 3, 4].map(() => place("a", 4))).toEqual([2, 2, 2, 3]); // three records fill a batch
  partitioner.appended("a", 0, 10); // records placed elsewhere (by key) do not count
  partitioner.drained("a", 1);
  partitioner.drained("b", 3); // another topic
  expect(place("a", 4)).toBe(3);
  partitioner.drained("a", 3); // sent before it was full
  expect(place("a", 4, 990)).toBe(0);
  expect(place("a", 4)).toBe(0);
  expect(place("a", 4)).toBe(1); // 1,000 bytes fill a batch too
  expect(place("b", 3)).toBe(2);
});

test("stays within a partition count that shrank", () => {
  const partitioner = new StickyPartitioner(100, 1_000, () => 7);
  expect(partitioner.partition("a", 8)).toBe(7);
  expect(partitioner.partition("a", 3)).toBe(2);
  expect(new StickyPartitioner(100, 1_000, () => 5).partition("a", 3)).toBe(2);
});

/** A broker of `topics` that answers every produce at once and notes each request's partition and values. */
function recordingBroker(topics: Record<string, number>) {
  const requests: { topic: string; partition: number; values: string[] }[] = [];
  const nextOffsets = new Map<string, number>();
  const fetchFunction: FetchFunction = async (url, init) => {
    const { pathname, searchParams } = new URL(url);
    if (init.method === "GET" && pathname.startsWith("/api/v1/topics/")) {
      const name = decodeURIComponent(pathname.slice("/api/v1/topics/".length));
      const described = Array.from({ length: topics[name]! }, (_, partition) => ({
        partition, earliest_offset: 0, next_offset: 0, size_bytes: 0, status: "online",
      }));
      return Response.json({ name, created_at: 0, partitions: described });
    }
    const topic = searchParams.get("topic")!;
    const partition = Number(searchParams.get("partition"));
    const values = decodeRecordBatch(init.body as Uint8Array).records.map((record) => utf8Decoder.decode(record.value!));
    requests.push({ topic, partition, values });
    const baseOffset = nextOffsets.get(`${topic}/${partition}`) ?? 0;
    nextOffsets.set(`${topic}/${partition}`, baseOffset + values.length);
    return Response.json({ topic, partition, base_offset: baseOffset, last_offset: baseOffset + values.length - 1 });
  };
  return { requests, producer: (options: ProducerOptions) => new Producer({ fetch: fetchFunction, ...options }) };
}

/** Lets the producer act on what has happened (metadata, sends, answers), with a generous bound. */
async function settle(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !condition(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

test("keyless records fill one partition's batch before moving on to the next partition", async () => {
  const broker = recordingBroker({ wide: 64 });
  const producer = broker.producer({ batchSize: 100, lingerMs: HOUR_MS });
  // A window of four batches over 64 partitions, as `gafka bench produce` keeps: spread record by
  // record, no partition would hold a full batch and nothing would go out before the linger.
  const sends = Array.from({ length: 400 }, (_, index) => producer.send({ topic: "wide", value: String(index) }));
  await settle(() => broker.requests.length >= 4);
  expect(broker.requests.map((request) => request.values)).toEqual(
    [0, 1, 2, 3].map((batch) => Array.from({ length: 100 }, (_, index) => String(batch * 100 + index))),
  );
  const partitions = broker.requests.map((request) => request.partition);
  expect(partitions.slice(1)).toEqual(partitions.slice(0, 3).map((partition) => (partition + 1) % 64));
  const landed = await Promise.all(sends);
  expect(landed.map((metadata) => metadata.offset)).toEqual(Array.from({ length: 400 }, (_, index) => index % 100));
  await producer.close();
});

test("a batch sent at its linger moves keyless records on to the next partition", async () => {
  const broker = recordingBroker({ orders: 4 });
  const producer = broker.producer({ batchSize: 100, lingerMs: 1 });
  const first = await Promise.all(["a", "b", "c"].map((value) => producer.send({ topic: "orders", value })));
  const partition = first[0]!.partition;
  expect(first.map((metadata) => metadata.partition)).toEqual([partition, partition, partition]);
  expect((await producer.send({ topic: "orders", value: "d" })).partition).toBe((partition + 1) % 4);
  expect(broker.requests.map((request) => request.values)).toEqual([["a", "b", "c"], ["d"]]);
  await producer.close();
});

test("over many sends every partition gets keyless records, a full batch each in turn", async () => {
  const broker = recordingBroker({ orders: 8 });
  const producer = broker.producer({ batchSize: 5, lingerMs: HOUR_MS });
  const landed = await Promise.all(Array.from({ length: 200 }, (_, index) => producer.send({ topic: "orders", value: String(index) })));
  for (let partition = 0; partition < 8; partition++) {
    expect(landed.filter((metadata) => metadata.partition === partition).length).toBe(25);
  }
  expect(broker.requests.every((request) => request.values.length === 5)).toBe(true);
  await producer.close();
});

test("keyed and explicitly placed records go where they did; order holds within each partition", async () => {
  const broker = recordingBroker({ orders: 5 });
  const producer = broker.producer({ batchSize: 7, lingerMs: 1 });
  const records = Array.from({ length: 300 }, (_, index) => {
    const value = String(index);
    if (index % 3 === 0) return { topic: "orders", key: `user${index % 11}`, value };
    if (index % 10 === 1) return { topic: "orders", partition: 4, value };
    return { topic: "orders", value };
  });
  const landed = await Promise.all(records.map((record) => producer.send(record)));
  records.forEach((record, index) => {
    if (record.key !== undefined) expect(landed[index]!.partition).toBe(partitionForKey(new TextEncoder().encode(record.key), 5));
    if (record.partition !== undefined) expect(landed[index]!.partition).toBe(4);
  });
  for (let partition = 0; partition < 5; partition++) {
    const mine = landed.map((metadata, index) => ({ ...metadata, index })).filter((metadata) => metadata.partition === partition);
    // Offsets follow send order, and the broker stored the values in that order.
    expect(mine.map((metadata) => metadata.offset)).toEqual(mine.map((_, position) => position));
    const stored = broker.requests.filter((request) => request.partition === partition).flatMap((request) => request.values);
    expect(stored).toEqual(mine.map((metadata) => String(metadata.index)));
  }
  await producer.close();
});

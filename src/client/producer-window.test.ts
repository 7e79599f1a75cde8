import { expect, test } from "bun:test";
import { decodeRecordBatch } from "../protocol/record-batch.ts";
import type { FetchFunction } from "./http-client.ts";
import { Producer, type ProducerOptions } from "./producer.ts";

/**
 * What a producer holds unanswered is bounded in total, whatever the topic's
 * partition count: a broker that holds every produce answer until the test
 * lets it go shows the requests and records the producer has out at once.
 */

const PARTITIONS = 64;
const VALUE = "v".repeat(1000);

interface HeldProduce {
  partition: number;
  values: string[];
  answer(): void;
}

/** A broker of one topic of `partitions` that answers a produce only when the test releases it. */
function holdingBroker(partitions: number) {
  const held: HeldProduce[] = [];
  const nextOffsets = new Map<number, number>();
  let requestsInFlightMax = 0;
  const fetchFunction: FetchFunction = async (url, init) => {
    const { pathname, searchParams } = new URL(url);
    if (init.method === "GET" && pathname === "/api/v1/topics/wide") {
      const described = Array.from({ length: partitions }, (_, partition) => ({
        partition, earliest_offset: 0, next_offset: 0, size_bytes: 0, status: "online",
      }));
      return Response.json({ name: "wide", created_at: 0, partitions: described });
    }
    if (init.method !== "POST" || pathname !== "/api/v1/produce") return Response.json({ error: { code: "not_found", message: pathname } }, { status: 404 });
    const partition = Number(searchParams.get("partition"));
    const values = decodeRecordBatch(init.body as Uint8Array).records.map((record) => new TextDecoder().decode(record.value!));
    const { promise, resolve } = Promise.withResolvers<void>();
    held.push({ partition, values, answer: resolve });
    requestsInFlightMax = Math.max(requestsInFlightMax, held.length);
    await promise;
    const baseOffset = nextOffsets.get(partition) ?? 0;
    nextOffsets.set(partition, baseOffset + values.length);
    return Response.json({ topic: "wide", partition, base_offset: baseOffset, last_offset: baseOffset + values.length - 1 });
  };
  return {
    held,
    requestsInFlightMax: () => requestsInFlightMax,
    recordsHeld: () => held.reduce((sum, request) => sum + request.values.length, 0),
    /** Answers the oldest held request. */
    answerOne(): void {
      held.shift()!.answer();
    },
    producer: (options: ProducerOptions) => new Producer({ fetch: fetchFunction, ...options }),
  };
}

/** Lets the producer act on everything that has happened (sends, answers), with a generous bound. */
async function settle(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !condition(); turn++) await new Promise((resolve) => setImmediate(resolve));
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
}

test("requests in flight stay within inFlightRequestsMax over 64 partitions, each partition's batch waiting its turn", async () => {
  const broker = holdingBroker(PARTITIONS);
  // Each partition's batch is full at once (batchSize records), so every partition is ready to go.
  const producer = broker.producer({ batchSize: 10, lingerMs: 60_000, inFlightRequestsMax: 5 });
  const sends = Array.from({ length: PARTITIONS * 10 }, (_, index) => producer.send({ topic: "wide", value: String(index) }));
  await settle(() => broker.held.length >= 5);
  expect(broker.held.length).toBe(5);
  for (let answered = 1; answered <= PARTITIONS; answered++) {
    broker.answerOne();
    await settle(() => broker.held.length >= Math.min(5, PARTITIONS - answered));
    expect(broker.held.length).toBeLessThanOrEqual(5);
  }
  const landed = await Promise.all(sends);
  expect(broker.requestsInFlightMax()).toBe(5);
  // Every partition got its ten records, in send order, in one batch.
  for (let partition = 0; partition < PARTITIONS; partition++) {
    expect(landed.filter((metadata) => metadata.partition === partition).map((metadata) => metadata.offset)).toEqual(Array.from({ length: 10 }, (_, index) => index));
  }
  await producer.close();
});

test("by default a producer has at most five requests in flight, however many partitions", async () => {
  const broker = holdingBroker(PARTITIONS);
  const producer = broker.producer({ batchSize: 1, lingerMs: 60_000 });
  const sends = Array.from({ length: PARTITIONS * 2 }, () => producer.send({ topic: "wide", value: "x" }));
  await settle(() => broker.held.length >= 5);
  expect(broker.held.length).toBe(5);
  for (let answered = 1; answered <= sends.length; answered++) {
    broker.answerOne();
    await settle(() => broker.held.length >= Math.min(5, sends.length - answered));
    expect(broker.held.length).toBeLessThanOrEqual(5);
  }
  await Promise.all(sends);
  expect(broker.requestsInFlightMax()).toBe(5);
  await producer.close();
});

test("the bytes a producer holds unanswered stay within bufferBytesMax (plus one record) over 64 partitions", async () => {
  const broker = holdingBroker(PARTITIONS);
  const bufferBytesMax = 16 * VALUE.length;
  // One record a batch and no cap on requests: only the byte bound holds the records back.
  const producer = broker.producer({ batchSize: 1, lingerMs: 60_000, inFlightRequestsMax: 10_000, bufferBytesMax });
  const sends = Array.from({ length: PARTITIONS * 4 }, (_, index) => producer.send({ topic: "wide", value: `${index}`.padEnd(VALUE.length, "v") }));
  await settle(() => broker.held.length >= 16);
  // Each record is counted at a little over its value's bytes, so at most 16 are taken in.
  expect(broker.recordsHeld()).toBeGreaterThan(0);
  expect(broker.recordsHeld()).toBeLessThanOrEqual(16);
  let answered = 0;
  while (answered < sends.length) {
    broker.answerOne();
    answered++;
    await settle(() => broker.recordsHeld() >= Math.min(16, sends.length - answered));
    expect(broker.recordsHeld()).toBeLessThanOrEqual(16);
  }
  const landed = await Promise.all(sends);
  expect(landed.length).toBe(PARTITIONS * 4);
  await producer.close();
});

test("refuses bounds that are not positive integers", () => {
  expect(() => new Producer({ bufferBytesMax: 0 })).toThrow("bufferBytesMax");
  expect(() => new Producer({ inFlightRequestsMax: 1.5 })).toThrow("inFlightRequestsMax");
});

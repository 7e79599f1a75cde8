import { describe, expect, test } from "bun:test";
import { partitionForKey } from "../broker/partitioner.ts";
import { GafkaClientError } from "./client-error.ts";
import type { FetchFunction } from "./http-client.ts";
import { Producer, type ProducerOptions } from "./producer.ts";
import type { WireProduceRecord } from "./wire.ts";

interface ProduceCall {
  topic: string;
  records: WireProduceRecord[];
}

/**
 * A broker reduced to what the producer sees on the wire: topic metadata and
 * the batch produce form. It notes every request and how many produces per
 * partition were in flight at once.
 */
function fakeBroker(topics: Record<string, number>, options: { answerDelayMs?: number; failTopic?: string } = {}) {
  const describes: string[] = [];
  const produces: ProduceCall[] = [];
  const nextOffsets = new Map<string, number>();
  const inFlight = new Map<number, number>();
  let inFlightPerPartitionMax = 0;

  const fetchFunction: FetchFunction = async (url, init) => {
    const { pathname } = new URL(url);
    if (init.method === "GET" && pathname.startsWith("/api/v1/topics/")) {
      const name = decodeURIComponent(pathname.slice("/api/v1/topics/".length));
      describes.push(name);
      const count = topics[name];
      if (count === undefined) {
        return Response.json({ error: { code: "topic_not_found", message: `topic '${name}' does not exist`, topic: name } }, { status: 404 });
      }
      const partitions = Array.from({ length: count }, (_, partition) => ({
        partition,
        earliest_offset: 0,
        next_offset: 0,
        size_bytes: 0,
        status: "online",
      }));
      return Response.json({ name, created_at: 0, partitions });
    }
    if (init.method === "POST" && pathname === "/api/v1/produce") {
      const body = JSON.parse(String(init.body)) as ProduceCall;
      produces.push(body);
      const partitions = new Set(body.records.map((record) => record.partition!));
      expect(partitions.size).toBe(1); // one batch per partition
      const partition = [...partitions][0]!;
      inFlight.set(partition, (inFlight.get(partition) ?? 0) + 1);
      inFlightPerPartitionMax = Math.max(inFlightPerPartitionMax, inFlight.get(partition)!);
      try {
        if (options.answerDelayMs) await Bun.sleep(options.answerDelayMs);
        if (body.topic === options.failTopic) {
          return Response.json({ error: { code: "storage_full", message: "no space left on device" } }, { status: 503 });
        }
        const results = body.records.map((record) => {
          const key = `${body.topic}/${record.partition}`;
          const offset = nextOffsets.get(key) ?? 0;
          nextOffsets.set(key, offset + 1);
          return { partition: record.partition!, offset, timestamp: record.timestamp ?? 1_000 };
        });
        return Response.json({ topic: body.topic, results });
      } finally {
        inFlight.set(partition, inFlight.get(partition)! - 1);
      }
    }
    return Response.json({ error: { code: "not_found", message: `no route ${init.method} ${pathname}` } }, { status: 404 });
  };
  return {
    describes,
    produces,
    inFlightPerPartitionMax: () => inFlightPerPartitionMax,
    producer: (producerOptions: ProducerOptions = {}) => new Producer({ fetch: fetchFunction, ...producerOptions }),
  };
}

const HOUR_MS = 3_600_000;

describe("Producer", () => {
  test("sends full batches of batchSize and asks for the topic's metadata once", async () => {
    const broker = fakeBroker({ orders: 1 });
    const producer = broker.producer({ batchSize: 100, lingerMs: HOUR_MS });
    const sends = Array.from({ length: 250 }, (_, index) => producer.send({ topic: "orders", value: `m${index}` }));
    // Full batches go out without waiting out the (hour-long) linger; the last 50 follow
    // as soon as the partition is free, having waited out a round trip.
    const firstTwoBatches = await Promise.all(sends.slice(0, 200));
    expect(firstTwoBatches.map((metadata) => metadata.offset)).toEqual(Array.from({ length: 200 }, (_, index) => index));
    await producer.flush();
    const all = await Promise.all(sends);
    expect(all.map((metadata) => metadata.offset)).toEqual(Array.from({ length: 250 }, (_, index) => index));
    expect(broker.produces.map((call) => call.records.length)).toEqual([100, 100, 50]);
    expect(broker.produces.flatMap((call) => call.records.map((record) => record.value))).toEqual(
      Array.from({ length: 250 }, (_, index) => `m${index}`),
    );
    expect(broker.describes).toEqual(["orders"]);
    await producer.close();
  });

  test("a lone record goes out once the linger passes", async () => {
    const broker = fakeBroker({ orders: 2 });
    const producer = broker.producer({ lingerMs: 5 });
    const metadata = await producer.send({ topic: "orders", value: "alone", partition: 1 });
    expect(metadata).toEqual({ topic: "orders", partition: 1, offset: 0, timestamp: 1_000 });
    expect(broker.produces.length).toBe(1);
    await producer.close();
  });

  test("with no linger, the records sent in one turn travel as one batch, and a later one goes on its own", async () => {
    const broker = fakeBroker({ orders: 1 });
    const producer = broker.producer({ lingerMs: 0 });
    await producer.send({ topic: "orders", value: "warm-up" }); // fetches the metadata
    const together = await Promise.all(["a", "b", "c"].map((value) => producer.send({ topic: "orders", value })));
    expect(together.map((metadata) => metadata.offset)).toEqual([1, 2, 3]);
    await producer.send({ topic: "orders", value: "d" });
    expect(broker.produces.map((call) => call.records.length)).toEqual([1, 3, 1]);
    await producer.close();
  });

  test("records sent together within the linger travel as one batch", async () => {
    const broker = fakeBroker({ orders: 1 });
    const producer = broker.producer({ lingerMs: 20 });
    await Promise.all([1, 2, 3].map((index) => producer.send({ topic: "orders", value: `v${index}` })));
    expect(broker.produces.map((call) => call.records.length)).toEqual([3]);
    await producer.close();
  });

  test("picks partitions as the broker does: murmur2 for keys, turns without, explicit wins", async () => {
    const broker = fakeBroker({ orders: 3 });
    const producer = broker.producer({ lingerMs: 1 });
    const keys = ["user123", "user124", "a", "", "ключ"];
    const keyed = await Promise.all(keys.map((key) => producer.send({ topic: "orders", key, value: "v" })));
    expect(keyed.map((metadata) => metadata.partition)).toEqual(keys.map((key) => partitionForKey(new TextEncoder().encode(key), 3)));
    const binaryKey = new Uint8Array([0, 1, 2, 250]);
    expect((await producer.send({ topic: "orders", key: binaryKey, value: "v" })).partition).toBe(partitionForKey(binaryKey, 3));
    const keyless = await Promise.all([0, 1, 2, 3, 4, 5].map(() => producer.send({ topic: "orders", value: "v" })));
    expect(keyless.map((metadata) => metadata.partition).sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect((await producer.send({ topic: "orders", key: "user123", value: "v", partition: 2 })).partition).toBe(2);
    await producer.close();
  });

  test("an explicit partition needs no metadata", async () => {
    const broker = fakeBroker({ orders: 2 });
    const producer = broker.producer({ lingerMs: 1 });
    await producer.send({ topic: "orders", value: "v", partition: 0 });
    expect(broker.describes).toEqual([]);
    await producer.close();
  });

  test("keeps one request per partition in flight, so order holds", async () => {
    const broker = fakeBroker({ orders: 2 }, { answerDelayMs: 5 });
    const producer = broker.producer({ batchSize: 10, lingerMs: 1 });
    const sends = Array.from({ length: 200 }, (_, index) => producer.send({ topic: "orders", key: `k${index % 7}`, value: String(index) }));
    const results = await Promise.all(sends);
    expect(broker.inFlightPerPartitionMax()).toBe(1);
    for (const partition of [0, 1]) {
      const values = broker.produces.flatMap((call) => call.records.filter((record) => record.partition === partition).map((record) => Number(record.value)));
      expect(values).toEqual([...values].sort((a, b) => a - b));
      const offsets = results.filter((metadata) => metadata.partition === partition).map((metadata) => metadata.offset);
      expect(offsets).toEqual(offsets.map((_, index) => index));
    }
    await producer.close();
  });

  test("an unknown topic fails its sends with the broker's error", async () => {
    const broker = fakeBroker({});
    const producer = broker.producer();
    const error = await producer.send({ topic: "missing", value: "v" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GafkaClientError);
    expect((error as GafkaClientError).code).toBe("topic_not_found");
    expect((error as GafkaClientError).status).toBe(404);
    await producer.close();
  });

  test("a failed batch fails every record in it and nothing else", async () => {
    const broker = fakeBroker({ full: 1, fine: 1 }, { failTopic: "full" });
    const producer = broker.producer({ lingerMs: 1 });
    const failed = [producer.send({ topic: "full", value: "a" }), producer.send({ topic: "full", value: "b" })];
    const fine = producer.send({ topic: "fine", value: "c" });
    for (const send of failed) {
      const error = (await send.catch((caught: unknown) => caught)) as GafkaClientError;
      expect(error.code).toBe("storage_full");
      expect(error.retriable).toBe(true);
    }
    expect((await fine).offset).toBe(0);
    await producer.close();
  });

  test("bytes travel as base64, together with the header values", async () => {
    const broker = fakeBroker({ blobs: 1 });
    const producer = broker.producer({ lingerMs: 1 });
    await producer.send({ topic: "blobs", key: new Uint8Array([1, 2]), value: new Uint8Array([255, 0, 128]), headers: { kind: "raw" } });
    await producer.send({ topic: "blobs", value: "text", headers: [{ key: "a", value: "1" }, { key: "a", value: "2" }] });
    const [binary, text] = broker.produces.flatMap((call) => call.records);
    expect(binary).toMatchObject({ key: "AQI=", key_encoding: "base64", value: "/wCA", value_encoding: "base64", headers: [{ key: "kind", value: "cmF3" }] });
    expect(text).toMatchObject({ value: "text", headers: [{ key: "a", value: "1" }, { key: "a", value: "2" }] });
    expect(text!.value_encoding).toBeUndefined();
    await producer.close();
  });

  test("when the buffer is full, later sends wait their turn and still go out in order", async () => {
    const broker = fakeBroker({ orders: 1 }, { answerDelayMs: 2 });
    const producer = broker.producer({ batchSize: 5, lingerMs: 1, bufferedRecordsMax: 10 });
    const results = await Promise.all(Array.from({ length: 100 }, (_, index) => producer.send({ topic: "orders", value: String(index) })));
    expect(results.map((metadata) => metadata.offset)).toEqual(Array.from({ length: 100 }, (_, index) => index));
    expect(Math.max(...broker.produces.map((call) => call.records.length))).toBeLessThanOrEqual(5);
    await producer.close();
  });

  test("a closed producer refuses sends", async () => {
    const producer = fakeBroker({ orders: 1 }).producer();
    await producer.close();
    const error = (await producer.send({ topic: "orders", value: "late" }).catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error.code).toBe("client_closed");
  });

  test("refuses nonsense settings", () => {
    expect(() => new Producer({ batchSize: 0 })).toThrow("batchSize");
    expect(() => new Producer({ lingerMs: -1 })).toThrow("lingerMs");
  });
});

import { describe, expect, test } from "bun:test";
import { partitionForKey } from "../protocol/partitioner.ts";
import { decodeRecordBatch, readBatchHeader } from "../protocol/record-batch.ts";
import { GafkaClientError } from "./client-error.ts";
import type { FetchFunction } from "./http-client.ts";
import { Producer, type ProducerOptions } from "./producer.ts";
import { RECORD_BATCH_MEDIA_TYPE, type RecordFormat, type WireProduceRecord } from "./wire.ts";

/**
 * A produce request as the fake broker saw it, in either format. A record
 * batch's records are given in the JSON form (UTF-8 text) so that the tests
 * that do not care about the format can read them the same way; `batch`
 * keeps what was decoded.
 */
interface ProduceCall {
  format: RecordFormat;
  topic: string;
  records: WireProduceRecord[];
  url: URL;
  contentType: string;
  batch?: ReturnType<typeof decodeRecordBatch>;
  body?: Uint8Array;
}

const utf8Decoder = new TextDecoder();

/** The request in the fake's common shape; a batch body is decoded with the broker's codec (CRC checked). */
function produceCall(url: URL, init: RequestInit): ProduceCall {
  const contentType = (init.headers as Record<string, string>)["content-type"] ?? "";
  if (contentType !== RECORD_BATCH_MEDIA_TYPE) {
    const body = JSON.parse(String(init.body)) as { topic: string; records: WireProduceRecord[] };
    return { format: "json", topic: body.topic, records: body.records, url, contentType };
  }
  const bytes = init.body as Uint8Array;
  const batch = decodeRecordBatch(bytes);
  const partition = Number(url.searchParams.get("partition"));
  const text = (data: Uint8Array | null) => (data === null ? null : utf8Decoder.decode(data));
  const records = batch.records.map((record) => ({
    partition,
    ...(record.key === null ? {} : { key: text(record.key)! }),
    value: text(record.value),
    headers: record.headers.map((header) => ({ key: header.key, value: text(header.value) })),
    timestamp: record.timestampMs,
  }));
  return { format: "batch", topic: url.searchParams.get("topic")!, records, url, contentType, batch, body: bytes };
}

/**
 * A broker reduced to what the producer sees on the wire: topic metadata and
 * both produce forms (the JSON batch form, or a RecordBatch v2; with
 * `refuseBatches`, it answers a batch 415 as a broker that predates them).
 * It notes every request and how many produces per partition were in flight
 * at once.
 */
function fakeBroker(
  topics: Record<string, number>,
  options: { answerDelayMs?: number; failTopic?: string; refuseBatches?: boolean; format?: RecordFormat } = {},
) {
  const describes: string[] = [];
  const produces: ProduceCall[] = [];
  const nextOffsets = new Map<string, number>();
  const inFlight = new Map<number, number>();
  let inFlightPerPartitionMax = 0;
  let refusals = 0;

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
      if (options.refuseBatches && (init.headers as Record<string, string>)["content-type"] !== "application/json") {
        refusals++;
        return Response.json({ error: { code: "unsupported_media_type", message: "expected application/json" } }, { status: 415 });
      }
      const body = produceCall(new URL(url), init);
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
        if (body.format === "json") return Response.json({ topic: body.topic, results });
        const acksZero = body.url.searchParams.get("acks") === "0";
        const [baseOffset, lastOffset] = acksZero ? [-1, -1] : [results[0]!.offset, results.at(-1)!.offset];
        return Response.json({ topic: body.topic, partition, base_offset: baseOffset, last_offset: lastOffset }, { status: acksZero ? 202 : 200 });
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
    refusals: () => refusals,
    producer: (producerOptions: ProducerOptions = {}) => new Producer({ fetch: fetchFunction, format: options.format, ...producerOptions }),
  };
}

const HOUR_MS = 3_600_000;

// The same behaviour in both formats: the fake decodes either into one shape.
describe.each(["batch", "json"] as const)("Producer (%s)", (format) => {
  const brokerFor = (topics: Record<string, number>, options: Parameters<typeof fakeBroker>[1] = {}) => fakeBroker(topics, { ...options, format });

  test("sends full batches of batchSize and asks for the topic's metadata once", async () => {
    const broker = brokerFor({ orders: 1 });
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
    const broker = brokerFor({ orders: 2 });
    const producer = broker.producer({ lingerMs: 5 });
    const metadata = await producer.send({ topic: "orders", value: "alone", partition: 1 });
    // Without a timestamp the broker's clock stamps JSON records (1,000 in this fake), the producer's a batch's.
    expect(metadata).toEqual({ topic: "orders", partition: 1, offset: 0, timestamp: format === "json" ? 1_000 : expect.any(Number) });
    expect(broker.produces.length).toBe(1);
    await producer.close();
  });

  test("with no linger, the records sent in one turn travel as one batch, and a later one goes on its own", async () => {
    const broker = brokerFor({ orders: 1 });
    const producer = broker.producer({ lingerMs: 0 });
    await producer.send({ topic: "orders", value: "warm-up" }); // fetches the metadata
    const together = await Promise.all(["a", "b", "c"].map((value) => producer.send({ topic: "orders", value })));
    expect(together.map((metadata) => metadata.offset)).toEqual([1, 2, 3]);
    await producer.send({ topic: "orders", value: "d" });
    expect(broker.produces.map((call) => call.records.length)).toEqual([1, 3, 1]);
    await producer.close();
  });

  test("records sent together within the linger travel as one batch", async () => {
    const broker = brokerFor({ orders: 1 });
    const producer = broker.producer({ lingerMs: 20 });
    await Promise.all([1, 2, 3].map((index) => producer.send({ topic: "orders", value: `v${index}` })));
    expect(broker.produces.map((call) => call.records.length)).toEqual([3]);
    await producer.close();
  });

  test("picks partitions: murmur2 for keys as the broker does, one sticky partition without, explicit wins", async () => {
    const broker = brokerFor({ orders: 3 });
    const producer = broker.producer({ lingerMs: 1 });
    const keys = ["user123", "user124", "a", "", "ключ"];
    const keyed = await Promise.all(keys.map((key) => producer.send({ topic: "orders", key, value: "v" })));
    expect(keyed.map((metadata) => metadata.partition)).toEqual(keys.map((key) => partitionForKey(new TextEncoder().encode(key), 3)));
    const binaryKey = new Uint8Array([0, 1, 2, 250]);
    expect((await producer.send({ topic: "orders", key: binaryKey, value: "v" })).partition).toBe(partitionForKey(binaryKey, 3));
    const keyless = await Promise.all([0, 1, 2, 3, 4, 5].map(() => producer.send({ topic: "orders", value: "v" })));
    // Sent together, keyless records stick to one partition and travel as one batch (sticky-partitioner.test.ts).
    expect(new Set(keyless.map((metadata) => metadata.partition)).size).toBe(1);
    expect((await producer.send({ topic: "orders", key: "user123", value: "v", partition: 2 })).partition).toBe(2);
    await producer.close();
  });

  test("an explicit partition needs no metadata", async () => {
    const broker = brokerFor({ orders: 2 });
    const producer = broker.producer({ lingerMs: 1 });
    await producer.send({ topic: "orders", value: "v", partition: 0 });
    expect(broker.describes).toEqual([]);
    await producer.close();
  });

  test("keeps one request per partition in flight, so order holds", async () => {
    const broker = brokerFor({ orders: 2 }, { answerDelayMs: 5 });
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
    const broker = brokerFor({});
    const producer = broker.producer();
    const error = await producer.send({ topic: "missing", value: "v" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GafkaClientError);
    expect((error as GafkaClientError).code).toBe("topic_not_found");
    expect((error as GafkaClientError).status).toBe(404);
    await producer.close();
  });

  test("a batch that keeps failing is retried until the deadline, then fails every record in it and nothing else", async () => {
    const broker = brokerFor({ full: 1, fine: 1 }, { failTopic: "full" });
    const producer = broker.producer({ lingerMs: 1, retryBackoffMs: 1, retryDeadlineMs: 30 });
    const failed = [producer.send({ topic: "full", value: "a" }), producer.send({ topic: "full", value: "b" })];
    const fine = producer.send({ topic: "fine", value: "c" });
    for (const send of failed) {
      const error = (await send.catch((caught: unknown) => caught)) as GafkaClientError;
      expect(error.code).toBe("storage_full");
      expect(error.message).toStartWith("gave up after ");
      expect(error.message).toEndWith(": no space left on device");
    }
    // Retried as one batch, the same two records each time.
    const attempts = broker.produces.filter((call) => call.topic === "full");
    expect(attempts.length).toBeGreaterThan(1);
    for (const attempt of attempts) expect(attempt.records.map((record) => record.value)).toEqual(["a", "b"]);
    expect((await fine).offset).toBe(0);
    await producer.close();
  });

  test("when the buffer is full, later sends wait their turn and still go out in order", async () => {
    const broker = brokerFor({ orders: 1 }, { answerDelayMs: 2 });
    const producer = broker.producer({ batchSize: 5, lingerMs: 1, bufferedRecordsMax: 10 });
    const results = await Promise.all(Array.from({ length: 100 }, (_, index) => producer.send({ topic: "orders", value: String(index) })));
    expect(results.map((metadata) => metadata.offset)).toEqual(Array.from({ length: 100 }, (_, index) => index));
    expect(Math.max(...broker.produces.map((call) => call.records.length))).toBeLessThanOrEqual(5);
    await producer.close();
  });

  test("a closed producer refuses sends", async () => {
    const producer = brokerFor({ orders: 1 }).producer();
    await producer.close();
    const error = (await producer.send({ topic: "orders", value: "late" }).catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error.code).toBe("client_closed");
  });

  test("refuses nonsense settings", () => {
    expect(() => new Producer({ batchSize: 0 })).toThrow("batchSize");
    expect(() => new Producer({ lingerMs: -1 })).toThrow("lingerMs");
  });
});

describe("Producer (json)", () => {
  test("bytes travel as base64, together with the header values", async () => {
    const broker = fakeBroker({ blobs: 1 }, { format: "json" });
    const producer = broker.producer({ lingerMs: 1 });
    await producer.send({ topic: "blobs", key: new Uint8Array([1, 2]), value: new Uint8Array([255, 0, 128]), headers: { kind: "raw" } });
    await producer.send({ topic: "blobs", value: "text", headers: [{ key: "a", value: "1" }, { key: "a", value: "2" }] });
    const [binary, text] = broker.produces.flatMap((call) => call.records);
    expect(binary).toMatchObject({ key: "AQI=", key_encoding: "base64", value: "/wCA", value_encoding: "base64", headers: [{ key: "kind", value: "cmF3" }] });
    expect(text).toMatchObject({ value: "text", headers: [{ key: "a", value: "1" }, { key: "a", value: "2" }] });
    expect(text!.value_encoding).toBeUndefined();
    await producer.close();
  });

});

describe("Producer (batch): the request", () => {
  test("a partition's records travel as one RecordBatch v2 holding exactly them", async () => {
    const broker = fakeBroker({ orders: 2 });
    const producer = broker.producer({ lingerMs: 5 });
    const before = Date.now();
    const sends = [
      producer.send({ topic: "orders", partition: 1, key: "user-ü", value: "héllo", headers: { trace: "abc", raw: new Uint8Array([0, 255]) }, timestamp: 1_764_000_000_000 }),
      producer.send({ topic: "orders", partition: 1, key: new Uint8Array([1, 2, 3]), value: new Uint8Array([9, 8, 7]), headers: [{ key: "h", value: "1" }, { key: "h", value: null }] }),
      producer.send({ topic: "orders", partition: 1, value: null, timestamp: 1_764_000_000_000 - 5 }),
    ];
    const metadata = await Promise.all(sends);
    const after = Date.now();
    expect(broker.produces.length).toBe(1);
    const call = broker.produces[0]!;
    expect(call.url.pathname).toBe("/api/v1/produce");
    expect(Object.fromEntries(call.url.searchParams)).toEqual({ topic: "orders", partition: "1", acks: "1" });
    expect(call.contentType).toBe(RECORD_BATCH_MEDIA_TYPE);

    // The body is exactly one batch (decodeRecordBatch refuses anything else), with Kafka's "none" values.
    const header = readBatchHeader(call.body!);
    expect(header).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: -1, magic: 2, attributes: 0, lastOffsetDelta: 2, recordCount: 3 });
    expect(header).toMatchObject({ producerId: -1n, producerEpoch: -1, baseSequence: -1 });
    expect(header.maxTimestampMs).toBe(Math.max(1_764_000_000_000, call.batch!.records[1]!.timestampMs));

    const [first, second, third] = call.batch!.records;
    const utf8 = (text: string) => new TextEncoder().encode(text);
    expect(first).toEqual({ offset: 0, timestampMs: 1_764_000_000_000, key: utf8("user-ü"), value: utf8("héllo"), headers: [{ key: "trace", value: utf8("abc") }, { key: "raw", value: new Uint8Array([0, 255]) }] });
    expect(second!.key).toEqual(new Uint8Array([1, 2, 3]));
    expect(second!.value).toEqual(new Uint8Array([9, 8, 7]));
    expect(second!.headers).toEqual([{ key: "h", value: utf8("1") }, { key: "h", value: null }]);
    // No timestamp given: the producer's clock at send (CreateTime), as Kafka's producers do.
    expect(second!.timestampMs).toBeGreaterThanOrEqual(before);
    expect(second!.timestampMs).toBeLessThanOrEqual(after);
    expect(third).toMatchObject({ key: null, value: null, headers: [], timestampMs: 1_764_000_000_000 - 5 });

    // Record i landed at base_offset + i, with the timestamp it was sent with.
    expect(metadata).toEqual([
      { topic: "orders", partition: 1, offset: 0, timestamp: 1_764_000_000_000 },
      { topic: "orders", partition: 1, offset: 1, timestamp: second!.timestampMs },
      { topic: "orders", partition: 1, offset: 2, timestamp: 1_764_000_000_000 - 5 },
    ]);
    await producer.close();
  });

  test("acks travel in the query; under acks=0 every offset is -1", async () => {
    const broker = fakeBroker({ orders: 1 });
    const all = broker.producer({ lingerMs: 0, acks: -1 });
    await all.send({ topic: "orders", partition: 0, value: "a" });
    expect(broker.produces.at(-1)!.url.searchParams.get("acks")).toBe("all");
    const none = broker.producer({ lingerMs: 0, acks: 0 });
    const metadata = await Promise.all([none.send({ topic: "orders", partition: 0, value: "b" }), none.send({ topic: "orders", partition: 0, value: "c" })]);
    expect(broker.produces.at(-1)!.url.searchParams.get("acks")).toBe("0");
    expect(metadata.map((each) => each.offset)).toEqual([-1, -1]);
    await Promise.all([all.close(), none.close()]);
  });

  test("a broker that refuses record batches (415) gets the same records in JSON, from then on", async () => {
    const broker = fakeBroker({ orders: 1 }, { refuseBatches: true });
    const producer = broker.producer({ lingerMs: 1 });
    const first = await Promise.all(["a", "b"].map((value) => producer.send({ topic: "orders", value, headers: { n: value } })));
    const later = await producer.send({ topic: "orders", value: new Uint8Array([1]) });
    expect(first.map((each) => each.offset)).toEqual([0, 1]);
    expect(later.offset).toBe(2);
    expect(broker.refusals()).toBe(1);
    expect(broker.produces.map((call) => call.format)).toEqual(["json", "json"]);
    expect(broker.produces[0]!.records).toMatchObject([
      { value: "a", headers: [{ key: "n", value: "a" }] },
      { value: "b", headers: [{ key: "n", value: "b" }] },
    ]);
    await producer.close();
  });

  test("records the broker's rules refuse fail alone, before anything is sent", async () => {
    const broker = fakeBroker({ orders: 1 });
    const producer = broker.producer({ lingerMs: 1 });
    const refusals = [
      producer.send({ topic: "orders", partition: 0, value: "v", headers: { "": "empty key" } }),
      producer.send({ topic: "orders", partition: 0, value: "v", timestamp: -1 }),
      producer.send({ topic: "orders", partition: 0, value: "v", timestamp: 1.5 }),
      producer.send({ topic: "orders", partition: 0, value: 42 as never }),
      producer.send({ topic: "orders", partition: 0, value: "v", headers: { bad: 7 as never } }),
      producer.send({ topic: "orders", partition: 0, value: "v", headers: Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`h${index}`, "x"])) }),
    ];
    const fine = producer.send({ topic: "orders", partition: 0, value: "fine" });
    for (const refused of refusals) {
      const error = (await refused.catch((caught: unknown) => caught)) as GafkaClientError;
      expect(error).toBeInstanceOf(GafkaClientError);
      expect(error.code).toBe("invalid_request");
    }
    expect((await fine).offset).toBe(0);
    expect(broker.produces.flatMap((call) => call.records.map((record) => record.value))).toEqual(["fine"]);
    await producer.close();
  });

  test("refuses an unknown format", () => {
    expect(() => new Producer({ format: "avro" as never })).toThrow("format");
  });
});

describe("Producer.flush", () => {
  test("waits for every record sent before it, and only those", async () => {
    // A broker that answers each produce only when told to.
    const held: (() => void)[] = [];
    let nextOffset = 0;
    const fetchFunction: FetchFunction = async (_url, init) => {
      if (init.method === "GET") {
        return Response.json({ name: "t", created_at: 0, partitions: [{ partition: 0, earliest_offset: 0, next_offset: 0, size_bytes: 0, status: "online" }] });
      }
      await new Promise<void>((resolve) => held.push(resolve));
      const count = decodeRecordBatch(init.body as Uint8Array).records.length;
      const base = nextOffset;
      nextOffset += count;
      return Response.json({ topic: "t", partition: 0, base_offset: base, last_offset: base + count - 1 });
    };
    const producer = new Producer({ fetch: fetchFunction, lingerMs: 0 });
    const first = producer.send({ topic: "t", value: "a" });
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 1000 && !condition(); i++) await Bun.sleep(1);
      expect(condition()).toBe(true);
    };
    await until(() => held.length === 1);
    let flushed = false;
    const flushing = producer.flush().then(() => (flushed = true));
    // Sent after the flush: queued behind the in-flight request, not waited for.
    const second = producer.send({ topic: "t", value: "b" });
    await Bun.sleep(5);
    expect(flushed).toBe(false);
    held.shift()!();
    await flushing;
    expect((await first).offset).toBe(0);
    await until(() => held.length === 1);
    expect(flushed).toBe(true);
    held.shift()!();
    expect((await second).offset).toBe(1);
    await producer.close();
  });

  test("resolves at once with nothing unanswered", async () => {
    const producer = new Producer({ fetch: async () => Response.json({}) });
    await producer.flush();
    await producer.close();
  });
});

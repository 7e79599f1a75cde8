import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { partitionForKey } from "../src/protocol/partitioner.ts";
import { runBroker } from "../src/run-broker.ts";
import { limits } from "../src/core/limits.ts";
import { Admin, Consumer, GafkaClientError, GroupConsumer, Producer, type ConsumerRecord, type FetchFunction } from "../src/client/index.ts";
import { RECORD_BATCH_MEDIA_TYPE } from "../src/client/wire.ts";
import { testRunConfig } from "./helpers/broker-config.ts";

/** The SDK against a real broker, in this process, on a free port and a temporary data dir. */
let dataDir: string;
let broker: Awaited<ReturnType<typeof runBroker>>;
let address: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "gafka-sdk-"));
  broker = await runBroker(testRunConfig(dataDir, { brokerId: 7, segmentBytesMax: limits.segmentBytesDefault, messageBytesMax: 64 * 1024 }));
  address = `127.0.0.1:${broker.port}`;
});

afterAll(async () => {
  await broker?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function readAll(topic: string, partition: number, count: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ broker: address, topic, partition });
  const records: ConsumerRecord[] = [];
  while (records.length < count) records.push(...(await consumer.poll({ maxRecords: count - records.length, waitMs: 5_000 })));
  await consumer.close();
  return records;
}

/** The global fetch, noting each request's and each answer's Content-Type: which format really travelled. */
function watchedFetch() {
  const sent: string[] = [];
  const answered: string[] = [];
  const fetchFunction: FetchFunction = async (url, init) => {
    sent.push((init.headers as Record<string, string>)["content-type"] ?? "");
    const response = await fetch(url, init);
    answered.push(response.headers.get("content-type") ?? "");
    return response;
  };
  return { sent, answered, fetch: fetchFunction };
}

describe("SDK against a broker", () => {
  test("Admin creates, lists, describes and deletes topics, and reports health", async () => {
    const admin = new Admin({ broker: address });
    const created = await admin.createTopic({ name: "admin-topic", partitions: 3 });
    expect(created.name).toBe("admin-topic");
    expect(created.partitions.map((partition) => partition.partition)).toEqual([0, 1, 2]);
    expect(await admin.listTopics()).toContainEqual({ name: "admin-topic", partitions: 3 });
    const described = await admin.describeTopic("admin-topic");
    expect(described.partitions[0]).toMatchObject({ partition: 0, earliestOffset: 0, nextOffset: 0, status: "online" });
    expect(described.createdAtMs).toBeGreaterThan(0);
    const exists = (await admin.createTopic({ name: "admin-topic" }).catch((error: unknown) => error)) as GafkaClientError;
    expect(exists.code).toBe("topic_exists");
    expect(exists.status).toBe(409);
    await admin.deleteTopic("admin-topic");
    const missing = (await admin.describeTopic("admin-topic").catch((error: unknown) => error)) as GafkaClientError;
    expect(missing.code).toBe("topic_not_found");
    expect(await admin.health()).toEqual({ status: "ok", brokerId: 7, offlinePartitions: [] });
  });

  test("the producer batches, lands keys where the broker's partitioner says, and order holds", async () => {
    await new Admin({ broker: address }).createTopic({ name: "orders", partitions: 2 });
    const producer = new Producer({ broker: address });
    const total = 1_000;
    const sends = Array.from({ length: total }, (_, index) => producer.send({ topic: "orders", key: `user${index % 13}`, value: `order-${index}` }));
    const results = await Promise.all(sends);
    await producer.close();

    results.forEach((metadata, index) => {
      expect(metadata.partition).toBe(partitionForKey(new TextEncoder().encode(`user${index % 13}`), 2));
    });
    for (const partition of [0, 1]) {
      const mine = results.map((metadata, index) => ({ ...metadata, index })).filter((metadata) => metadata.partition === partition);
      expect(mine.map((metadata) => metadata.offset)).toEqual(mine.map((_, position) => position));
      const stored = await readAll("orders", partition, mine.length);
      expect(stored.map((record) => record.value)).toEqual(mine.map((metadata) => `order-${metadata.index}`));
    }
  });

  test("bytes and headers round-trip", async () => {
    await new Admin({ broker: address }).createTopic({ name: "blobs" });
    const producer = new Producer({ broker: address, lingerMs: 0 });
    const value = new Uint8Array([0, 255, 1, 254, 10, 13]);
    const metadata = await producer.send({ topic: "blobs", key: "k", value, headers: { trace: "abc" } });
    await producer.send({ topic: "blobs", value: "plain", headers: [{ key: "h", value: "1" }, { key: "h", value: "2" }] });
    await producer.close();

    const binary = new Consumer({ broker: address, topic: "blobs", partition: 0, offset: metadata.offset, encoding: "binary" });
    const [first] = await binary.poll({ maxRecords: 1 });
    expect(first!.value).toEqual(value);
    expect(first!.key).toEqual(new TextEncoder().encode("k"));
    expect(first!.headers).toEqual([{ key: "trace", value: new TextEncoder().encode("abc") }]);
    await binary.close();

    const [, second] = await readAll("blobs", 0, 2);
    expect(second!.value).toBe("plain");
    expect(second!.headers).toEqual([
      { key: "h", value: "1" },
      { key: "h", value: "2" },
    ]);
  });

  test("a long poll is woken by a produce, and the for-await loop stops on close", async () => {
    await new Admin({ broker: address }).createTopic({ name: "live" });
    const consumer = new Consumer({ broker: address, topic: "live", partition: 0, offset: "latest" });
    const producer = new Producer({ broker: address, lingerMs: 0 });
    const seen: string[] = [];
    const loop = (async () => {
      for await (const records of consumer) {
        seen.push(...records.map((record) => record.value!));
        if (seen.length >= 2) await consumer.close();
      }
    })();
    // `latest` resolves on the first poll; keep producing until the loop has seen two.
    for (let index = 0; seen.length < 2; index++) {
      await producer.send({ topic: "live", value: `v${index}` });
      await Bun.sleep(20);
    }
    await loop;
    await producer.close();
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  test("the broker's refusals reach the caller as typed errors", async () => {
    await new Admin({ broker: address }).createTopic({ name: "small" });
    const producer = new Producer({ broker: address, lingerMs: 0 });
    const tooLarge = (await producer.send({ topic: "small", value: "x".repeat(100 * 1024) }).catch((error: unknown) => error)) as GafkaClientError;
    expect(tooLarge).toBeInstanceOf(GafkaClientError);
    expect(tooLarge.code).toBe("message_too_large");
    expect(tooLarge.status).toBe(413);
    const noPartition = (await producer.send({ topic: "small", value: "v", partition: 5 }).catch((error: unknown) => error)) as GafkaClientError;
    expect(noPartition.code).toBe("partition_not_found");
    await producer.close();

    const consumer = new Consumer({ broker: address, topic: "small", partition: 0, offset: 99 });
    const outOfRange = (await consumer.poll().catch((error: unknown) => error)) as GafkaClientError;
    expect(outOfRange.code).toBe("offset_out_of_range");
    expect(outOfRange.status).toBe(416);
    expect(outOfRange.details).toMatchObject({ earliest: 0, latest: 0 });
    await consumer.close();
  });

  test("records produced as record batches read back the same in both formats", async () => {
    await new Admin({ broker: address }).createTopic({ name: "binary-orders", partitions: 2 });
    const producing = watchedFetch();
    const producer = new Producer({ broker: address, fetch: producing.fetch, format: "batch", lingerMs: 1 });
    const total = 500;
    const results = await Promise.all(
      Array.from({ length: total }, (_, index) =>
        producer.send({
          topic: "binary-orders",
          key: index % 5 === 0 ? null : `user${index % 11}`,
          value: index % 50 === 7 ? null : `order-${index}-ü`,
          headers: index % 3 === 0 ? [{ key: "n", value: String(index) }, { key: "n", value: null }] : { trace: `t${index}` },
          ...(index % 2 === 0 ? { timestamp: 1_764_000_000_000 + index } : {}),
        }),
      ),
    );
    await producer.close();
    expect(producing.sent.filter((type) => type === RECORD_BATCH_MEDIA_TYPE).length).toBeGreaterThan(0);
    expect(producing.sent.filter((type) => type === "application/json")).toEqual([]);
    for (const partition of [0, 1]) {
      const mine = results.filter((metadata) => metadata.partition === partition);
      expect(mine.map((metadata) => metadata.offset)).toEqual(mine.map((_, position) => position));
    }
    results.forEach((metadata, index) => {
      if (index % 2 === 0) expect(metadata.timestamp).toBe(1_764_000_000_000 + index);
    });

    for (const partition of [0, 1]) {
      const count = results.filter((metadata) => metadata.partition === partition).length;
      const read: Record<string, ConsumerRecord<unknown>[]> = {};
      for (const format of ["batch", "json"] as const) {
        for (const encoding of ["utf8", "binary"] as const) {
          const consuming = watchedFetch();
          const consumer = new Consumer({ broker: address, topic: "binary-orders", partition, format, encoding, fetch: consuming.fetch });
          const records: ConsumerRecord<unknown>[] = [];
          // Small polls, so chunks start and end inside stored batches.
          while (records.length < count) records.push(...(await consumer.poll({ maxRecords: 7, waitMs: 5_000 })));
          await consumer.close();
          expect(consuming.answered.every((type) => type.startsWith(format === "batch" ? RECORD_BATCH_MEDIA_TYPE : "application/json"))).toBe(true);
          read[`${format}/${encoding}`] = records;
        }
      }
      expect(read["batch/utf8"]).toEqual(read["json/utf8"]!);
      expect(read["batch/binary"]).toEqual(read["json/binary"]!);
      const expected = results
        .map((metadata, index) => ({ metadata, index }))
        .filter(({ metadata }) => metadata.partition === partition)
        .map(({ metadata, index }) => ({
          topic: "binary-orders",
          partition,
          offset: metadata.offset,
          timestamp: metadata.timestamp,
          key: index % 5 === 0 ? null : `user${index % 11}`,
          value: index % 50 === 7 ? null : `order-${index}-ü`,
          headers: index % 3 === 0 ? [{ key: "n", value: String(index) }, { key: "n", value: null }] : [{ key: "trace", value: `t${index}` }],
        }));
      expect(read["batch/utf8"]).toEqual(expected);
    }
  });

  test("a group consumer reads record batches across its partitions and commits what it was handed", async () => {
    const admin = new Admin({ broker: address });
    await admin.createTopic({ name: "binary-group", partitions: 3 });
    const producer = new Producer({ broker: address });
    const total = 300;
    await Promise.all(Array.from({ length: total }, (_, index) => producer.send({ topic: "binary-group", key: `k${index}`, value: `v${index}` })));
    await producer.close();

    const consuming = watchedFetch();
    const consumer = new GroupConsumer({ broker: address, groupId: "binary-readers", topics: "binary-group", maxRecords: 40, fetch: consuming.fetch });
    const seen = new Set<string>();
    while (seen.size < total) {
      for (const record of await consumer.poll({ waitMs: 5_000 })) seen.add(record.value!);
    }
    await consumer.close({ commit: true });
    expect(seen).toEqual(new Set(Array.from({ length: total }, (_, index) => `v${index}`)));
    expect(consuming.answered.some((type) => type.startsWith(RECORD_BATCH_MEDIA_TYPE))).toBe(true);
    const status = await admin.describeGroup("binary-readers");
    expect(status.partitions.reduce((sum, partition) => sum + (partition.committedOffset ?? 0), 0)).toBe(total);
  });
});

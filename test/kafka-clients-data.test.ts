/**
 * Kafka clients on the data path of a real broker: kafkajs and
 * @platformatic/kafka produce (acks 0, 1, -1) and read back by offset
 * (no groups), keyed records land where the HTTP door puts them (both use
 * Kafka's murmur2), records cross between the doors byte for byte, and kcat
 * (librdkafka) produces and consumes.
 */
import { afterAll, expect, test } from "bun:test";
import { Consumer, Producer, ProduceAcks, stringSerializers } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { postJson, readPartition } from "./helpers/http.ts";
import { ask, decodeBatches, fetchedPartitions, fetchRequest } from "./helpers/kafka-data.ts";
import { connectRaw } from "./helpers/kafka-socket.ts";

afterAll(cleanupAll);

const broker = await startBrokerProcess();
const bootstrap = `127.0.0.1:${broker.kafkaPort!}`;
const kafka = new Kafka({ clientId: "data-test", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

async function topic(name: string, partitions = 1): Promise<string> {
  expect((await postJson(`${broker.url}/api/v1/topics`, { name, partitions })).status).toBe(201);
  return name;
}

/** Every record of a partition read over the Kafka door (raw Fetch), from offset 0. */
async function fetchAll(name: string, partition: number) {
  const socket = await connectRaw(broker.kafkaPort!);
  try {
    const { partitions } = fetchedPartitions(await ask(socket, fetchRequest([{ topic: name, partition, offset: 0 }])));
    expect(partitions[0]!.errorCode).toBe(0);
    return decodeBatches(partitions[0]!.records).records;
  } finally {
    socket.end();
  }
}

test("kafkajs: produces with acks 0, 1 and -1; keyed records land on the partitions the HTTP door picks", async () => {
  const viaKafka = await topic("kjs-keyed", 4);
  const viaHttp = await topic("kjs-keyed-http", 4);
  const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const sent = await producer.send({ topic: viaKafka, acks: 1, messages: keys.slice(0, 8).map((key) => ({ key, value: `v-${key}` })) });
    expect(sent.every((r) => r.errorCode === 0)).toBe(true);
    await producer.send({ topic: viaKafka, acks: -1, messages: keys.slice(8, 16).map((key) => ({ key, value: `v-${key}` })) });
    await producer.send({ topic: viaKafka, acks: 0, messages: keys.slice(16).map((key) => ({ key, value: `v-${key}` })) });
  } finally {
    await producer.disconnect();
  }
  const http = await postJson(`${broker.url}/api/v1/produce`, { topic: viaHttp, records: keys.map((key) => ({ key, value: `v-${key}` })) });
  expect(http.status).toBe(200);
  const httpPartition = new Map<string, number>(http.body.results.map((r: { partition: number }, i: number) => [keys[i]!, r.partition]));
  const kafkaPartition = new Map<string, number>();
  for (let partition = 0; partition < 4; partition++) {
    // acks=0 was not waited for: read until every key is there.
    for (const record of await readPartition(broker.url, viaKafka, partition)) kafkaPartition.set(record.key!, partition);
  }
  for (let attempt = 0; kafkaPartition.size < keys.length && attempt < 100; attempt++) {
    await Bun.sleep(20);
    for (let partition = 0; partition < 4; partition++) {
      for (const record of await readPartition(broker.url, viaKafka, partition)) kafkaPartition.set(record.key!, partition);
    }
  }
  expect(new Set(httpPartition.values()).size).toBeGreaterThan(1);
  expect(Object.fromEntries(kafkaPartition)).toEqual(Object.fromEntries(httpPartition));
});

test("kafkajs: records produced over Kafka read over HTTP, and over HTTP read over Kafka, byte for byte; fetchTopicOffsets", async () => {
  const name = await topic("kjs-cross");
  const producer = kafka.producer();
  await producer.connect();
  const timestamp = String(Date.now() - 60_000);
  try {
    // Both stamped: kafkajs writes a wrong maxTimestamp when only some records carry one, which gafka refuses (INVALID_RECORD).
    await producer.send({ topic: name, acks: -1, messages: [{ key: "k1", value: "from kafka", headers: { h: "one", empty: "" }, timestamp }, { key: null, value: "second", timestamp }] });
  } finally {
    await producer.disconnect();
  }
  const overHttp = await readPartition(broker.url, name, 0);
  expect(overHttp[0]).toMatchObject({ offset: 0, key: "k1", value: "from kafka", headers: { h: "one", empty: "" }, timestamp: Number(timestamp) });
  expect(overHttp[1]).toMatchObject({ offset: 1, key: null, value: "second" });

  const httpTimestamp = Date.now() - 30_000;
  const http = await postJson(`${broker.url}/api/v1/produce`, { topic: name, records: [{ partition: 0, key: "k2", value: "from http", headers: { x: "y" }, timestamp: httpTimestamp }] });
  expect(http.status).toBe(200);
  const overKafka = await fetchAll(name, 0);
  expect(overKafka.map((r) => [r.offset, text(r.key), text(r.value), r.headers.map((h) => [h.key, text(h.value)]), r.timestampMs])).toEqual([
    [0, "k1", "from kafka", [["h", "one"], ["empty", ""]], Number(timestamp)],
    [1, null, "second", [], Number(timestamp)],
    [2, "k2", "from http", [["x", "y"]], httpTimestamp],
  ]);

  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.fetchTopicOffsets(name)).toEqual([{ partition: 0, offset: "3", high: "3", low: "0" }]);
    const byTime = await admin.fetchTopicOffsetsByTimestamp(name, httpTimestamp - 1);
    expect(byTime).toEqual([{ partition: 0, offset: "2" }]);
  } finally {
    await admin.disconnect();
  }
});

test("@platformatic/kafka: produces with acks 0, 1 and -1, lists offsets and fetches from an offset", async () => {
  const name = await topic("plt-data", 2);
  const producer = new Producer({ clientId: "plt-data", bootstrapBrokers: [bootstrap], serializers: stringSerializers, retries: 1 });
  try {
    for (const [acks, value] of [[ProduceAcks.LEADER, "one"], [ProduceAcks.ALL, "all"], [ProduceAcks.NO_RESPONSE, "none"]] as const) {
      await producer.send({ acks, messages: [{ topic: name, key: "same-key", value, headers: new Map([["h", value]]) }] });
    }
  } finally {
    await producer.close();
  }
  const http = await postJson(`${broker.url}/api/v1/produce`, { topic: name, records: [{ key: "same-key", value: "http" }] });
  const partition: number = http.body.results[0].partition;
  let records = await readPartition(broker.url, name, partition);
  for (let attempt = 0; records.length < 4 && attempt < 100; attempt++) {
    await Bun.sleep(20);
    records = await readPartition(broker.url, name, partition);
  }
  // The acks=0 record is appended as its request is read, before the HTTP produce is sent.
  expect(records.map((r) => [r.key, r.value, r.headers])).toEqual([
    ["same-key", "one", { h: "one" }],
    ["same-key", "all", { h: "all" }],
    ["same-key", "none", { h: "none" }],
    ["same-key", "http", {}],
  ]);

  const consumer = new Consumer({ clientId: "plt-data-reader", groupId: "plt-unused", bootstrapBrokers: [bootstrap], retries: 1 });
  try {
    const offsets = await consumer.listOffsets({ topics: [name] });
    expect(offsets.get(name)).toEqual(partition === 0 ? [4n, 0n] : [0n, 4n]);
    const earliest = await consumer.listOffsets({ topics: [name], timestamp: -2n });
    expect(earliest.get(name)).toEqual([0n, 0n]);
    // Its lower-level fetch (no group): Fetch v11, where a topic travels by name in the topicId field.
    const fetched = await consumer.fetch({
      node: 1,
      topics: [{ topicId: name, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 1n, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
    });
    const answer = fetched.responses[0]!.partitions[0]!;
    expect(answer.errorCode).toBe(0);
    expect(answer.highWatermark).toBe(4n);
    const values = (answer.records ?? []).flatMap((batch) => batch.records.map((record) => ({ offset: batch.firstOffset + BigInt(record.offsetDelta), value: String(record.value) })));
    // Whole batches: the first may begin before the offset asked for.
    expect(values.filter((v) => v.offset >= 1n).map((v) => v.value)).toEqual(["all", "none", "http"]);
  } finally {
    await consumer.close();
  }
});

test("kcat: produces keyed lines, consumes them from the beginning, and lists the metadata", async () => {
  const kcat = Bun.which("kcat");
  if (kcat === null) {
    console.warn("kafka-clients-data.test.ts: kcat is not installed; skipping the librdkafka test");
    return;
  }
  const name = await topic("kcat-data", 3);
  const lines = Array.from({ length: 20 }, (_, i) => `key${i % 5}:value ${i}`);
  const produced = Bun.spawn([kcat, "-b", bootstrap, "-P", "-t", name, "-K:"], { stdin: new TextEncoder().encode(`${lines.join("\n")}\n`), stdout: "pipe", stderr: "pipe" });
  expect(await produced.exited).toBe(0);
  const consumed = Bun.spawn([kcat, "-b", bootstrap, "-C", "-t", name, "-o", "beginning", "-e", "-q", "-f", "%p|%o|%k=%s\\n"], { stdout: "pipe", stderr: "pipe" });
  const output = await new Response(consumed.stdout).text();
  expect(await consumed.exited).toBe(0);
  const got = output.trim().split("\n").map((line) => line.split("|"));
  expect(got.map(([, , kv]) => kv).sort()).toEqual(lines.map((line) => line.replace(":", "=")).sort());
  // Offsets of each partition run 0, 1, 2, ... and a key stays on one partition.
  const byPartition = new Map<string, number[]>();
  const keyPartition = new Map<string, string>();
  for (const [partition, offset, kv] of got) {
    byPartition.set(partition!, [...(byPartition.get(partition!) ?? []), Number(offset)]);
    const key = kv!.split("=")[0]!;
    expect(keyPartition.get(key) ?? partition).toBe(partition!);
    keyPartition.set(key, partition!);
  }
  for (const offsets of byPartition.values()) expect(offsets).toEqual(offsets.map((_, i) => i));
  const listed = Bun.spawn([kcat, "-b", bootstrap, "-L", "-t", name], { stdout: "pipe", stderr: "pipe" });
  const metadata = await new Response(listed.stdout).text();
  expect(await listed.exited).toBe(0);
  expect(metadata).toContain(`topic "${name}" with 3 partitions`);
});

import { afterAll, afterEach, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Broker, type BrokerOptions } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { partitionForKey } from "../protocol/partitioner.ts";
import { runBroker } from "../run-broker.ts";
import { systemClock } from "../core/clock.ts";
import { AssertionError } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { PartitionLog, type PartitionLogOptions } from "../storage/partition-log.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { GroupCoordinator } from "../groups/coordinator.ts";
import { startServer, type ServerOptions } from "./server.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";

interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON, loosely typed for the assertions. */
  body: any;
}

interface Started {
  url: string;
  broker: Broker;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function brokerConfig(dataDir: string, overrides: Partial<BrokerConfig>): BrokerConfig {
  return testBrokerConfig(dataDir, { brokerId: 7, messageBytesMax: 1024, ...overrides });
}

function openGroups(broker: Broker, dataDir: string): GroupCoordinator {
  return GroupCoordinator.open({ broker, dataDir, fs: nodeFileSystem, clock: systemClock, logger: silentLogger });
}

/** A broker on a temporary data dir behind a real server on 127.0.0.1, port 0; returns a stop function too. */
async function start(
  overrides: Partial<BrokerConfig> = {},
  options: BrokerOptions = {},
  serverOptions: Partial<ServerOptions> = {},
): Promise<Started & { stop: () => Promise<void> }> {
  const temp = makeTempDir("gafka-http-");
  const broker = await Broker.open(brokerConfig(temp.dir, overrides), options);
  const groups = openGroups(broker, temp.dir);
  const server = startServer({ broker, groups, host: "127.0.0.1", port: 0, logger: silentLogger, ...serverOptions });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
    await groups.close();
    await broker.close();
    temp.remove();
  };
  return { url: server.url, broker, call: caller(server.url), stop };
}

async function startForTest(...args: Parameters<typeof start>): Promise<Started> {
  const started = await start(...args);
  cleanups.push(started.stop);
  return started;
}

/** JSON bodies are sent as application/json; a string body is sent as is. */
function caller(url: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" || body instanceof ReadableStream ? body : JSON.stringify(body);
      if (!("content-type" in headers) && typeof body !== "string") (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const response = await fetch(url + path, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
  };
}

/** Waits for a condition with a generous bound; never asserts on elapsed time. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (condition()) return;
    await Bun.sleep(5);
  }
  throw new Error("condition not reached");
}

function expectError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(typeof answer.body.error.message).toBe("string");
  expect(answer.body.error.message.length).toBeGreaterThan(0);
  expect(typeof answer.body.error.retriable).toBe("boolean");
}

test("produce and consume one record, in the shapes docs/api.md gives", async () => {
  const { call } = await startForTest();
  expect((await call("POST", "/api/v1/topics", { name: "test-topic", partitions: 2 })).status).toBe(201);
  const produced = await call("POST", "/api/v1/produce", {
    topic: "test-topic",
    key: "user123",
    value: "Hello World",
    headers: { "trace-id": "abc" },
    timestamp: 1_764_000_000_000,
  });
  const partition = partitionForKey(new TextEncoder().encode("user123"), 2);
  expect(produced).toMatchObject({
    status: 200,
    body: { topic: "test-topic", partition, offset: 0, timestamp: 1_764_000_000_000 },
  });
  const consumed = await call("GET", `/api/v1/consume?topic=test-topic&partition=${partition}&offset=0&count=10&timeout=30s`);
  expect(consumed.status).toBe(200);
  expect(consumed.body).toEqual({
    topic: "test-topic",
    partition,
    records: [
      { partition, offset: 0, key: "user123", value: "Hello World", headers: { "trace-id": "abc" }, timestamp: 1_764_000_000_000 },
    ],
    next_offset: 1,
    high_watermark: 1,
  });
});

test("binary keys, values and headers travel as base64 and read back byte for byte", async () => {
  const { call } = await startForTest();
  await call("POST", "/api/v1/topics", { name: "bin" });
  const value = Uint8Array.from({ length: 256 }, (_, i) => i);
  const key = Uint8Array.from([0xff, 0x00, 0xfe]);
  const produced = await call("POST", "/api/v1/produce", {
    topic: "bin",
    key: key.toBase64(),
    key_encoding: "base64",
    value: value.toBase64(),
    value_encoding: "base64",
    headers: [
      { key: "dup", value: Uint8Array.from([1]).toBase64() },
      { key: "dup", value: null },
    ],
  });
  expect(produced.status).toBe(200);
  await call("POST", "/api/v1/produce", { topic: "bin", value: null });
  const consumed = await call("GET", "/api/v1/consume?topic=bin&partition=0&value_encoding=base64");
  const [first, second] = consumed.body.records;
  expect(Uint8Array.fromBase64(first.key)).toEqual(key);
  expect(Uint8Array.fromBase64(first.value)).toEqual(value);
  expect(first.headers).toEqual([
    { key: "dup", value: "AQ==" },
    { key: "dup", value: null },
  ]);
  expect(second).toMatchObject({ offset: 1, key: null, value: null, headers: {} });
  const asText = await call("GET", "/api/v1/consume?topic=bin&partition=0&offset=1");
  expect(asText.body.records[0].value).toBeNull();
});

test("the batch form answers one result per record in request order; keys pick partitionForKey", async () => {
  const { call } = await startForTest();
  await call("POST", "/api/v1/topics", { name: "t", partitions: 4 });
  const keys = ["alpha", "beta", "gamma", "delta", "epsilon"];
  const answer = await call("POST", "/api/v1/produce", {
    topic: "t",
    records: [...keys.map((key) => ({ key, value: `v-${key}` })), { value: "explicit", partition: 3 }],
  });
  expect(answer.status).toBe(200);
  expect(answer.body.topic).toBe("t");
  const results: { partition: number; offset: number; timestamp: number }[] = answer.body.results;
  expect(results).toHaveLength(keys.length + 1);
  keys.forEach((key, i) => expect(results[i]!.partition).toBe(partitionForKey(new TextEncoder().encode(key), 4)));
  expect(results[keys.length]!.partition).toBe(3);
  for (const [i, result] of results.entries()) {
    const read = await call("GET", `/api/v1/consume?topic=t&partition=${result.partition}&offset=${result.offset}&count=1`);
    expect(read.body.records[0].value).toBe(i < keys.length ? `v-${keys[i]}` : "explicit");
  }
});

test("a long poll answers as soon as a produce lands, and with an empty list after a short timeout", async () => {
  const { call } = await startForTest();
  await call("POST", "/api/v1/topics", { name: "t" });
  const waiting = call("GET", "/api/v1/consume?topic=t&partition=0&offset=latest&timeout=10s");
  await call("POST", "/api/v1/produce", { topic: "t", value: "wake up" });
  const woken = await waiting;
  expect(woken.status).toBe(200);
  expect(woken.body.records.map((stored: { value: string }) => stored.value)).toEqual(["wake up"]);
  const empty = await call("GET", "/api/v1/consume?topic=t&partition=0&offset=1&timeout=50ms");
  expect(empty.body).toEqual({ topic: "t", partition: 0, records: [], next_offset: 1, high_watermark: 1 });
});

test("topics: create (201, default one partition), list, describe, delete; health", async () => {
  const { call } = await startForTest();
  const created = await call("POST", "/api/v1/topics", { name: "one" });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    name: "one",
    partitions: [{ partition: 0, earliest_offset: 0, next_offset: 0, size_bytes: 0, status: "online" }],
  });
  expect(typeof created.body.created_at).toBe("number");
  await call("POST", "/api/v1/topics", { name: "two", partitions: 2 });
  await call("POST", "/api/v1/produce", { topic: "two", value: "x", partition: 1 });
  expect((await call("GET", "/api/v1/topics")).body).toEqual({
    topics: [
      { name: "one", partitions: 1 },
      { name: "two", partitions: 2 },
    ],
  });
  const described = await call("GET", "/api/v1/topics/two");
  expect(described.status).toBe(200);
  expect(described.body.partitions[1]).toMatchObject({ partition: 1, earliest_offset: 0, next_offset: 1, status: "online" });
  expect(described.body.partitions[1].size_bytes).toBeGreaterThan(0);
  expect(await call("DELETE", "/api/v1/topics/one")).toMatchObject({ status: 200, body: { deleted: "one" } });
  expect((await call("GET", "/api/v1/topics")).body.topics).toEqual([{ name: "two", partitions: 2 }]);
  expect(await call("GET", "/healthz")).toMatchObject({
    status: 200,
    body: { status: "ok", broker_id: 7, offline_partitions: [] },
  });
});

describe("every bad input gets its status and error body, and stored data reads back unchanged", () => {
  let started: Started & { stop: () => Promise<void> };
  let before: unknown[];
  const readEverything = async () => [
    (await started.call("GET", "/api/v1/consume?topic=t&partition=0")).body,
    (await started.call("GET", "/api/v1/consume?topic=t&partition=1")).body,
    (await started.call("GET", "/api/v1/topics")).body,
    (await started.call("GET", "/api/v1/topics/t")).body,
  ];

  beforeAll(async () => {
    started = await start({ messageBytesMax: 100 });
    await started.call("POST", "/api/v1/topics", { name: "t", partitions: 2 });
    await started.call("POST", "/api/v1/produce", {
      topic: "t",
      records: [
        { value: "a", partition: 0 },
        { value: "b", partition: 1, key: "k" },
        { value: "c", partition: 0 },
      ],
    });
    before = await readEverything();
  });
  afterAll(async () => {
    await started.stop();
  });

  const long = "x".repeat(250);
  const cases: [string, string, string, unknown, Record<string, string> | undefined, number, string][] = [
    ["produce: malformed JSON", "POST", "/api/v1/produce", '{"topic": "t", ', { "content-type": "application/json" }, 400, "invalid_request"],
    ["produce: empty body", "POST", "/api/v1/produce", "", { "content-type": "application/json" }, 400, "invalid_request"],
    ["produce: body is an array", "POST", "/api/v1/produce", [{ topic: "t", value: "x" }], undefined, 400, "invalid_request"],
    ["produce: missing topic", "POST", "/api/v1/produce", { value: "x" }, undefined, 400, "invalid_request"],
    ["produce: topic not a string", "POST", "/api/v1/produce", { topic: 5, value: "x" }, undefined, 400, "invalid_request"],
    ["produce: missing value", "POST", "/api/v1/produce", { topic: "t", key: "k" }, undefined, 400, "invalid_request"],
    ["produce: value not a string", "POST", "/api/v1/produce", { topic: "t", value: 5 }, undefined, 400, "invalid_request"],
    ["produce: key not a string", "POST", "/api/v1/produce", { topic: "t", key: {}, value: "x" }, undefined, 400, "invalid_request"],
    ["produce: negative partition", "POST", "/api/v1/produce", { topic: "t", value: "x", partition: -1 }, undefined, 400, "invalid_request"],
    ["produce: partition as text", "POST", "/api/v1/produce", { topic: "t", value: "x", partition: "0" }, undefined, 400, "invalid_request"],
    ["produce: fractional partition", "POST", "/api/v1/produce", { topic: "t", value: "x", partition: 1.5 }, undefined, 400, "invalid_request"],
    ["produce: bad timestamp", "POST", "/api/v1/produce", { topic: "t", value: "x", timestamp: "now" }, undefined, 400, "invalid_request"],
    ["produce: headers not an object", "POST", "/api/v1/produce", { topic: "t", value: "x", headers: "h" }, undefined, 400, "invalid_request"],
    ["produce: header value a number", "POST", "/api/v1/produce", { topic: "t", value: "x", headers: { h: 5 } }, undefined, 400, "invalid_request"],
    ["produce: header without key", "POST", "/api/v1/produce", { topic: "t", value: "x", headers: [{ value: "v" }] }, undefined, 400, "invalid_request"],
    ["produce: too many headers", "POST", "/api/v1/produce", { topic: "t", value: "x", headers: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, ""])) }, undefined, 400, "invalid_request"],
    ["produce: bad base64", "POST", "/api/v1/produce", { topic: "t", value: "$$$", value_encoding: "base64" }, undefined, 400, "invalid_request"],
    ["produce: unknown encoding", "POST", "/api/v1/produce", { topic: "t", value: "x", value_encoding: "hex" }, undefined, 400, "invalid_request"],
    ["produce: records not an array", "POST", "/api/v1/produce", { topic: "t", records: {} }, undefined, 400, "invalid_request"],
    ["produce: empty records", "POST", "/api/v1/produce", { topic: "t", records: [] }, undefined, 400, "invalid_request"],
    ["produce: record not an object", "POST", "/api/v1/produce", { topic: "t", records: ["x"] }, undefined, 400, "invalid_request"],
    ["produce: batch record missing value", "POST", "/api/v1/produce", { topic: "t", records: [{ value: "ok" }, { key: "k" }] }, undefined, 400, "invalid_request"],
    ["produce: records and value both", "POST", "/api/v1/produce", { topic: "t", value: "x", records: [{ value: "y" }] }, undefined, 400, "invalid_request"],
    ["produce: bad topic name", "POST", "/api/v1/produce", { topic: "a/b", value: "x" }, undefined, 400, "invalid_request"],
    ["produce: unknown topic", "POST", "/api/v1/produce", { topic: "nope", value: "x" }, undefined, 404, "topic_not_found"],
    ["produce: unknown partition", "POST", "/api/v1/produce", { topic: "t", value: "x", partition: 2 }, undefined, 404, "partition_not_found"],
    ["produce: record too large", "POST", "/api/v1/produce", { topic: "t", value: "v".repeat(101) }, undefined, 413, "message_too_large"],
    ["produce: batch with one record too large", "POST", "/api/v1/produce", { topic: "t", records: [{ value: "ok" }, { key: "k".repeat(50), value: "v".repeat(51) }] }, undefined, 413, "message_too_large"],
    ["produce: no content type", "POST", "/api/v1/produce", '{"topic": "t", "value": "x"}', {}, 415, "unsupported_media_type"],
    ["produce: text/plain", "POST", "/api/v1/produce", '{"topic": "t", "value": "x"}', { "content-type": "text/plain" }, 415, "unsupported_media_type"],
    ["produce: form encoded (curl -d without -H)", "POST", "/api/v1/produce", "topic=t", { "content-type": "application/x-www-form-urlencoded" }, 415, "unsupported_media_type"],
    ["consume: missing topic", "GET", "/api/v1/consume?partition=0", undefined, undefined, 400, "invalid_request"],
    ["consume: missing partition", "GET", "/api/v1/consume?topic=t", undefined, undefined, 400, "invalid_request"],
    ["consume: negative partition", "GET", "/api/v1/consume?topic=t&partition=-1", undefined, undefined, 400, "invalid_request"],
    ["consume: partition not a number", "GET", "/api/v1/consume?topic=t&partition=abc", undefined, undefined, 400, "invalid_request"],
    ["consume: offset not a number", "GET", "/api/v1/consume?topic=t&partition=0&offset=first", undefined, undefined, 400, "invalid_request"],
    ["consume: count zero", "GET", "/api/v1/consume?topic=t&partition=0&count=0", undefined, undefined, 400, "invalid_request"],
    ["consume: count over 10000", "GET", "/api/v1/consume?topic=t&partition=0&count=10001", undefined, undefined, 400, "invalid_request"],
    ["consume: bad duration", "GET", "/api/v1/consume?topic=t&partition=0&timeout=soon", undefined, undefined, 400, "invalid_request"],
    ["consume: timeout over 30s", "GET", "/api/v1/consume?topic=t&partition=0&timeout=31s", undefined, undefined, 400, "invalid_request"],
    ["consume: unknown encoding", "GET", "/api/v1/consume?topic=t&partition=0&value_encoding=hex", undefined, undefined, 400, "invalid_request"],
    ["consume: bad topic name", "GET", "/api/v1/consume?topic=..&partition=0", undefined, undefined, 400, "invalid_request"],
    ["consume: unknown topic", "GET", "/api/v1/consume?topic=nope&partition=0", undefined, undefined, 404, "topic_not_found"],
    ["consume: unknown partition", "GET", "/api/v1/consume?topic=t&partition=2", undefined, undefined, 404, "partition_not_found"],
    ["consume: offset above the high watermark", "GET", "/api/v1/consume?topic=t&partition=0&offset=99", undefined, undefined, 416, "offset_out_of_range"],
    ["create: malformed JSON", "POST", "/api/v1/topics", "{name", { "content-type": "application/json" }, 400, "invalid_request"],
    ["create: missing name", "POST", "/api/v1/topics", { partitions: 1 }, undefined, 400, "invalid_request"],
    ["create: name with a slash", "POST", "/api/v1/topics", { name: "a/b" }, undefined, 400, "invalid_request"],
    ["create: name '..'", "POST", "/api/v1/topics", { name: ".." }, undefined, 400, "invalid_request"],
    ["create: empty name", "POST", "/api/v1/topics", { name: "" }, undefined, 400, "invalid_request"],
    ["create: name over 249 characters", "POST", "/api/v1/topics", { name: long }, undefined, 400, "invalid_request"],
    ["create: zero partitions", "POST", "/api/v1/topics", { name: "u", partitions: 0 }, undefined, 400, "invalid_request"],
    ["create: 101 partitions", "POST", "/api/v1/topics", { name: "u", partitions: 101 }, undefined, 400, "invalid_request"],
    ["create: partitions as text", "POST", "/api/v1/topics", { name: "u", partitions: "2" }, undefined, 400, "invalid_request"],
    ["create: fractional partitions", "POST", "/api/v1/topics", { name: "u", partitions: 1.5 }, undefined, 400, "invalid_request"],
    ["create: existing topic", "POST", "/api/v1/topics", { name: "t", partitions: 2 }, undefined, 409, "topic_exists"],
    ["create: no content type", "POST", "/api/v1/topics", '{"name": "u"}', {}, 415, "unsupported_media_type"],
    ["describe: unknown topic", "GET", "/api/v1/topics/nope", undefined, undefined, 404, "topic_not_found"],
    ["describe: bad name", "GET", "/api/v1/topics/a%2Fb", undefined, undefined, 400, "invalid_request"],
    ["delete: unknown topic", "DELETE", "/api/v1/topics/nope", undefined, undefined, 404, "topic_not_found"],
    ["unknown route", "GET", "/api/v1/nothing", undefined, undefined, 404, "not_found"],
    ["unknown route under a topic", "GET", "/api/v1/topics/t/partitions", undefined, undefined, 404, "not_found"],
    ["produce with GET", "GET", "/api/v1/produce", undefined, undefined, 405, "method_not_allowed"],
    ["consume with POST", "POST", "/api/v1/consume", { topic: "t" }, undefined, 405, "method_not_allowed"],
    ["topics with PUT", "PUT", "/api/v1/topics", { name: "u" }, undefined, 405, "method_not_allowed"],
    ["a topic with POST", "POST", "/api/v1/topics/t", {}, undefined, 405, "method_not_allowed"],
    ["health with DELETE", "DELETE", "/healthz", undefined, undefined, 405, "method_not_allowed"],
  ];

  test.each(cases)("%s", async (_name, method, path, body, headers, status, code) => {
    expectError(await started.call(method, path, body, headers), status, code);
  });

  test("416 carries earliest and latest; 413 carries the limit; 405 says what is allowed", async () => {
    const outOfRange = await started.call("GET", "/api/v1/consume?topic=t&partition=0&offset=99");
    expect(outOfRange.body.error).toMatchObject({ earliest: 0, latest: 2, retriable: false });
    const tooLarge = await started.call("POST", "/api/v1/produce", { topic: "t", value: "v".repeat(101) });
    expect(tooLarge.body.error).toMatchObject({ size_bytes: 101, max_bytes: 100 });
    const wrongMethod = await started.call("POST", "/api/v1/topics/t", {});
    expect(wrongMethod.headers.get("allow")).toBe("GET, DELETE");
    expect(wrongMethod.body.error.allowed).toEqual(["GET", "DELETE"]);
    const missingField = await started.call("POST", "/api/v1/produce", { topic: "t", records: [{ value: "ok" }, { key: "k" }] });
    expect(missingField.body.error.field).toBe("records[1].value");
  });

  test("afterwards the stored data reads back unchanged", async () => {
    expect(await readEverything()).toEqual(before);
    expect((before[0] as { records: { value: string }[] }).records.map((stored) => stored.value)).toEqual(["a", "c"]);
  });
});

test("a body over the request limit is 413, with or without Content-Length, and stores nothing", async () => {
  const { call } = await startForTest({}, {}, { requestBytesMax: 1000 });
  await call("POST", "/api/v1/topics", { name: "t" });
  const big = JSON.stringify({ topic: "t", records: Array.from({ length: 40 }, () => ({ value: "v".repeat(20) })) });
  expect(big.length).toBeGreaterThan(1000);
  const sized = await call("POST", "/api/v1/produce", big, { "content-type": "application/json" });
  expectError(sized, 413, "message_too_large");
  expect(sized.body.error.max_bytes).toBe(1000);
  const chunks = [big.slice(0, 600), big.slice(600)];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks.shift();
      if (chunk === undefined) controller.close();
      else controller.enqueue(new TextEncoder().encode(chunk));
    },
  });
  expectError(await call("POST", "/api/v1/produce", stream, { "content-type": "application/json" }), 413, "message_too_large");
  expect((await call("GET", "/api/v1/consume?topic=t&partition=0")).body.records).toEqual([]);
});

test("long polls beyond the broker's limit are 429 too_many_requests", async () => {
  const { call, broker } = await startForTest({}, { waitingPollsMax: 1 });
  await call("POST", "/api/v1/topics", { name: "t" });
  const waiting = call("GET", "/api/v1/consume?topic=t&partition=0&timeout=10s");
  await waitFor(() => broker.waitingPollCount === 1);
  const refused = await call("GET", "/api/v1/consume?topic=t&partition=0&timeout=10s");
  expectError(refused, 429, "too_many_requests");
  expect(refused.body.error.retriable).toBe(true);
  await call("POST", "/api/v1/produce", { topic: "t", value: "x" });
  expect((await waiting).body.records).toHaveLength(1);
});

/**
 * A server over topic t with `partitions` partitions, reopened so that
 * partition `refused` is refused at open as corrupt (its message naming the
 * segment file by its full path, as the storage layer does).
 */
async function serverWithRefusedPartition(partitions: number, refused: number) {
  const openLog = (options: PartitionLogOptions): PartitionLogApi => {
    if (options.name === `t-${refused}` && refuse) {
      throw new GafkaError("log_corrupt", `partition t-${refused} refused: ${options.dir}/00000000000000000000.log is corrupt at position 77`);
    }
    return PartitionLog.open(options);
  };
  let refuse = false;
  const temp = makeTempDir("gafka-http-");
  cleanups.push(temp.remove);
  const first = await Broker.open(brokerConfig(temp.dir, {}), { openLog });
  await first.createTopic("t", partitions);
  await first.close();
  refuse = true;
  const broker = await Broker.open(brokerConfig(temp.dir, {}), { openLog });
  const groups = openGroups(broker, temp.dir);
  const server = startServer({ broker, groups, host: "127.0.0.1", port: 0, logger: silentLogger });
  cleanups.push(async () => {
    await server.stop();
    await groups.close();
    await broker.close();
  });
  return caller(server.url);
}

test("a corrupt partition answers 503 log_corrupt and health is degraded, while the others serve", async () => {
  const call = await serverWithRefusedPartition(2, 1);
  const refused = await call("GET", "/api/v1/consume?topic=t&partition=1");
  expectError(refused, 503, "log_corrupt");
  expect(refused.body.error.retriable).toBe(false);
  expect(refused.body.error.message).toContain("position 77");
  expectError(await call("POST", "/api/v1/produce", { topic: "t", value: "x", partition: 1 }), 503, "log_corrupt");
  expect((await call("POST", "/api/v1/produce", { topic: "t", value: "x", partition: 0 })).status).toBe(200);
  const health = await call("GET", "/healthz");
  expect(health.body).toMatchObject({
    status: "degraded",
    offline_partitions: [{ topic: "t", partition: 1, status: "corrupt" }],
  });
  const described = await call("GET", "/api/v1/topics/t");
  expect(described.body.partitions[1]).toMatchObject({ status: "corrupt", next_offset: null });
});

test("storage failures' answers name files relative to the data dir, never the data dir's place on the host", async () => {
  const fs = new FaultyFileSystem();
  const { call, broker } = await startForTest({ fs });
  const dataDir = broker.config.dataDir;
  await call("POST", "/api/v1/topics", { name: "t" });
  for (let i = 0; i < 10; i++) await call("POST", "/api/v1/produce", { topic: "t", value: `record-${i}` });
  // The disk damages the seventh of ten equal frames under the running broker.
  const segment = path.join(dataDir, "t-0", "00000000000000000000.log");
  const bytes = readFileSync(segment);
  const seventh = (bytes.length / 10) * 6;
  bytes[seventh + 60]! ^= 0x20;
  writeFileSync(segment, bytes);
  const refused = await call("GET", "/api/v1/consume?topic=t&partition=0&offset=6&timeout=0");
  expectError(refused, 503, "log_corrupt");
  expect(refused.body.error.message).toContain(`t-0/00000000000000000000.log`);
  expect(refused.body.error.file).toBe("t-0/00000000000000000000.log");
  expect(JSON.stringify(refused.body)).not.toContain(dataDir);
  // A failed write of the topics file.
  fs.pathFault = (_operation, filePath) => (filePath.endsWith("topics.json") ? "EIO" : undefined);
  const failed = await call("POST", "/api/v1/topics", { name: "u" });
  expectError(failed, 503, "storage_failed");
  expect(failed.body.error.message).toStartWith("could not write topics.json: ");
  expect(JSON.stringify(failed.body)).not.toContain(dataDir);
});

test("a partition refused at open is described, in topics and health, relative to the data dir", async () => {
  const call = await serverWithRefusedPartition(1, 0);
  const expected = "partition t-0 refused: t-0/00000000000000000000.log is corrupt at position 77";
  expect((await call("GET", "/api/v1/topics/t")).body.partitions[0].error).toBe(expected);
  expect((await call("GET", "/healthz")).body.offline_partitions[0].error).toBe(expected);
  expect((await call("GET", "/api/v1/consume?topic=t&partition=0")).body.error.message).toBe(expected);
});

test("a full disk answers 503 storage_full, never acknowledges, and earlier records read back unchanged", async () => {
  const fs = new FaultyFileSystem();
  const { call } = await startForTest({ fs });
  await call("POST", "/api/v1/topics", { name: "t" });
  await call("POST", "/api/v1/produce", { topic: "t", value: "kept" });
  fs.failWrites = 1;
  const failed = await call("POST", "/api/v1/produce", { topic: "t", value: "lost" });
  expectError(failed, 503, "storage_full");
  expect(failed.body.error.retriable).toBe(true);
  expect(failed.headers.get("retry-after")).toBe("1");
  fs.failSyncs = 1;
  expectError(await call("POST", "/api/v1/produce", { topic: "t", value: "lost too" }), 503, "storage_failed");
  let read: Answer | undefined;
  for (let attempt = 0; attempt < 200; attempt++) {
    // The partition reopens through recovery after the failed fsync; wait for it.
    read = await call("GET", "/api/v1/consume?topic=t&partition=0");
    if (read.status === 200) break;
    await Bun.sleep(10);
  }
  expect(read!.body.records.map((stored: { value: string }) => stored.value)).toEqual(["kept"]);
});

test("a bug while handling a request is 500 internal_error, and the server keeps serving", async () => {
  const openLog = (options: PartitionLogOptions): PartitionLogApi => {
    const log = PartitionLog.open(options);
    log.read = () => {
      throw new TypeError("cannot read properties of undefined");
    };
    return log;
  };
  const { call } = await startForTest({}, { openLog });
  await call("POST", "/api/v1/topics", { name: "t" });
  const answer = await call("GET", "/api/v1/consume?topic=t&partition=0");
  expect(answer.status).toBe(500);
  expect(answer.body.error.code).toBe("internal_error");
  expect((await call("GET", "/healthz")).status).toBe(200);
});

test("a bug's 500 names no path, stack or internal text, only an incident id that the log line carries with the details", async () => {
  const openLog = (options: PartitionLogOptions): PartitionLogApi => {
    const log = PartitionLog.open(options);
    log.read = () => {
      throw new AssertionError(`${options.dir}/00000000000000000000.index: entry 3 goes back from offset 9 to 4`);
    };
    return log;
  };
  const logged: unknown[][] = [];
  const logger = { ...silentLogger, error: (...args: unknown[]) => logged.push(args) };
  const { call, broker } = await startForTest({}, { openLog }, { logger });
  const dataDir = broker.config.dataDir;
  await call("POST", "/api/v1/topics", { name: "t" });
  const answer = await call("GET", "/api/v1/consume?topic=t&partition=0");
  expect(answer.status).toBe(500);
  const { code, message, incident, retriable } = answer.body.error;
  expect([code, retriable]).toEqual(["internal_error", false]);
  expect(incident).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(message).toBe(`internal error; incident ${incident}`);
  const text = JSON.stringify(answer.body);
  for (const leaked of [dataDir, ".index", "invariant", "offset 9", "AssertionError", "    at "]) expect(text).not.toContain(leaked);
  // The log line: the same id, where, and the error itself (message and stack) for the operator.
  expect(logged).toHaveLength(1);
  const [line, error] = logged[0]!;
  expect(line).toContain(`incident ${incident}`);
  expect(line).toContain("GET /api/v1/consume");
  expect(error).toBeInstanceOf(AssertionError);
  expect((error as Error).message).toContain(`${dataDir}/t-0/00000000000000000000.index`);
  expect((error as Error).stack).toContain("at ");
  // Each incident has its own id.
  const again = await call("GET", "/api/v1/consume?topic=t&partition=0");
  expect(again.body.error.incident).not.toBe(incident);
});

test("runBroker prints one 'listening on' line, serves, and stops idempotently, waking long polls", async () => {
  const temp = makeTempDir("gafka-run-");
  cleanups.push(temp.remove);
  const written: string[] = [];
  const write = spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  });
  let running: Awaited<ReturnType<typeof runBroker>>;
  try {
    running = await runBroker({ ...brokerConfig(temp.dir, {}), host: "127.0.0.1", port: 0 });
  } finally {
    write.mockRestore();
  }
  cleanups.push(() => running.stop());
  expect(written).toEqual([`listening on http://127.0.0.1:${running.port}\n`]);
  expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
  const call = caller(running.url);
  await call("POST", "/api/v1/topics", { name: "t" });
  await call("POST", "/api/v1/produce", { topic: "t", value: "durable" });
  const waiting = call("GET", "/api/v1/consume?topic=t&partition=0&offset=latest&timeout=30s");
  await waitFor(() => running.broker.waitingPollCount === 1);
  await Promise.all([running.stop(), running.stop()]);
  expect(await waiting).toMatchObject({ status: 200, body: { records: [] } });
  await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();

  const again = await runBroker({ ...brokerConfig(temp.dir, {}), host: "127.0.0.1", port: 0 });
  cleanups.push(() => again.stop());
  const read = await caller(again.url)("GET", "/api/v1/consume?topic=t&partition=0");
  expect(read.body.records.map((stored: { value: string }) => stored.value)).toEqual(["durable"]);
});

import { afterEach, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { nodeFileSystem, type FileSystem } from "../storage/file-system.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { PartitionLog, type PartitionLogOptions } from "../storage/partition-log.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { Broker, type BrokerOptions, type ProduceRecord } from "./broker.ts";
import type { BrokerConfig } from "./config.ts";
import { partitionForKey } from "../protocol/partitioner.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { gafkaErrorOf } from "../../test/helpers/gafka-error.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const text = (value: Uint8Array | null) => (value === null ? null : decoder.decode(value));
const record = (value: string, extra: Partial<ProduceRecord> = {}): ProduceRecord => ({
  key: null,
  value: bytes(value),
  headers: [],
  ...extra,
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const { dir, remove } = makeTempDir("gafka-broker-");
  cleanups.push(remove);
  return dir;
}

function configFor(dataDir: string, overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  return testBrokerConfig(dataDir, { brokerId: 1, messageBytesMax: 1024, ...overrides });
}

async function openBroker(dataDir: string, overrides: Partial<BrokerConfig> = {}, options: BrokerOptions = {}) {
  const broker = await Broker.open(configFor(dataDir, overrides), options);
  cleanups.push(() => broker.close().catch(() => {}));
  return broker;
}

async function readAll(broker: Broker, topic: string, partition: number) {
  const result = await broker.fetch({ topic, partition, offset: "earliest", maxRecords: 10_000, waitMs: 0 });
  return result.records.map((stored) => ({ offset: stored.offset, key: text(stored.key), value: text(stored.value) }));
}

/** Wraps the real log factory, counting appends (batches) per partition. */
function countingLogs() {
  const appends = new Map<string, number[]>();
  const openLog = (options: PartitionLogOptions): PartitionLogApi => {
    const log = PartitionLog.open(options);
    const append = log.append.bind(log);
    log.append = (records) => {
      appends.set(options.name, [...(appends.get(options.name) ?? []), records.length]);
      return append(records);
    };
    return log;
  };
  return { appends, openLog };
}

test("create, list, describe and delete topics", async () => {
  const dataDir = tempDir();
  const broker = await openBroker(dataDir);
  const created = await broker.createTopic("orders", 3);
  expect(created.name).toBe("orders");
  expect(created.partitions).toEqual(
    [0, 1, 2].map((partition) => ({
      partition,
      earliestOffset: 0,
      nextOffset: 0,
      sizeBytes: 0,
      status: "online" as const,
    })),
  );
  await broker.createTopic("audit", 1);
  expect(broker.listTopics()).toEqual([
    { name: "audit", partitionCount: 1 },
    { name: "orders", partitionCount: 3 },
  ]);
  expect(nodeFs.existsSync(path.join(dataDir, "orders-2"))).toBe(true);

  await broker.produce("orders", [record("x", { partition: 1 })]);
  const described = broker.describeTopic("orders");
  expect(described.partitions[1]!.nextOffset).toBe(1);
  expect(described.partitions[1]!.sizeBytes).toBeGreaterThan(0);

  await broker.deleteTopic("orders");
  expect(broker.listTopics()).toEqual([{ name: "audit", partitionCount: 1 }]);
  expect(nodeFs.existsSync(path.join(dataDir, "orders-0"))).toBe(false);
  expect((await gafkaErrorOf(() => broker.describeTopic("orders"))).code).toBe("topic_not_found");
  expect((await gafkaErrorOf(broker.deleteTopic("orders"))).code).toBe("topic_not_found");
});

test("bad topic requests: exists 409, unknown 404, bad name and partition count 400", async () => {
  const broker = await openBroker(tempDir());
  await broker.createTopic("t", 2);
  expect((await gafkaErrorOf(broker.createTopic("t", 2))).code).toBe("topic_exists");
  expect((await gafkaErrorOf(broker.createTopic("a/b", 1))).code).toBe("invalid_request");
  expect((await gafkaErrorOf(broker.createTopic("..", 1))).code).toBe("invalid_request");
  expect((await gafkaErrorOf(broker.createTopic("u", 0))).code).toBe("invalid_request");
  expect((await gafkaErrorOf(broker.createTopic("u", 101))).code).toBe("invalid_request");
  expect((await gafkaErrorOf(broker.produce("nope", [record("x")]))).code).toBe("topic_not_found");
  expect((await gafkaErrorOf(broker.produce("a/b", [record("x")]))).code).toBe("invalid_request");
  expect((await gafkaErrorOf(broker.produce("t", [record("x", { partition: 2 })]))).code).toBe("partition_not_found");
  expect((await gafkaErrorOf(broker.fetch({ topic: "t", partition: 5, offset: 0, maxRecords: 1, waitMs: 0 }))).code).toBe(
    "partition_not_found",
  );
  expect((await gafkaErrorOf(broker.produce("t", []))).code).toBe("invalid_request");
  expect(broker.listTopics()).toEqual([{ name: "t", partitionCount: 2 }]);
});

test("topic metadata and records survive a close and reopen", async () => {
  const dataDir = tempDir();
  const first = await openBroker(dataDir);
  await first.createTopic("kept", 2);
  await first.createTopic("dropped", 1);
  await first.produce("kept", [record("a", { partition: 0 }), record("b", { partition: 1 }), record("c", { partition: 0 })]);
  await first.deleteTopic("dropped");
  const createdAtMs = first.describeTopic("kept").createdAtMs;
  await first.close();

  const second = await openBroker(dataDir);
  expect(second.listTopics()).toEqual([{ name: "kept", partitionCount: 2 }]);
  expect(second.describeTopic("kept").createdAtMs).toBe(createdAtMs);
  expect(await readAll(second, "kept", 0)).toEqual([
    { offset: 0, key: null, value: "a" },
    { offset: 1, key: null, value: "c" },
  ]);
  expect(await readAll(second, "kept", 1)).toEqual([{ offset: 0, key: null, value: "b" }]);
});

test("a keyed record lands on partitionForKey(key, n); an explicit partition wins", async () => {
  const broker = await openBroker(tempDir());
  await broker.createTopic("t", 7);
  for (const key of ["user123", "a", "", "ключ", "user-42"]) {
    const [result] = await broker.produce("t", [record("v", { key: bytes(key) })]);
    expect(result!.partition).toBe(partitionForKey(bytes(key), 7));
  }
  const [explicit] = await broker.produce("t", [record("v", { key: bytes("user123"), partition: 3 })]);
  expect(explicit!.partition).toBe(3);
  expect((await readAll(broker, "t", 3)).at(-1)).toEqual({ offset: explicit!.offset, key: "user123", value: "v" });
});

test("keyless records are spread over every partition", async () => {
  const broker = await openBroker(tempDir());
  await broker.createTopic("t", 3);
  const partitions = new Set<number>();
  for (let i = 0; i < 6; i++) partitions.add((await broker.produce("t", [record(`v${i}`)]))[0]!.partition);
  expect([...partitions].sort()).toEqual([0, 1, 2]);
});

test("a batch answers one result per record in request order, one append per partition", async () => {
  const { appends, openLog } = countingLogs();
  const broker = await openBroker(tempDir(), {}, { openLog });
  await broker.createTopic("t", 3);
  const records = [
    record("p2-a", { partition: 2 }),
    record("p0-a", { partition: 0 }),
    record("p2-b", { partition: 2 }),
    record("p1-a", { partition: 1 }),
    record("p2-c", { partition: 2, timestampMs: 1_700_000_000_000 }),
  ];
  const results = await broker.produce("t", records);
  expect(results.map((result) => [result.partition, result.offset])).toEqual([
    [2, 0],
    [0, 0],
    [2, 1],
    [1, 0],
    [2, 2],
  ]);
  expect(results[4]!.timestampMs).toBe(1_700_000_000_000);
  expect(appends.get("t-2")).toEqual([3]);
  expect(appends.get("t-0")).toEqual([1]);
  expect(appends.get("t-1")).toEqual([1]);
  expect((await readAll(broker, "t", 2)).map((stored) => stored.value)).toEqual(["p2-a", "p2-b", "p2-c"]);
});

test("a record over messageBytesMax (key + value + headers) is message_too_large and stores nothing", async () => {
  const broker = await openBroker(tempDir(), { messageBytesMax: 100 });
  await broker.createTopic("t", 1);
  await broker.produce("t", [record("kept")]);
  const fits = { key: bytes("k".repeat(40)), value: bytes("v".repeat(40)), headers: [{ key: "h".repeat(10), value: bytes("x".repeat(10)) }] };
  expect((await broker.produce("t", [fits]))[0]!.offset).toBe(1);
  const over = { ...fits, headers: [{ key: "h".repeat(10), value: bytes("x".repeat(11)) }] };
  const error = await gafkaErrorOf(broker.produce("t", [record("ok"), over]));
  expect(error.code).toBe("message_too_large");
  expect(error.details).toMatchObject({ record: 1, size_bytes: 101, max_bytes: 100 });
  expect((await readAll(broker, "t", 0)).map((stored) => stored.offset)).toEqual([0, 1]);
});

test("fetch reads from earliest, latest or an offset; out of range is 416 with earliest and latest", async () => {
  const broker = await openBroker(tempDir());
  await broker.createTopic("t", 1);
  await broker.produce("t", ["a", "b", "c"].map((value) => record(value)));
  const fetch = (offset: number | "earliest" | "latest", maxRecords = 100) =>
    broker.fetch({ topic: "t", partition: 0, offset, maxRecords, waitMs: 0 });
  expect((await fetch("earliest")).records.map((stored) => text(stored.value))).toEqual(["a", "b", "c"]);
  const latest = await fetch("latest");
  expect(latest).toEqual({ records: [], batches: new Uint8Array(0), offset: 3, nextOffset: 3, highWatermark: 3 });
  const limited = await fetch(1, 1);
  expect(limited.records.map((stored) => stored.offset)).toEqual([1]);
  expect(limited.nextOffset).toBe(2);
  expect(limited.highWatermark).toBe(3);
  const outOfRange = await gafkaErrorOf(fetch(4));
  expect(outOfRange.code).toBe("offset_out_of_range");
  expect(outOfRange.details).toMatchObject({ earliest: 0, latest: 3 });
});

test("a long poll returns as soon as a produce lands, and empty after a short timeout", async () => {
  const broker = await openBroker(tempDir());
  await broker.createTopic("t", 2);
  const waiting = broker.fetch({ topic: "t", partition: 1, offset: 0, maxRecords: 10, waitMs: 10_000 });
  await broker.produce("t", [record("other", { partition: 0 })]);
  await broker.produce("t", [record("hello", { partition: 1 })]);
  const woken = await waiting;
  expect(woken.records.map((stored) => text(stored.value))).toEqual(["hello"]);
  expect(woken.nextOffset).toBe(1);

  const empty = await broker.fetch({ topic: "t", partition: 1, offset: "latest", maxRecords: 10, waitMs: 50 });
  expect(empty).toEqual({ records: [], batches: new Uint8Array(0), offset: 1, nextOffset: 1, highWatermark: 1 });
});

test("long polls beyond waitingPollsMax are too_many_requests; an aborted poll frees its place", async () => {
  const broker = await openBroker(tempDir(), {}, { waitingPollsMax: 1 });
  await broker.createTopic("t", 1);
  const aborter = new AbortController();
  const first = broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 1, waitMs: 10_000, signal: aborter.signal });
  const refused = await gafkaErrorOf(broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 1, waitMs: 10_000 }));
  expect(refused.code).toBe("too_many_requests");
  expect(refused.retriable).toBe(true);
  // A fetch that need not wait is never refused.
  expect((await broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 1, waitMs: 0 })).records).toEqual([]);
  aborter.abort();
  expect((await first).records).toEqual([]);
  const second = broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 1, waitMs: 10_000 });
  await broker.produce("t", [record("x")]);
  expect((await second).records).toHaveLength(1);
});

test("waitForAny waits for a record at any of the positions without reading it, as one poll within the waiting-polls limit", async () => {
  const broker = await openBroker(tempDir(), {}, { waitingPollsMax: 1 });
  await broker.createTopic("t", 3);
  await broker.createTopic("u", 1);
  await broker.produce("t", [record("there", { partition: 0 })]);
  const at = (topic: string, partition: number, offset: number) => ({ topic, partition, offset });
  await broker.waitForAny([at("t", 1, 0), at("t", 0, 0)], 10_000, []); // already there: at once
  let woken = false;
  const waiting = broker.waitForAny([at("t", 1, 0), at("t", 2, 0), at("u", 0, 0)], 10_000, []).then(() => (woken = true));
  expect((await gafkaErrorOf(broker.waitForAny([at("t", 0, 1)], 10_000, []))).code).toBe("too_many_requests");
  expect((await gafkaErrorOf(broker.fetch({ topic: "t", partition: 0, offset: 1, maxRecords: 1, waitMs: 10_000 }))).code).toBe("too_many_requests");
  await broker.produce("t", [record("other", { partition: 0 })]);
  await Bun.sleep(10);
  expect(woken).toBe(false);
  await broker.produce("u", [record("here")]);
  await waiting;
  expect(woken).toBe(true);
  // Every partition's waiter went with the wait: a later append wakes nothing stale, and the limit is free again.
  await broker.produce("t", [record("late", { partition: 2 })]);
  await broker.waitForAny([at("t", 1, 0)], 20, []); // ends at its timeout
  const controller = new AbortController();
  const aborted = broker.waitForAny([at("t", 1, 0)], 10_000, [undefined, controller.signal]);
  controller.abort();
  await aborted;
  await broker.waitForAny([at("t", 1, 0)], 10_000, [AbortSignal.abort()]); // aborted already: at once
  const deleted = broker.waitForAny([at("t", 1, 0), at("u", 0, 1)], 10_000, []);
  await broker.deleteTopic("t");
  await deleted; // ended by the deletion; the read after it finds the topic gone
  expect((await gafkaErrorOf(broker.waitForAny([at("t", 1, 0)], 10_000, []))).code).toBe("topic_not_found");
});

test("deleting a topic ends its long polls with topic_not_found", async () => {
  const broker = await openBroker(tempDir());
  await broker.createTopic("t", 1);
  // Its refusal is taken at once: it may come while deleteTopic is still at work.
  const waiting = gafkaErrorOf(broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 1, waitMs: 10_000 }));
  await broker.deleteTopic("t");
  expect((await waiting).code).toBe("topic_not_found");
});

test("a topic re-created after a delete starts empty, even over leftover directories", async () => {
  const dataDir = tempDir();
  const broker = await openBroker(dataDir);
  await broker.createTopic("t", 1);
  await broker.produce("t", [record("old")]);
  nodeFs.cpSync(path.join(dataDir, "t-0"), path.join(dataDir, "backup"), { recursive: true });
  await broker.deleteTopic("t");
  expect(nodeFs.existsSync(path.join(dataDir, "t-0"))).toBe(false);
  // As if a delete had been interrupted after its metadata write: directories nobody owns.
  nodeFs.cpSync(path.join(dataDir, "backup"), path.join(dataDir, "t-0"), { recursive: true });
  nodeFs.cpSync(path.join(dataDir, "backup"), path.join(dataDir, "t-9"), { recursive: true });
  await broker.createTopic("t-1", 1); // "t-1-0" must not be mistaken for partition 1 of "t"
  await broker.produce("t-1", [record("other topic")]);
  await broker.createTopic("t", 2);
  expect(await readAll(broker, "t", 0)).toEqual([]);
  expect(nodeFs.existsSync(path.join(dataDir, "t-9"))).toBe(false);
  expect(await readAll(broker, "t-1", 0)).toEqual([{ offset: 0, key: null, value: "other topic" }]);
});

test("a partition whose log is corrupt is refused with 503 log_corrupt while the others serve", async () => {
  const dataDir = tempDir();
  const first = await openBroker(dataDir);
  await first.createTopic("t", 2);
  for (const value of ["a", "b", "c"]) await first.produce("t", [record(value, { partition: 1 })]);
  await first.produce("t", [record("safe", { partition: 0 })]);
  await first.close();
  const segment = path.join(dataDir, "t-1", "00000000000000000000.log");
  const damaged = nodeFs.readFileSync(segment);
  damaged[30]! ^= 0x01; // inside the first frame's batch; valid frames follow
  nodeFs.writeFileSync(segment, damaged);

  const second = await openBroker(dataDir);
  const refusal = await gafkaErrorOf(second.fetch({ topic: "t", partition: 1, offset: 0, maxRecords: 10, waitMs: 0 }));
  expect(refusal.code).toBe("log_corrupt");
  expect(refusal.message).toContain(segment);
  expect((await gafkaErrorOf(second.produce("t", [record("x", { partition: 1 })]))).code).toBe("log_corrupt");
  expect(await readAll(second, "t", 0)).toEqual([{ offset: 0, key: null, value: "safe" }]);
  await second.produce("t", [record("still serving", { partition: 0 })]);
  const described = second.describeTopic("t").partitions;
  expect(described[0]!.status).toBe("online");
  expect(described[1]).toMatchObject({ status: "corrupt", earliestOffset: null, nextOffset: null, sizeBytes: null });
  expect(described[1]!.error).toContain(segment);
  expect(second.unhealthyPartitions()).toEqual([{ topic: "t", partition: 1, status: "corrupt", error: refusal.message }]);
});

test("a failed append (disk full) is not acknowledged, names the partition, and earlier records read back", async () => {
  const fs = new FaultyFileSystem();
  const broker = await openBroker(tempDir(), { fs });
  await broker.createTopic("t", 2);
  await broker.produce("t", [record("before-0", { partition: 0 }), record("before-1", { partition: 1 })]);
  fs.failWrites = 1;
  const error = await gafkaErrorOf(broker.produce("t", [record("lost", { partition: 1 })]));
  expect(error.code).toBe("storage_full");
  expect(error.retriable).toBe(true);
  expect(error.details).toMatchObject({ topic: "t", partition: 1 });
  expect(error.message).toContain("t-1");
  expect(await readAll(broker, "t", 1)).toEqual([{ offset: 0, key: null, value: "before-1" }]);
  const [after] = await broker.produce("t", [record("after", { partition: 1 })]);
  expect(after!.offset).toBe(1);
});

test("close waits for in-flight appends, wakes long polls, then refuses with shutting_down", async () => {
  let releaseSync: () => void = () => {};
  const syncGate = new Promise<void>((resolve) => (releaseSync = resolve));
  let holdSyncs = false;
  const fs: FileSystem = {
    ...nodeFileSystem,
    fdatasync: async (fd) => {
      if (holdSyncs) await syncGate;
      return nodeFileSystem.fdatasync(fd);
    },
  };
  const dataDir = tempDir();
  const broker = await openBroker(dataDir, { fs });
  await broker.createTopic("t", 1);
  const poll = broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 1, waitMs: 10_000 });
  holdSyncs = true;
  const inFlight = broker.produce("t", [record("in flight")]);
  const closing = broker.close();
  expect((await gafkaErrorOf(broker.produce("t", [record("late")]))).code).toBe("shutting_down");
  expect((await gafkaErrorOf(broker.createTopic("u", 1))).code).toBe("shutting_down");
  releaseSync();
  const [acknowledged] = await inFlight;
  expect(acknowledged!.offset).toBe(0);
  await closing;
  expect(await poll).toEqual({ records: [], batches: new Uint8Array(0), offset: 0, nextOffset: 0, highWatermark: 0 });
  await broker.close(); // idempotent

  const reopened = await openBroker(dataDir);
  expect(await readAll(reopened, "t", 0)).toEqual([{ offset: 0, key: null, value: "in flight" }]);
});

test("a log that fails to open for another reason fails Broker.open", async () => {
  const dataDir = tempDir();
  const first = await openBroker(dataDir);
  await first.createTopic("t", 2);
  await first.close();
  const openLog = (options: PartitionLogOptions): PartitionLogApi => {
    if (options.name === "t-1") throw new Error("EACCES: permission denied");
    return PartitionLog.open(options);
  };
  await expect(Broker.open(configFor(dataDir), { openLog })).rejects.toThrow("EACCES");
});

import { afterEach, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import type { ErrorCode } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { FaultyFileSystem, type PathOperation } from "../../test/helpers/faulty-fs.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { Broker } from "./broker.ts";
import type { BrokerConfig } from "./config.ts";
import { gafkaErrorOf } from "../../test/helpers/gafka-error.ts";

/** Topic creation is all or nothing: the name limit that keeps directories valid, and every failure undone. */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const { dir, remove } = makeTempDir("gafka-create-");
  cleanups.push(remove);
  return dir;
}

async function openBroker(dataDir: string, overrides: Partial<BrokerConfig> = {}): Promise<Broker> {
  const broker = await Broker.open(testBrokerConfig(dataDir, overrides));
  cleanups.push(() => broker.close().catch(() => {}));
  return broker;
}

/** What is in the data dir apart from the files every broker has (and the commit journal's directory). */
function partitionDirectories(dataDir: string): string[] {
  return nodeFs
    .readdirSync(dataDir)
    .filter((entry) => entry !== "journal" && nodeFs.statSync(path.join(dataDir, entry)).isDirectory())
    .sort();
}

const value = (text: string) => ({ key: null, value: new TextEncoder().encode(text), headers: [] });

test("topic names are at most 249 characters (Kafka's), so every partition directory is a valid file name", async () => {
  const dataDir = tempDir();
  const broker = await openBroker(dataDir);
  await broker.createTopic("keep", 1);
  const topicsFile = nodeFs.readFileSync(path.join(dataDir, "topics.json"), "utf8");
  // 254 and 255 failed with ENAMETOOLONG; 253 with 11 partitions failed at partition 10 and left 0-9 behind.
  for (const [length, partitions] of [[250, 1], [254, 1], [255, 1], [253, 11]] as const) {
    const refusal = await gafkaErrorOf(broker.createTopic("x".repeat(length), partitions));
    expect(refusal.code).toBe("invalid_request");
    expect(refusal.message).toBe("topic name is longer than 249 characters");
  }
  expect(partitionDirectories(dataDir)).toEqual(["keep-0"]);
  expect(nodeFs.readFileSync(path.join(dataDir, "topics.json"), "utf8")).toBe(topicsFile);

  const longest = "y".repeat(249);
  await broker.createTopic(longest, limits.partitionsPerTopicMax);
  const [stored] = await broker.produce(longest, [{ ...value("at the far end"), partition: 99 }]);
  expect(stored!.offset).toBe(0);
  await broker.close();
  const reopened = await openBroker(dataDir);
  const read = await reopened.fetch({ topic: longest, partition: 99, offset: 0, maxRecords: 10, waitMs: 0 });
  expect(read.records.map((record) => new TextDecoder().decode(record.value!))).toEqual(["at the far end"]);
});

test("a topic of 250-253 characters created before the limit still loads and serves", async () => {
  const dataDir = tempDir();
  const legacy = "z".repeat(253);
  nodeFs.writeFileSync(
    path.join(dataDir, "topics.json"),
    JSON.stringify({ version: 1, topics: [{ name: legacy, partitions: 2, created_at: 1 }] }),
  );
  const broker = await openBroker(dataDir);
  expect(broker.listTopics()).toEqual([{ name: legacy, partitionCount: 2 }]);
  await broker.produce(legacy, [{ ...value("old"), partition: 1 }]);
  expect((await broker.fetch({ topic: legacy, partition: 1, offset: 0, maxRecords: 1, waitMs: 0 })).records).toHaveLength(1);
});

const midCreationFaults: { what: string; operation: PathOperation; at: (dataDir: string, filePath: string) => boolean; code: string; expected: ErrorCode }[] = [
  { what: "a full disk making partition 2's directory", operation: "mkdirp", at: (_, p) => p.endsWith(`${path.sep}t-2`), code: "ENOSPC", expected: "storage_full" },
  { what: "an I/O error opening partition 3's segment", operation: "openReadWrite", at: (_, p) => p.includes(`${path.sep}t-3${path.sep}`), code: "EIO", expected: "storage_failed" },
  { what: "a failed fsync of the data dir", operation: "syncDirectory", at: (d, p) => p === d, code: "EIO", expected: "storage_failed" },
  { what: "a full disk writing topics.json", operation: "writeFileAtomic", at: (_, p) => p.endsWith("topics.json"), code: "ENOSPC", expected: "storage_full" },
];

for (const fault of midCreationFaults) {
  test(`topic creation is all or nothing: ${fault.what} is ${fault.expected}, leaves no directory and topics.json as it was`, async () => {
    const dataDir = tempDir();
    const fs = new FaultyFileSystem();
    const broker = await openBroker(dataDir, { fs });
    await broker.createTopic("keep", 2);
    await broker.produce("keep", [{ ...value("kept"), partition: 1 }]);
    const topicsFile = nodeFs.readFileSync(path.join(dataDir, "topics.json"), "utf8");

    const calls: string[] = [];
    let armed = true;
    fs.pathFault = (operation, filePath) => {
      calls.push(`${operation} ${filePath}`);
      if (armed && operation === fault.operation && fault.at(dataDir, filePath)) {
        armed = false;
        return fault.code;
      }
      return undefined;
    };
    const failure = await gafkaErrorOf(broker.createTopic("t", 5));
    expect(armed).toBe(false);
    expect(failure.code).toBe(fault.expected);
    expect(failure.retriable).toBe(true);
    expect(failure.message).toContain(fault.code);

    expect(partitionDirectories(dataDir)).toEqual(["keep-0", "keep-1"]);
    expect(nodeFs.readFileSync(path.join(dataDir, "topics.json"), "utf8")).toBe(topicsFile);
    expect(broker.listTopics()).toEqual([{ name: "keep", partitionCount: 2 }]);
    expect((await gafkaErrorOf(broker.produce("t", [value("nowhere")]))).code).toBe("topic_not_found");
    // The removal is durable: the data dir is fsynced after the last directory went.
    const lastRemoval = calls.findLastIndex((call) => call.startsWith(`removeRecursive ${path.join(dataDir, "t-")}`));
    expect(lastRemoval).toBeGreaterThanOrEqual(0);
    expect(calls.slice(lastRemoval + 1)).toContain(`syncDirectory ${dataDir}`);

    // Nothing of the failed attempt is in the way of the next one, nor of a restart.
    const created = await broker.createTopic("t", 5);
    expect(created.partitions.map((partition) => partition.nextOffset)).toEqual([0, 0, 0, 0, 0]);
    await broker.close();
    const reopened = await openBroker(dataDir);
    expect(reopened.listTopics().map((topic) => topic.name)).toEqual(["keep", "t"]);
    expect((await reopened.fetch({ topic: "keep", partition: 1, offset: 0, maxRecords: 1, waitMs: 0 })).records).toHaveLength(1);
  });
}

test("checkTopicCreate refuses what createTopic would, the same way, and creates nothing", async () => {
  const dataDir = tempDir();
  const broker = await openBroker(dataDir, { partitionsMax: 4 });
  await broker.createTopic("taken", 1);
  const before = partitionDirectories(dataDir);
  const refusalOf = async (run: () => unknown) => gafkaErrorOf(run);
  expect((await refusalOf(() => broker.checkTopicCreate("bad name!", 1))).details?.field).toBe("name");
  expect((await refusalOf(() => broker.checkTopicCreate("fine", 0))).details?.field).toBe("partitions");
  expect((await refusalOf(() => broker.checkTopicCreate("fine", 1, undefined, { "retention.ms": "soon" }))).details?.field).toBe("configs");
  expect((await refusalOf(() => broker.checkTopicCreate("taken", 1))).code).toBe("topic_exists");
  expect((await refusalOf(() => broker.checkTopicCreate("fine", 4))).code).toBe("limit_reached");
  broker.checkTopicCreate("fine", 3, undefined, { "cleanup.policy": "compact" });
  expect(partitionDirectories(dataDir)).toEqual(before);
  expect(broker.listTopics().map((topic) => topic.name)).toEqual(["taken"]);
});

test("a new topic's partition directories are fsync'ed together, once each, after every first segment file exists and before the topic is recorded", async () => {
  const dataDir = tempDir();
  const fs = new FaultyFileSystem();
  const broker = await openBroker(dataDir, { fs });
  const calls: [PathOperation, string][] = [];
  fs.pathFault = (operation, filePath) => {
    if (filePath.includes(`${path.sep}t-`) || filePath.endsWith("topics.json")) calls.push([operation, path.relative(dataDir, filePath)]);
    return undefined;
  };
  await broker.createTopic("t", 5);
  const dirSyncs = calls.filter(([operation]) => operation === "syncDirectory" || operation === "syncDirectorySync");
  expect(dirSyncs.map(([operation, where]) => `${operation} ${where}`).sort()).toEqual([0, 1, 2, 3, 4].map((n) => `syncDirectory t-${n}`));
  const firstDirSync = calls.findIndex(([operation]) => operation === "syncDirectory");
  const createdBefore = calls.slice(0, firstDirSync).filter(([operation, where]) => operation === "openReadWrite" && where.endsWith(".log"));
  expect(createdBefore.map(([, where]) => where)).toEqual([0, 1, 2, 3, 4].map((n) => path.join(`t-${n}`, "00000000000000000000.log")));
  const recorded = calls.findIndex(([operation, where]) => operation === "writeFileAtomic" && where === "topics.json");
  expect(calls.findLastIndex(([operation]) => operation === "syncDirectory")).toBeLessThan(recorded);
});

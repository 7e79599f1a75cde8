import { afterEach, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import { nodeFileSystem, type FileSystem } from "../storage/file-system.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { partitionDirectory, TOPICS_FILE_NAME, TopicRegistry } from "./topic-registry.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const { dir, remove } = makeTempDir("gafka-registry-");
  cleanups.push(remove);
  return dir;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GafkaError ? error.code : `not a GafkaError: ${String(error)}`;
  }
  return "resolved";
}

test("an empty data directory has no topics", () => {
  expect(TopicRegistry.load(tempDir(), nodeFileSystem).list()).toEqual([]);
});

test("created topics are in topics.json when create resolves, and load back", async () => {
  const dir = tempDir();
  const registry = TopicRegistry.load(dir, nodeFileSystem);
  await registry.create("orders", 3, 1_764_000_000_000);
  await registry.create("audit.log", 1, 1_764_000_000_001);
  const onDisk = JSON.parse(nodeFs.readFileSync(path.join(dir, TOPICS_FILE_NAME), "utf8"));
  expect(onDisk).toEqual({
    version: 1,
    topics: [
      { name: "audit.log", partitions: 1, created_at: 1_764_000_000_001 },
      { name: "orders", partitions: 3, created_at: 1_764_000_000_000 },
    ],
  });
  const reloaded = TopicRegistry.load(dir, nodeFileSystem);
  expect(reloaded.list()).toEqual([
    { name: "audit.log", partitionCount: 1, createdAtMs: 1_764_000_000_001, configs: {} },
    { name: "orders", partitionCount: 3, createdAtMs: 1_764_000_000_000, configs: {} },
  ]);
  expect(reloaded.get("orders")?.partitionCount).toBe(3);
  expect(reloaded.get("missing")).toBeUndefined();
});

test("a topic's overrides are in topics.json with it when create or alterConfigs resolves, and load back", async () => {
  const dir = tempDir();
  const registry = TopicRegistry.load(dir, nodeFileSystem);
  await registry.create("logs", 1, 1_764_000_000_000, { "segment.ms": "60000", "retention.ms": "3600000" });
  await registry.alterConfigs("logs", { "retention.ms": "7200000", "cleanup.policy": "compact" });
  const onDisk = JSON.parse(nodeFs.readFileSync(path.join(dir, TOPICS_FILE_NAME), "utf8"));
  expect(onDisk.topics).toEqual([
    { name: "logs", partitions: 1, created_at: 1_764_000_000_000, configs: { "cleanup.policy": "compact", "retention.ms": "7200000" } },
  ]);
  expect(TopicRegistry.load(dir, nodeFileSystem).get("logs")?.configs).toEqual({ "cleanup.policy": "compact", "retention.ms": "7200000" });
  expect(await codeOf(registry.alterConfigs("missing", {}))).toBe("topic_not_found");
});

test("a topics.json with a bad configuration value is damaged, naming the topic", () => {
  const dir = tempDir();
  nodeFs.writeFileSync(
    path.join(dir, TOPICS_FILE_NAME),
    JSON.stringify({ version: 1, topics: [{ name: "logs", partitions: 1, created_at: 1, configs: { "retention.ms": "soon" } }] }),
  );
  expect(() => TopicRegistry.load(dir, nodeFileSystem)).toThrow(/topics\[0\]: bad configs: retention.ms must be/);
});

test("a second create of the same name is topic_exists, even when both race", async () => {
  const registry = TopicRegistry.load(tempDir(), nodeFileSystem);
  const outcomes = await Promise.all([codeOf(registry.create("t", 1, 1)), codeOf(registry.create("t", 2, 2))]);
  expect(outcomes.sort()).toEqual(["resolved", "topic_exists"]);
  expect(await codeOf(registry.create("t", 1, 3))).toBe("topic_exists");
  expect(registry.list()).toHaveLength(1);
});

test("bad names and partition counts are invalid_request and change nothing", async () => {
  const dir = tempDir();
  const registry = TopicRegistry.load(dir, nodeFileSystem);
  for (const name of ["", ".", "..", "a/b", "sp ace", "x".repeat(250)]) {
    expect(await codeOf(registry.create(name, 1, 1))).toBe("invalid_request");
  }
  for (const count of [0, -1, 101, 1.5, Number.NaN]) {
    expect(await codeOf(registry.create("t", count, 1))).toBe("invalid_request");
  }
  expect(await codeOf(registry.create("x".repeat(249), 100, 1))).toBe("resolved");
  expect(TopicRegistry.load(dir, nodeFileSystem).list().map((topic) => topic.name)).toEqual(["x".repeat(249)]);
});

test("delete removes the topic durably; deleting an unknown topic is topic_not_found", async () => {
  const dir = tempDir();
  const registry = TopicRegistry.load(dir, nodeFileSystem);
  await registry.create("a", 1, 1);
  await registry.create("b", 2, 2);
  expect((await registry.delete("a")).name).toBe("a");
  expect(TopicRegistry.load(dir, nodeFileSystem).list().map((topic) => topic.name)).toEqual(["b"]);
  expect(await codeOf(registry.delete("a"))).toBe("topic_not_found");
});

test("a failed metadata write is storage_full / storage_failed and the topic does not exist", async () => {
  const dir = tempDir();
  let failure: string | undefined;
  const fs: FileSystem = {
    ...nodeFileSystem,
    writeFileAtomic: async (filePath, data) => {
      if (failure) throw Object.assign(new Error(`${failure}: injected`), { code: failure });
      return nodeFileSystem.writeFileAtomic(filePath, data);
    },
  };
  const registry = TopicRegistry.load(dir, fs);
  await registry.create("kept", 1, 1);
  failure = "ENOSPC";
  expect(await codeOf(registry.create("lost", 1, 2))).toBe("storage_full");
  failure = "EIO";
  expect(await codeOf(registry.delete("kept"))).toBe("storage_failed");
  expect(registry.list().map((topic) => topic.name)).toEqual(["kept"]);
  failure = undefined;
  expect(await codeOf(registry.create("later", 1, 3))).toBe("resolved");
  expect(TopicRegistry.load(dir, nodeFileSystem).list().map((topic) => topic.name)).toEqual(["kept", "later"]);
});

test("a damaged topics.json refuses to load, naming the file", () => {
  for (const content of ["{not json", '{"version": 9, "topics": []}', '{"version": 1, "topics": [{"name": "../x", "partitions": 1, "created_at": 1}]}',
    '{"version": 1, "topics": [{"name": "a", "partitions": 0, "created_at": 1}]}',
    '{"version": 1, "topics": [{"name": "a", "partitions": 1, "created_at": 1}, {"name": "a", "partitions": 1, "created_at": 1}]}']) {
    const dir = tempDir();
    nodeFs.writeFileSync(path.join(dir, TOPICS_FILE_NAME), content);
    expect(() => TopicRegistry.load(dir, nodeFileSystem)).toThrow(path.join(dir, TOPICS_FILE_NAME));
  }
});

test("a leftover temp file from an interrupted write is ignored", async () => {
  const dir = tempDir();
  const registry = TopicRegistry.load(dir, nodeFileSystem);
  await registry.create("t", 2, 1);
  nodeFs.writeFileSync(path.join(dir, `${TOPICS_FILE_NAME}.tmp`), "{half");
  expect(TopicRegistry.load(dir, nodeFileSystem).list().map((topic) => topic.name)).toEqual(["t"]);
});

test("partition directories follow Kafka's <topic>-<partition> layout", () => {
  expect(partitionDirectory("/data", "orders", 3)).toBe(path.join("/data", "orders-3"));
  expect(partitionDirectory("/data", "a-1", 0)).toBe(path.join("/data", "a-1-0"));
});

import { afterEach, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import { silentLogger, type Logger } from "../core/logger.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { type CommittedOffset, OffsetStore } from "./offset-store.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function dir(): string {
  const temp = makeTempDir("gafka-offsets-");
  cleanups.push(temp.remove);
  return temp.dir;
}

function open(dataDir: string, options: { compactAfterEntries?: number; logger?: Logger; fs?: FaultyFileSystem } = {}): OffsetStore {
  const store = OffsetStore.open({ dataDir, fs: options.fs ?? nodeFileSystem, logger: options.logger ?? silentLogger, compactAfterEntries: options.compactAfterEntries });
  cleanups.push(() => store.close());
  return store;
}

const entry = (group: string, partition: number, offset: number): CommittedOffset => ({ group, topic: "t", partition, offset, committedAtMs: 1 });

test("commits are durable and the last one per partition wins on replay", async () => {
  const dataDir = dir();
  const store = open(dataDir);
  await store.commit([entry("g", 0, 5), entry("g", 1, 7)]);
  await Promise.all([store.commit([entry("g", 0, 9)]), store.commit([entry("h", 0, 1)])]);
  await store.close();
  const reopened = open(dataDir);
  expect(reopened.get("g", "t", 0)?.offset).toBe(9);
  expect(reopened.get("g", "t", 1)?.offset).toBe(7);
  expect(reopened.groups()).toEqual(["g", "h"]);
  await reopened.deleteGroup("g", 2);
  expect(reopened.groups()).toEqual(["h"]);
  await reopened.close();
  expect(open(dataDir).offsetsOf("g")).toEqual([]);
});

test("a torn last entry is cut off; damage followed by entries refuses to open", async () => {
  const dataDir = dir();
  const store = open(dataDir);
  for (let i = 0; i < 5; i++) await store.commit([entry("g", 0, i)]);
  await store.close();
  const file = path.join(dataDir, "consumer-offsets.log");
  const whole = readFileSync(file);
  const warnings: string[] = [];
  writeFileSync(file, whole.subarray(0, whole.length - 3));
  const torn = open(dataDir, { logger: { ...silentLogger, warn: (m: unknown) => void warnings.push(String(m)) } });
  expect(torn.get("g", "t", 0)?.offset).toBe(3);
  expect(warnings[0]).toContain("torn tail");
  await torn.close();

  const damaged = Buffer.from(whole);
  damaged[20] ^= 0xff;
  writeFileSync(file, damaged);
  expect(() => open(dataDir)).toThrow(GafkaError);
  expect(statSync(file).size).toBe(whole.length);
});

test("the file is compacted so it does not grow without bound", async () => {
  const dataDir = dir();
  const store = open(dataDir, { compactAfterEntries: 50 });
  for (let i = 0; i < 500; i++) await store.commit([entry("g", i % 3, i)]);
  const file = path.join(dataDir, "consumer-offsets.log");
  expect(statSync(file).size).toBeLessThan(60 * 60);
  await store.close();
  const reopened = open(dataDir);
  expect([0, 1, 2].map((p) => reopened.get("g", "t", p)?.offset)).toEqual([498, 499, 497]);
});

test("a failed fsync is never acknowledged and refuses later commits", async () => {
  const fs = new FaultyFileSystem();
  const store = open(dir(), { fs });
  await store.commit([entry("g", 0, 1)]);
  fs.failSyncs = 1;
  await expect(store.commit([entry("g", 0, 2)])).rejects.toThrow(/fsync|EIO/);
  await expect(store.commit([entry("g", 0, 3)])).rejects.toThrow(GafkaError);
});

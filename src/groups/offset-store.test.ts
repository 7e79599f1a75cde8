import { afterEach, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
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

/** The real file system, but the fdatasync of the first compaction's new file waits until released. */
class HeldCompactionSync extends FaultyFileSystem {
  private compactionFd = -1;
  held: (() => void) | undefined;
  /** The held fdatasync fails with EIO once released. */
  failCompactionSync = false;
  override openReadWrite = (filePath: string) => {
    const fd = nodeFileSystem.openReadWrite(filePath);
    if (filePath.endsWith(".compact")) this.compactionFd = fd;
    return fd;
  };
  override fdatasync = async (fd: number): Promise<void> => {
    if (fd === this.compactionFd && this.held === undefined) {
      // Only the compaction's own fsync: once swapped in, the file is synced as any other.
      this.compactionFd = -1;
      await new Promise<void>((resolve) => (this.held = resolve));
      if (this.failCompactionSync) {
        this.failCompactionSync = false;
        throw Object.assign(new Error("EIO: injected fault, fdatasync"), { code: "EIO" });
      }
    }
    return nodeFileSystem.fdatasync(fd);
  };
}

test("a compaction's fsyncs do not hold the event loop, and commits made meanwhile are in the new file", async () => {
  const dataDir = dir();
  const fs = new HeldCompactionSync();
  const store = open(dataDir, { compactAfterEntries: 20, fs });
  for (let i = 0; i < 30 && fs.held === undefined; i++) await store.commit([entry("g", i % 2, i)]);
  expect(fs.held).toBeDefined();
  // The compaction waits for its fsync; commits go on being written, and reads see them.
  const during = [store.commit([entry("g", 0, 100)]), store.commit([entry("h", 5, 7), entry("g", 1, 101)])];
  expect(store.get("g", "t", 0)?.offset).toBe(100);
  fs.held!();
  await Promise.all(during);
  await store.commit([entry("g", 2, 102)]);
  await store.close();
  const file = path.join(dataDir, "consumer-offsets.log");
  expect(statSync(file).size).toBeLessThan(20 * 60);
  const reopened = open(dataDir);
  expect([0, 1, 2].map((p) => reopened.get("g", "t", p)?.offset)).toEqual([100, 101, 102]);
  expect(reopened.get("h", "t", 5)?.offset).toBe(7);
});

test("a compaction whose fsync fails is skipped and the old file goes on", async () => {
  const dataDir = dir();
  const fs = new HeldCompactionSync();
  const warnings: string[] = [];
  const store = open(dataDir, { compactAfterEntries: 20, fs, logger: { ...silentLogger, warn: (m: unknown) => void warnings.push(String(m)) } });
  for (let i = 0; i < 30 && fs.held === undefined; i++) await store.commit([entry("g", i % 2, i)]);
  const during = store.commit([entry("g", 0, 200)]);
  fs.failCompactionSync = true;
  fs.held!();
  await during;
  expect(warnings.join("\n")).toContain("compaction skipped");
  await store.close();
  expect(open(dataDir).get("g", "t", 0)?.offset).toBe(200);
});

test("the acknowledged view takes a write only once it is acknowledged, in sequence order", async () => {
  const dataDir = dir();
  const store = open(dataDir);
  const shipped: number[] = [];
  store.onCommit((_entries, sequence) => shipped.push(sequence));
  const first = await store.commit([entry("g", 0, 5)]);
  const [second, third] = await Promise.all([store.commit([entry("g", 0, 9), entry("g", 1, 2)]), store.commit([entry("g", 0, 12)])]);
  expect([first, second, third]).toEqual([1, 2, 3]);
  expect(shipped).toEqual([1, 2, 3]);
  expect(await store.commit([])).toBe(0);
  // Written (where members read on from, what replication ships) at once; acknowledged: nothing yet.
  expect(store.get("g", "t", 0)?.offset).toBe(12);
  expect(store.acknowledged("g", "t", 0)).toBeUndefined();
  store.acknowledge(2);
  expect(store.acknowledgedOf("g").map((c) => [c.partition, c.offset])).toEqual([
    [0, 9],
    [1, 2],
  ]);
  store.acknowledge(1); // never backwards
  expect(store.acknowledged("g", "t", 0)?.offset).toBe(9);
  await store.deleteGroup("g", 2);
  expect(store.acknowledged("g", "t", 1)?.offset).toBe(2);
  store.acknowledge(store.lastSequence);
  expect(store.acknowledgedOf("g")).toEqual([]);
  // What the file holds was durable: after a restart it is acknowledged.
  await store.commit([entry("h", 0, 1)]);
  await store.close();
  expect(open(dataDir).acknowledged("h", "t", 0)?.offset).toBe(1);
});

test("too many writes awaiting acknowledgement refuse further commits (503 not_enough_replicas)", async () => {
  const store = open(dir());
  const writes: Promise<number>[] = [];
  for (let i = 0; i < limits.offsetWritesUnacknowledgedMax; i++) writes.push(store.commit([entry("g", 0, i)]));
  await Promise.all(writes);
  const refused = await store.commit([entry("g", 0, 5)]).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(GafkaError);
  expect((refused as GafkaError).code).toBe("not_enough_replicas");
  expect((refused as GafkaError).retriable).toBe(true);
  store.acknowledge(store.lastSequence);
  expect(await store.commit([entry("g", 0, 1)])).toBe(limits.offsetWritesUnacknowledgedMax + 1);
});

test("after a failed fsync the store drops what it had not acknowledged, reopens through recovery and takes commits again", async () => {
  const fs = new FaultyFileSystem();
  const dataDir = dir();
  const store = open(dataDir, { fs });
  const first = await store.commit([entry("g", 0, 1)]);
  fs.failSyncs = 1;
  await expect(store.commit([entry("g", 0, 2)])).rejects.toThrow(/fsync|EIO/);
  // The reopen runs on the writer's timer: commit until it takes one, with a generous bound.
  let sequence = 0;
  for (let attempt = 0; attempt < 1000 && sequence === 0; attempt++) {
    sequence = await store.commit([entry("g", 1, 5)]).catch(() => 0);
    if (sequence === 0) await Bun.sleep(10);
  }
  expect(sequence).toBeGreaterThan(first + 1);
  expect(store.get("g", "t", 0)?.offset).toBe(1);
  expect(store.get("g", "t", 1)?.offset).toBe(5);
  await store.close();
  const reopened = open(dataDir);
  expect(reopened.get("g", "t", 0)?.offset).toBe(1);
  expect(reopened.get("g", "t", 1)?.offset).toBe(5);
});

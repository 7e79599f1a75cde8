import { afterEach, expect, test } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import * as path from "node:path";
import { systemClock } from "../core/clock.ts";
import { type Logger, silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { DescriptorPool } from "./descriptor-pool.ts";
import { type FileSystem, nodeFileSystem } from "./file-system.ts";
import type { FsyncPolicy } from "./fsync-policy.ts";
import { PartitionLog } from "./partition-log.ts";

/**
 * Partition logs sharing one descriptor pool smaller than their segment
 * files: data intact, never more segment files open than the pool holds, a
 * written file synced before its descriptor is closed, and a failed sync
 * there taking the partition through recovery.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Descriptors of this process open on segment files under `dir` (from /proc/self/fd). */
function openSegmentFiles(dir: string): number {
  let count = 0;
  for (const entry of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${entry}`);
      if (target.startsWith(dir) && target.endsWith(".log")) count++;
    } catch {
      // Closed between the listing and the look.
    }
  }
  return count;
}

interface Opened {
  dir: string;
  pool: DescriptorPool;
  logs: PartitionLog[];
}

function openLogs(count: number, options: { fs?: FileSystem; poolSize: number; fsyncPolicy: FsyncPolicy; clock?: ManualClock; logger?: Logger; dir?: string }): Opened {
  const dir = options.dir ?? makeTempDir().dir;
  if (options.dir === undefined) cleanups.unshift(() => nodeFileSystem.removeRecursive(dir));
  const fs = options.fs ?? nodeFileSystem;
  const pool = new DescriptorPool(fs, options.poolSize);
  const logs = Array.from({ length: count }, (_, partition) =>
    PartitionLog.open({
      dir: path.join(dir, `t-${partition}`),
      name: `t-${partition}`,
      fs,
      descriptorPool: pool,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
      fsyncPolicy: options.fsyncPolicy,
      segmentBytesMax: 2048,
      indexIntervalBytes: 256,
    }),
  );
  cleanups.push(async () => {
    for (const log of logs) await log.close();
  });
  return { dir, pool, logs };
}

const value = (partition: number, i: number) => `p${partition}-r${i}-`.padEnd(120, "x");

test("50 partitions on a pool of 8 descriptors, written and read at once: every record intact, never more than 8 segment files open", async () => {
  const partitions = 50;
  const rounds = 30;
  const { dir, pool, logs } = openLogs(partitions, { poolSize: 8, fsyncPolicy: { kind: "always" } });
  let mostOpen = openSegmentFiles(dir);
  const readBack = new Map<number, string[]>();
  for (let round = 0; round < rounds; round++) {
    // Every partition appends at once (their fdatasyncs overlap), and every one is read while the others write.
    await Promise.all(
      logs.map(async (log, partition) => {
        await log.append([{ key: null, value: encoder.encode(value(partition, round)), headers: [], timestampMs: 1_764_000_000_000 + round }]);
        mostOpen = Math.max(mostOpen, openSegmentFiles(dir));
        const records = log.read(0, 1000, 1 << 20).records;
        readBack.set(partition, records.map((record) => decoder.decode(record.value!)));
      }),
    );
    mostOpen = Math.max(mostOpen, openSegmentFiles(dir));
  }
  for (let partition = 0; partition < partitions; partition++) {
    expect(logs[partition]!.highWatermark).toBe(rounds);
    expect(readBack.get(partition)).toEqual(Array.from({ length: rounds }, (_, i) => value(partition, i)));
  }
  // Segments of 2 KiB: each partition rolled several times, so there are three times as many segment files as descriptors.
  expect(readdirSync(path.join(dir, "t-0")).filter((name) => name.endsWith(".log")).length).toBeGreaterThanOrEqual(3);
  expect(mostOpen).toBeLessThanOrEqual(8);
  expect(pool.peakOpen).toBeLessThanOrEqual(8);
  expect(pool.overshoots).toBe(0);
  expect(pool.evictions).toBeGreaterThan(partitions);
});

test("an idle partition holds no descriptor: after a clean stop the logs open without opening a segment file, and reopen them when read", async () => {
  const first = openLogs(20, { poolSize: 8, fsyncPolicy: { kind: "always" } });
  for (const [partition, log] of first.logs.entries()) {
    for (let i = 0; i < 30; i++) await log.append([{ key: null, value: encoder.encode(value(partition, i)), headers: [], timestampMs: 1_764_000_000_000 + i }]);
  }
  for (const log of first.logs) await log.close();
  cleanups.pop(); // closed already
  const again = openLogs(20, { poolSize: 8, fsyncPolicy: { kind: "always" }, dir: first.dir });
  // Opening read each active segment's tail, one at a time; it holds no more than the pool.
  expect(again.pool.openCount).toBeLessThanOrEqual(8);
  expect(openSegmentFiles(first.dir)).toBeLessThanOrEqual(8);
  for (const [partition, log] of again.logs.entries()) {
    expect(log.read(0, 1000, 1 << 20).records.map((record) => decoder.decode(record.value!))).toEqual(Array.from({ length: 30 }, (_, i) => value(partition, i)));
  }
  expect(openSegmentFiles(first.dir)).toBeLessThanOrEqual(8);
});

test("a segment file written and not yet fdatasync'ed is synced before the pool closes it; a failed sync there takes its partition through recovery", async () => {
  const faulty = new FaultyFileSystem();
  const errors: string[] = [];
  const logger: Logger = { ...silentLogger, error: (message: string) => errors.push(message) };
  const clock = new ManualClock();
  // fsync interval (a long one): appends are acknowledged once written, and the files stay unsynced.
  const { logs, pool } = openLogs(6, { fs: faulty, poolSize: 4, fsyncPolicy: { kind: "interval", intervalMs: 3_600_000 }, clock, logger });
  const append = (log: PartitionLog, text: string) => log.append([{ key: null, value: encoder.encode(text), headers: [], timestampMs: 1 }]);
  await append(logs[0]!, "kept");
  const syncsBefore = faulty.syncs;
  for (const log of logs.slice(1, 5)) await append(log, "other");
  // Partition 0's file was the least recently used: it was fdatasync'ed, then closed.
  expect(faulty.syncs).toBeGreaterThan(syncsBefore);
  expect(pool.evictionSyncs).toBeGreaterThanOrEqual(1);

  await append(logs[0]!, "then the disk fails");
  for (const log of logs.slice(2, 5)) await append(log, "more"); // partition 0's file is the least recently used again
  faulty.failSyncs = 1;
  await append(logs[5]!, "needs a descriptor");
  expect(errors.some((message) => message.includes("partition t-0 offline: fsync failed before closing"))).toBe(true);
  // Never retried-and-continued: offline, then reopened through recovery (the same path as a start).
  expect(logs[0]!.status).toBe("offline");
  clock.advance(0);
  for (let i = 0; i < 50 && logs[0]!.status !== "online"; i++) await Bun.sleep(1);
  expect(logs[0]!.status).toBe("online");
  expect(logs.slice(1).every((log) => log.status === "online")).toBe(true);
  expect(logs[0]!.read(0, 10, 1 << 20).records.map((record) => decoder.decode(record.value!))[0]).toBe("kept");
});

test("a segment file the pool closed and cannot open again fails a read with a retriable storage_failed, not an internal error", async () => {
  const fs = new FaultyFileSystem();
  const { logs } = openLogs(6, { fs, poolSize: 4, fsyncPolicy: { kind: "always" } });
  for (const [partition, log] of logs.entries()) await log.append([{ key: null, value: encoder.encode(value(partition, 0)), headers: [], timestampMs: 1 }]);
  // Partition 0's file was closed by the pool for the others; now its disk fails to open it.
  fs.pathFault = (operation, filePath) => (operation === "openReadWrite" && filePath.includes(`${path.sep}t-0${path.sep}`) ? "EIO" : undefined);
  let failure: unknown;
  try {
    logs[0]!.read(0, 10, 1 << 20);
  } catch (error) {
    failure = error;
  }
  expect((failure as { code?: string }).code).toBe("storage_failed");
  expect((failure as { retriable?: boolean }).retriable).toBe(true);
  expect((failure as Error).message).toContain("t-0");
  fs.pathFault = undefined;
  expect(logs[0]!.read(0, 10, 1 << 20).records.map((record) => decoder.decode(record.value!))).toEqual([value(0, 0)]);
});

import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { StoredRecord } from "../protocol/record.ts";
import { type FileSystem, nodeFileSystem } from "./file-system.ts";
import { compactPartition } from "./log-compactor.ts";
import { PartitionLog } from "./partition-log.ts";
import { verifyDataDir } from "./verify.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Calls that only look, or let go of a descriptor: a dead process makes none, but they change nothing either. */
const HARMLESS = new Set(["close", "exists", "read", "readdir", "readFile", "sizeOf", "openReadOnly"]);

/**
 * The real file system until `crashAfter` picks a call: that call is made,
 * then the process "dies": it and every later call that would change the disk
 * throw, so the files are left exactly as a kill -9 just after it leaves them.
 */
function crashingFs(crashAfter: (operation: string, args: unknown[], cleanedFds: Set<number>) => boolean): FileSystem & { crashed: boolean } {
  const cleanedFds = new Set<number>();
  const state = { crashed: false };
  return new Proxy(nodeFileSystem, {
    get(target, property) {
      if (property === "crashed") return state.crashed;
      const original = target[property as keyof FileSystem] as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (state.crashed && !HARMLESS.has(String(property))) throw new Error(`crashed before ${String(property)}`);
        const crashes = crashAfter(String(property), args, cleanedFds);
        if (property === "close") cleanedFds.delete(args[0] as number); // descriptors are reused
        const result = original.apply(target, args);
        if (property === "openReadWrite" && String(args[0]).endsWith(".cleaned")) cleanedFds.add(result as number);
        const crash = () => {
          state.crashed = true;
          throw new Error(`crashed after ${String(property)}`);
        };
        // An asynchronous call (fdatasync) has happened once it resolves.
        if (crashes && result instanceof Promise) return result.then(crash);
        if (crashes) crash();
        return result;
      };
    },
  }) as FileSystem & { crashed: boolean };
}

function openLog(dir: string, fs: FileSystem, clock: ManualClock): PartitionLog {
  return PartitionLog.open({
    dir,
    name: "t-0",
    fs,
    clock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: 1024,
    indexIntervalBytes: 256,
  });
}

function readAll(log: PartitionLog): StoredRecord[] {
  const records: StoredRecord[] = [];
  let offset = log.earliestOffset;
  while (offset < log.highWatermark) {
    const read = log.read(offset, 1000, 1 << 20);
    records.push(...read.records);
    offset = read.nextOffset;
  }
  return records;
}

function newestByKey(records: readonly StoredRecord[]): Map<string, string> {
  const newest = new Map<string, string>();
  for (const r of records) newest.set(decoder.decode(r.key!), decoder.decode(r.value!));
  return newest;
}

const STEPS: Record<string, (operation: string, args: unknown[], cleanedFds: Set<number>) => boolean> = {
  "the .cleaned file written": (operation, args, fds) => operation === "writeChunks" && fds.has(args[0] as number),
  "the .cleaned file fsynced": (operation, args, fds) => operation === "fdatasync" && fds.has(args[0] as number),
  "renamed to .swap": (operation, args) => operation === "rename" && String(args[1]).endsWith(".log.swap"),
  "the old segment deleted": (operation, args) => operation === "removeRecursive" && /\d{20}\.log$/.test(String(args[0])),
  "the .swap renamed": (operation, args) => operation === "rename" && String(args[0]).endsWith(".log.swap"),
};

describe("a crash during a compaction's swap", () => {
  for (const [step, crashAfter] of Object.entries(STEPS)) {
    test(`after ${step}: the restart finishes or drops the swap; every key keeps its newest value and verify is clean`, async () => {
      const temp = makeTempDir();
      cleanups.push(temp.remove);
      const dir = path.join(temp.dir, "t-0");
      const clock = new ManualClock();
      const fs = crashingFs(crashAfter);
      const log = openLog(dir, fs, clock);
      for (let i = 0; i < 60; i++) {
        await log.append([{ key: encoder.encode(`k${i % 6}`), value: encoder.encode(`v${i}`), headers: [], timestampMs: clock.nowMs() }]);
      }
      const before = readAll(log);
      const policy = { nowMs: clock.nowMs(), deleteRetentionMs: 0, minCompactionLagMs: 0 };
      await expect(compactPartition(log.compactionTarget(), policy, async () => {})).rejects.toThrow(/crashed/);
      expect(fs.crashed).toBe(true);
      await log.close().catch(() => {});
      // `admin verify` before any restart reads a pending `.swap` as its segment, as the start will.
      expect(verifyDataDir(temp.dir, nodeFileSystem).partitions[0]!.problems).toEqual([]);

      const restarted = openLog(dir, nodeFileSystem, clock);
      cleanups.unshift(() => restarted.close());
      expect(readdirSync(dir).filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"))).toEqual([]);
      expect(newestByKey(readAll(restarted))).toEqual(newestByKey(before));
      expect(restarted.logEndOffset).toBe(60);
      expect(verifyDataDir(temp.dir, nodeFileSystem).partitions[0]!.problems).toEqual([]);

      // The unfinished clean is simply redone.
      await compactPartition(restarted.compactionTarget(), policy, async () => {});
      const after = readAll(restarted);
      expect(newestByKey(after)).toEqual(newestByKey(before));
      const sealed = after.filter((r) => r.offset < restarted.compactionTarget().sealedSegments().at(-1)!.nextOffset);
      expect(new Set(sealed.map((r) => decoder.decode(r.key!))).size).toBe(sealed.length);
    });
  }
});

import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { systemClock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { silentLogger, type Logger } from "../core/logger.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { FileSystem } from "./file-system.ts";
import { nodeFileSystem } from "./file-system.ts";
import type { FsyncPolicy } from "./fsync-policy.ts";
import { PartitionLog, type PartitionLogOptions } from "./partition-log.ts";
import type { RecordInput } from "../protocol/record.ts";
import { verifyDataDir } from "./verify.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function record(value: string, key: string | null = null): RecordInput {
  return {
    key: key === null ? null : encoder.encode(key),
    value: encoder.encode(value),
    headers: [{ key: "h", value: encoder.encode(`hv-${value}`) }],
    timestampMs: 1_764_000_000_000,
  };
}

interface Opened {
  log: PartitionLog;
  dir: string;
}

function openLog(
  dir: string,
  options: Pick<Partial<PartitionLogOptions>, "fs" | "fsyncPolicy" | "segmentBytesMax" | "logger" | "onFsync"> = {},
): PartitionLog {
  const log = PartitionLog.open({
    dir,
    name: "t-0",
    fs: options.fs ?? nodeFileSystem,
    clock: systemClock,
    logger: options.logger ?? silentLogger,
    fsyncPolicy: options.fsyncPolicy ?? { kind: "always" },
    segmentBytesMax: options.segmentBytesMax ?? 1024 * 1024,
    indexIntervalBytes: 256,
    onFsync: options.onFsync,
  });
  cleanups.push(() => log.close());
  return log;
}

function freshLog(options: Parameters<typeof openLog>[1] = {}): Opened {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const dir = path.join(temp.dir, "t-0");
  return { log: openLog(dir, options), dir };
}

function values(log: PartitionLog, offset = 0, max = 1_000_000): string[] {
  return log.read(offset, max, 1 << 30).records.map((r) => decoder.decode(r.value!));
}

async function waitFor(condition: () => boolean, what: string, boundMs = 10_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

describe("append and read", () => {
  test("assigns consecutive offsets and reads records back with keys and headers", async () => {
    const { log } = freshLog();
    const first = await log.append([record("a", "k1"), record("b")]);
    const second = await log.append([record("c")]);
    expect(first).toEqual({ baseOffset: 0, lastOffset: 1, timestampMs: 1_764_000_000_000 });
    expect(second.baseOffset).toBe(2);
    expect(log.highWatermark).toBe(3);
    const { records, nextOffset } = log.read(1, 10, 1 << 20);
    expect(nextOffset).toBe(3);
    expect(records.map((r) => r.offset)).toEqual([1, 2]);
    expect(decoder.decode(records[0]!.value!)).toBe("b");
    expect(records[0]!.key).toBeNull();
    expect(decoder.decode(records[1]!.headers[0]!.value!)).toBe("hv-c");
    expect(log.read(3, 10, 1 << 20)).toEqual({ records: [], nextOffset: 3 });
  });

  test("offsets outside [earliest, high watermark] are out of range with both bounds", async () => {
    const { log } = freshLog();
    await log.append([record("a")]);
    for (const bad of [-1, 2, 1.5]) {
      try {
        log.read(bad, 10, 1024);
        throw new Error("expected offset_out_of_range");
      } catch (error) {
        expect(error).toBeInstanceOf(GafkaError);
        expect((error as GafkaError).code).toBe("offset_out_of_range");
        expect((error as GafkaError).details).toEqual({ earliest: 0, latest: 1 });
      }
    }
  });

  test("maxRecords and maxBytes bound a read; at least one batch is returned", async () => {
    const { log } = freshLog();
    for (let i = 0; i < 10; i++) await log.append([record(`v${i}`.padEnd(200, "x"))]);
    expect(log.read(0, 3, 1 << 20).records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(log.read(4, 100, 1).records.map((r) => r.offset)).toEqual([4]);
  });

  test("segments roll at the size limit; every offset reads back after a reopen, with and without index files", async () => {
    const { log, dir } = freshLog({ segmentBytesMax: 2048 });
    const expected: string[] = [];
    for (let i = 0; i < 120; i++) {
      const batch = [record(`m${i}-a`.padEnd(50, "."), `key${i}`), record(`m${i}-b`)];
      expected.push(decoder.decode(batch[0]!.value!), decoder.decode(batch[1]!.value!));
      await log.append(batch);
    }
    const segmentFiles = readdirSync(dir).filter((name) => name.endsWith(".log"));
    expect(segmentFiles.length).toBeGreaterThan(5);
    for (const name of segmentFiles) expect(statSync(path.join(dir, name)).size).toBeLessThanOrEqual(2048);
    for (let offset = 0; offset < expected.length; offset += 7) expect(values(log, offset, 1)).toEqual([expected[offset]!]);
    expect(values(log)).toEqual(expected);
    await log.close();

    const reopened = openLog(dir, { segmentBytesMax: 2048 });
    expect(reopened.highWatermark).toBe(expected.length);
    expect(values(reopened)).toEqual(expected);
    await reopened.close();

    for (const name of readdirSync(dir).filter((n) => n.endsWith(".index"))) rmSync(path.join(dir, name));
    writeFileSync(path.join(dir, segmentFiles.sort()[0]!.replace(".log", ".index")), new Uint8Array([1, 2, 3]));
    const rebuilt = openLog(dir, { segmentBytesMax: 2048 });
    for (let offset = 0; offset < expected.length; offset += 5) expect(values(rebuilt, offset, 1)).toEqual([expected[offset]!]);
    expect(rebuilt.sizeBytes).toBe(segmentFiles.reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0));
  });
});

describe("durability", () => {
  test("concurrent appends share fdatasyncs (group commit)", async () => {
    const fs = new FaultyFileSystem();
    const { log } = freshLog({ fs });
    const before = fs.syncs;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append([record(`c${i}`)])));
    expect(results.map((r) => r.baseOffset).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(fs.syncs - before).toBeGreaterThan(0);
    expect(fs.syncs - before).toBeLessThan(20);
  });

  test("under fsync=always a record is invisible to readers until its fsync completes", async () => {
    const { log } = freshLog();
    const pending = log.append([record("x")]);
    expect(log.highWatermark).toBe(0);
    await pending;
    expect(log.highWatermark).toBe(1);
  });

  test("policies never and interval acknowledge without waiting for fsync", async () => {
    const fs = new FaultyFileSystem();
    const never = freshLog({ fs, fsyncPolicy: { kind: "never" } }).log;
    const before = fs.syncs;
    await never.append([record("n")]);
    expect(fs.syncs).toBe(before);
    expect(values(never)).toEqual(["n"]);

    const interval = freshLog({ fs, fsyncPolicy: { kind: "interval", intervalMs: 10 } }).log;
    const beforeInterval = fs.syncs;
    await interval.append([record("i")]);
    expect(values(interval)).toEqual(["i"]);
    await waitFor(() => fs.syncs > beforeInterval, "the interval fsync");
  });

  test("a write that fails with ENOSPC is cut off, answered storage_full, and the partition writes again", async () => {
    const fs = new FaultyFileSystem();
    const { log, dir } = freshLog({ fs });
    await log.append([record("before-1"), record("before-2")]);
    const sizeBefore = log.sizeBytes;
    fs.failWrites = 1;
    const error = await log.append([record("lost")]).catch((e) => e);
    expect(error).toBeInstanceOf(GafkaError);
    expect(error.code).toBe("storage_full");
    expect(log.status).toBe("online");
    expect(statSync(path.join(dir, "00000000000000000000.log")).size).toBe(sizeBefore);
    expect(values(log)).toEqual(["before-1", "before-2"]);
    const after = await log.append([record("after")]);
    expect(after.baseOffset).toBe(2);
    expect(values(log)).toEqual(["before-1", "before-2", "after"]);
  });

  test("a failed fsync is never acknowledged: the partition goes offline, recovers, and keeps what was acknowledged", async () => {
    const fs = new FaultyFileSystem();
    const { log, dir } = freshLog({ fs });
    await log.append([record("acked")]);
    fs.failSyncs = 1;
    const outcomes = await Promise.allSettled([log.append([record("u1")]), log.append([record("u2")])]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      expect(((outcome as PromiseRejectedResult).reason as GafkaError).code).toMatch(/storage_failed|partition_offline/);
    }
    expect(log.status).toBe("offline");
    const offlineError = await log.append([record("while-offline")]).catch((e) => e);
    expect(offlineError.code).toBe("partition_offline");
    expect(() => log.read(0, 10, 1024)).toThrow(/offline/);
    await waitFor(() => log.status === "online", "recovery");
    expect(values(log)).toEqual(["acked"]);
    expect((await log.append([record("after-recovery")])).baseOffset).toBe(1);
    await log.close();
    const reopened = openLog(dir);
    expect(values(reopened)[0]).toBe("acked");
    expect(values(reopened)).not.toContain("u1");
  });
});

describe("coalesced writes", () => {
  const policies: FsyncPolicy[] = [{ kind: "always" }, { kind: "interval", intervalMs: 60_000 }, { kind: "never" }];

  for (const fsyncPolicy of policies) {
    test(`appends made in one turn go to disk in one write (fsync ${fsyncPolicy.kind})`, async () => {
      const fs = new FaultyFileSystem();
      const { log } = freshLog({ fs, fsyncPolicy });
      const writesBefore = fs.writes;
      const syncsBefore = fs.syncs;
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([record(`c${i}`), record(`d${i}`)])));
      expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i));
      expect(fs.writes - writesBefore).toBe(1);
      expect(fs.syncs - syncsBefore).toBe(fsyncPolicy.kind === "always" ? 1 : 0);
      expect(log.highWatermark).toBe(100);
      expect(values(log)).toEqual(Array.from({ length: 50 }, (_, i) => [`c${i}`, `d${i}`]).flat());
    });
  }

  test("a read in the turn of an append sees nothing of it, and trips on nothing unwritten", async () => {
    const { log } = freshLog({ fsyncPolicy: { kind: "never" } });
    await log.append([record("a")]);
    const pending = log.append([record("b")]);
    expect(log.logEndOffset).toBe(2);
    expect(log.highWatermark).toBe(1);
    expect(values(log)).toEqual(["a"]);
    expect(log.read(1, 10, 1 << 20).records).toEqual([]);
    expect(log.offsetForTimestamp(0)).toBe(0);
    await pending;
    expect(values(log)).toEqual(["a", "b"]);
  });

  test("appends made while an fsync runs wait for it, then share one write and one fsync", async () => {
    const fs = new FaultyFileSystem();
    let release: () => void = () => {};
    let hold = false;
    const gated: FileSystem = Object.assign(Object.create(fs) as FaultyFileSystem, {
      fdatasync: async (fd: number) => {
        if (hold) await new Promise<void>((resolve) => (release = resolve));
        return fs.fdatasync(fd);
      },
    });
    const { log } = freshLog({ fs: gated });
    hold = true;
    const first = log.append([record("first")]);
    await Bun.sleep(1);
    const writesAfterFirst = fs.writes;
    hold = false;
    const later: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      later.push(log.append([record(`later-${i}`)]));
      await Bun.sleep(0); // each in a turn of its own
    }
    expect(fs.writes).toBe(writesAfterFirst);
    expect(log.highWatermark).toBe(0);
    const syncsBefore = fs.syncs;
    release();
    await first;
    await Promise.all(later);
    expect(fs.writes - writesAfterFirst).toBe(1);
    expect(fs.syncs - syncsBefore).toBe(2); // the held one (counted once it proceeds) and the one the ten share
    expect(values(log)).toEqual(["first", ...Array.from({ length: 10 }, (_, i) => `later-${i}`)]);
  });

  test("an ENOSPC in a coalesced write rejects every append in it; the next append gets the first failed offset", async () => {
    for (const fsyncPolicy of policies) {
      const fs = new FaultyFileSystem();
      const { log, dir } = freshLog({ fs, fsyncPolicy });
      await log.append([record("kept-1"), record("kept-2")]);
      const sizeBefore = log.sizeBytes;
      fs.failWrites = 1;
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => log.append([record(`lost-${i}`)])));
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        expect(((outcome as PromiseRejectedResult).reason as GafkaError).code).toBe("storage_full");
      }
      expect(log.status).toBe("online");
      expect(log.logEndOffset).toBe(2);
      expect(log.highWatermark).toBe(2);
      expect(log.sizeBytes).toBe(sizeBefore);
      expect(statSync(path.join(dir, "00000000000000000000.log")).size).toBe(sizeBefore);
      const [next, following] = await Promise.all([log.append([record("next")]), log.append([record("following")])]);
      expect(next.baseOffset).toBe(2);
      expect(following.baseOffset).toBe(3);
      expect(values(log)).toEqual(["kept-1", "kept-2", "next", "following"]);
      await log.close();
      expect(values(openLog(dir, { fsyncPolicy }))).toEqual(["kept-1", "kept-2", "next", "following"]);
    }
  });

  test("frames appended in one turn across segment rolls land in their own segments and read back after a reopen", async () => {
    const { log, dir } = freshLog({ segmentBytesMax: 1024 });
    const expected = Array.from({ length: 60 }, (_, i) => `r${i}`.padEnd(100, "."));
    await Promise.all(expected.map((value) => log.append([record(value)])));
    expect(values(log)).toEqual(expected);
    const segmentFiles = readdirSync(dir).filter((name) => name.endsWith(".log"));
    expect(segmentFiles.length).toBeGreaterThan(3);
    for (const name of segmentFiles) expect(statSync(path.join(dir, name)).size).toBeLessThanOrEqual(1024);
    expect(log.sizeBytes).toBe(segmentFiles.reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0));
    for (let offset = 0; offset < expected.length; offset += 7) expect(values(log, offset, 1)).toEqual([expected[offset]!]);
    await log.close();
    const reopened = openLog(dir, { segmentBytesMax: 1024 });
    expect(values(reopened)).toEqual(expected);
  });

  test("closing writes and fsyncs the appends of its turn before it closes the files", async () => {
    const { log, dir } = freshLog();
    const pending = Promise.all([log.append([record("x")]), log.append([record("y")])]);
    await log.close();
    expect((await pending).map((r) => r.baseOffset)).toEqual([0, 1]);
    expect(values(openLog(dir))).toEqual(["x", "y"]);
  });
});

describe("fsync reports", () => {
  test("onFsync gets each group commit's duration, records and bytes", async () => {
    const reports: { durationSeconds: number; records: number; bytes: number }[] = [];
    const { log } = freshLog({
      fsyncPolicy: { kind: "always" },
      onFsync: (durationSeconds, records, bytes) => void reports.push({ durationSeconds, records, bytes }),
    });
    await Promise.all([log.append([record("a"), record("b")]), log.append([record("c")])]);
    await log.append([record("d")]);
    expect(reports.map((r) => r.records)).toEqual([3, 1]);
    expect(reports.reduce((sum, r) => sum + r.bytes, 0)).toBe(log.sizeBytes);
    for (const report of reports) expect(report.durationSeconds).toBeGreaterThanOrEqual(0);
  });

  test("the interval sync reports what it made durable", async () => {
    const reports: { records: number; bytes: number }[] = [];
    const { log } = freshLog({
      fsyncPolicy: { kind: "interval", intervalMs: 5 },
      onFsync: (_durationSeconds, records, bytes) => void reports.push({ records, bytes }),
    });
    await log.append([record("a"), record("b"), record("c")]);
    await waitFor(() => reports.length > 0, "the interval fsync");
    expect(reports[0]).toEqual({ records: 3, bytes: log.sizeBytes });
  });
});

describe("recovery", () => {
  async function buildLog(): Promise<{ dir: string; file: string; frameStarts: number[]; expected: string[] }> {
    const { log, dir } = freshLog();
    const file = path.join(dir, "00000000000000000000.log");
    const frameStarts: number[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 5; i++) {
      frameStarts.push(log.sizeBytes);
      const batch = [record(`r${i}-0`, `k${i}`), record(`r${i}-1`)];
      await log.append(batch);
      expected.push(`r${i}-0`, `r${i}-1`);
    }
    frameStarts.push(log.sizeBytes);
    await log.close();
    return { dir, file, frameStarts, expected };
  }

  test("truncating the active segment at every byte inside its last frame recovers every earlier record", async () => {
    const { dir, file, frameStarts, expected } = await buildLog();
    const original = readFileSync(file);
    const lastStart = frameStarts[frameStarts.length - 2]!;
    const end = frameStarts[frameStarts.length - 1]!;
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message: string) => void warnings.push(String(message)) };
    for (let cut = lastStart; cut < end; cut++) {
      writeFileSync(file, original.subarray(0, cut));
      const log = openLog(dir, { logger });
      expect(log.status).toBe("online");
      expect(values(log)).toEqual(expected.slice(0, 8));
      expect(log.highWatermark).toBe(8);
      const appended = await log.append([record("next")]);
      expect(appended.baseOffset).toBe(8);
      await log.close();
    }
    expect(warnings.filter((w) => w.includes("torn tail")).length).toBe(end - lastStart - 1);
    expect(warnings.some((w) => w.includes(`${end - 1 - lastStart} bytes`))).toBe(true);
  });

  test("a bit flipped in a middle frame refuses the partition, naming file and position; verify lists it", async () => {
    const { dir, file, frameStarts } = await buildLog();
    const bytes = readFileSync(file);
    const damagedFrame = frameStarts[2]!;
    bytes[damagedFrame + 40] ^= 0x10;
    writeFileSync(file, bytes);
    let error: unknown;
    try {
      openLog(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GafkaError);
    expect((error as GafkaError).code).toBe("log_corrupt");
    expect((error as GafkaError).message).toContain(file);
    expect((error as GafkaError).message).toContain(`position ${damagedFrame}`);
    expect((error as GafkaError).details).toEqual({ file, position: damagedFrame, offset: 4 });
    // Nothing was cut: the records after the damage are still on disk.
    expect(statSync(file).size).toBe(frameStarts[frameStarts.length - 1]!);

    const report = verifyDataDir(path.dirname(dir), nodeFileSystem);
    expect(report.ok).toBe(false);
    expect(report.partitions[0]!.problems).toHaveLength(1);
    expect(report.partitions[0]!.problems[0]).toMatchObject({ kind: "corrupt", file, position: damagedFrame, offset: 4 });
    expect(report.partitions[0]!.records).toBe(8);
  });

  test("verify reports every damaged place, and a torn tail as torn (still a problem: ok is false)", async () => {
    const { dir, file, frameStarts } = await buildLog();
    const bytes = readFileSync(file);
    bytes[frameStarts[1]! + 30] ^= 0x01;
    bytes[frameStarts[3]! + 30] ^= 0x01;
    writeFileSync(file, bytes);
    const report = verifyDataDir(path.dirname(dir), nodeFileSystem);
    expect(report.partitions[0]!.problems.map((p) => p.position)).toEqual([frameStarts[1]!, frameStarts[3]!]);

    const tornOnly = await buildLog();
    truncateSync(tornOnly.file, tornOnly.frameStarts[5]! - 3);
    const tornReport = verifyDataDir(path.dirname(tornOnly.dir), nodeFileSystem);
    expect(tornReport.ok).toBe(false);
    expect(tornReport.partitions[0]!.problems[0]!.kind).toBe("torn");
  });

  test("damage in a sealed segment is corruption even at its end (found when the segment is first read)", async () => {
    const { log, dir } = freshLog({ segmentBytesMax: 600 });
    for (let i = 0; i < 20; i++) await log.append([record(`s${i}`.padEnd(100, "-"))]);
    await log.close();
    const first = path.join(dir, "00000000000000000000.log");
    const damagedBytes = statSync(first).size - 2;
    truncateSync(first, damagedBytes);
    rmSync(first.replace(".log", ".index"));
    // A sealed segment is not read at start: its check runs on its first read, and refuses it there.
    const reopened = openLog(dir, { segmentBytesMax: 600 });
    expect(() => reopened.read(0, 100, 1 << 20)).toThrow(/corrupt/);
    expect(() => reopened.read(0, 100, 1 << 20)).toThrow(/corrupt/);
    expect(statSync(first).size).toBe(damagedBytes); // nothing cut: corruption, not a torn write
  });
});

describe("long poll", () => {
  test("waitForData is woken by the append itself and ends at its timeout otherwise", async () => {
    const { log } = freshLog();
    let woke = false;
    const waiting = log.waitForData(0, 20_000).then(() => (woke = true));
    await Bun.sleep(5);
    expect(woke).toBe(false);
    await log.append([record("wake")]);
    await waiting;
    expect(woke).toBe(true);
    await log.waitForData(1, 10);
    const controller = new AbortController();
    const aborted = log.waitForData(1, 20_000, controller.signal);
    controller.abort();
    await aborted;
  });
});

import { afterEach, expect, test } from "bun:test";
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { systemClock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { type JournaledBroker, recordingLogger, startJournaled, stopJournaled, textRecord as record, valuesOf } from "../../test/helpers/journaled-broker.ts";
import { nodeFileSystem } from "./file-system.ts";
import { PartitionLog } from "./partition-log.ts";

const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A crash: nothing is closed or flushed (the descriptors go with the test process). */
function crash(_broker: JournaledBroker): void {}

function segmentOf(dataDir: string, name: string): string {
  return path.join(dataDir, name, "00000000000000000000.log");
}

function journalFiles(dataDir: string): string[] {
  return readdirSync(path.join(dataDir, "journal")).sort();
}

async function tempDir(): Promise<string> {
  const { dir, remove } = makeTempDir("gafka-journal-");
  cleanups.push(remove);
  return dir;
}

test("appends to many partitions in one turn share one fdatasync, of the journal, and none of the segments'", async () => {
  const dataDir = await tempDir();
  const fs = new FaultyFileSystem();
  const names = Array.from({ length: 20 }, (_, i) => `t-${i}`);
  const broker = startJournaled(dataDir, names, { fs });
  cleanups.push(() => stopJournaled(broker));
  const before = fs.syncs;
  await Promise.all(names.map((name) => broker.logs.get(name)!.append([record(`${name}-a`), record(`${name}-b`)])));
  expect(fs.syncs - before).toBe(1);
  for (const name of names) expect(valuesOf(broker.logs.get(name)!)).toEqual([`${name}-a`, `${name}-b`]);
});

test("while fewer than directSyncsMax partitions flush their own segments, a small round does too; past it, the rest share the journal's one fdatasync", async () => {
  const dataDir = await tempDir();
  const fs = new FaultyFileSystem();
  const names = Array.from({ length: 20 }, (_, i) => `s-${i}`);
  const broker = startJournaled(dataDir, names, { fs, directSyncsMax: 4 });
  cleanups.push(() => stopJournaled(broker));
  const before = fs.syncs;
  await Promise.all(names.map((name) => broker.logs.get(name)!.append([record(`${name}-a`)])));
  // Four segments' own fdatasyncs, and one of the journal for the sixteen others.
  expect(fs.syncs - before).toBe(5);
  const lone = fs.syncs;
  await broker.logs.get("s-0")!.append([record("alone")]);
  expect(fs.syncs - lone).toBe(1);
  crash(broker);
  // The sixteen are in the journal; the four and the lone one are not.
  const after = startJournaled(dataDir, names);
  cleanups.push(() => stopJournaled(after));
  for (const name of names) expect(valuesOf(after.logs.get(name)!)[0]).toBe(`${name}-a`);
  expect(valuesOf(after.logs.get("s-0")!)).toEqual(["s-0-a", "alone"]);
});

test("power loss after acknowledgements: segments that lost their unsynced bytes, or hold holes, get every acknowledged record back from the journal", async () => {
  for (const damage of ["cut to nothing", "a hole of zeros", "a flipped bit in the last frame"] as const) {
    const dataDir = await tempDir();
    const before = startJournaled(dataDir, ["a-0", "a-1"]);
    for (let i = 0; i < 5; i++) await Promise.all(["a-0", "a-1"].map((name) => before.logs.get(name)!.append([record(`${name}-${i}`)])));
    crash(before);
    const segment = segmentOf(dataDir, "a-0");
    const bytes = readFileSync(segment);
    if (damage === "cut to nothing") truncateSync(segment, 0);
    else if (damage === "a hole of zeros") writeFileSync(segment, Buffer.concat([bytes.subarray(0, 10), Buffer.alloc(40), bytes.subarray(50)]));
    else {
      bytes[bytes.length - 3]! ^= 0x10;
      writeFileSync(segment, bytes);
    }
    const logger = recordingLogger();
    const after = startJournaled(dataDir, ["a-0", "a-1"], { logger });
    cleanups.push(() => stopJournaled(after));
    expect(valuesOf(after.logs.get("a-0")!)).toEqual(Array.from({ length: 5 }, (_, i) => `a-0-${i}`));
    expect(valuesOf(after.logs.get("a-1")!)).toEqual(Array.from({ length: 5 }, (_, i) => `a-1-${i}`));
    // Entries that match the segment are not written again: the replay starts where the damage is.
    const from = damage === "a flipped bit in the last frame" ? "1 commit-journal entries holding 1 records from offset 4" : "5 commit-journal entries holding 5 records from offset 0";
    expect(logger.lines.filter((line) => line.startsWith("partition a-0: replayed"))).toEqual([`partition a-0: replayed ${from}`]);
    expect(logger.lines.filter((line) => line.startsWith("partition a-1: replayed"))).toEqual([]);
    // The last run's journal is gone once replayed; this run's file is empty.
    expect(journalFiles(dataDir)).toEqual(["00000000000000000002.journal"]);
    expect(statSync(segment).size).toBe(bytes.length);
  }
});

test("a checkpoint fdatasyncs the partitions written and deletes the older journal files; a crash then replays only what came after", async () => {
  const dataDir = await tempDir();
  const fs = new FaultyFileSystem();
  const before = startJournaled(dataDir, ["c-0"], { fs, checkpointBytes: 4096 });
  const log = before.logs.get("c-0")!;
  for (let i = 0; i < 20; i++) await log.append([record(`early-${i}-${"x".repeat(200)}`)]);
  // A checkpoint began a new file once 4 KiB were journaled; wait until it deleted the older ones.
  await waitFor(() => journalFiles(dataDir).length === 1);
  const checkpointed = statSync(segmentOf(dataDir, "c-0")).size;
  const generation = journalFiles(dataDir)[0];
  await log.append([record("late-0")]);
  await log.append([record("late-1")]);
  crash(before);
  // Power loss: the segment keeps only what the checkpoint fdatasync'ed.
  truncateSync(segmentOf(dataDir, "c-0"), checkpointed);
  const after = startJournaled(dataDir, ["c-0"]);
  cleanups.push(() => stopJournaled(after));
  const read = valuesOf(after.logs.get("c-0")!);
  expect(read.length).toBe(22);
  expect(read.slice(-2)).toEqual(["late-0", "late-1"]);
  expect(generation).not.toBe("00000000000000000001.journal");
});

test("after a truncation or a restart the earlier entries are forgotten; what was appended after them comes back from the journal", async () => {
  const dataDir = await tempDir();
  const before = startJournaled(dataDir, ["r-0", "r-1"]);
  const truncated = before.logs.get("r-0")!;
  for (let i = 0; i < 5; i++) await truncated.append([record(`old-${i}`)]);
  await truncated.truncateTo(3);
  const durable = statSync(segmentOf(dataDir, "r-0")).size;
  await truncated.append([record("new-3")]);
  await truncated.append([record("new-4")]);
  const restarted = before.logs.get("r-1")!;
  await restarted.append([record("gone")]);
  await restarted.restartAt(100);
  await restarted.append([record("at-100")]);
  crash(before);
  // Power loss: what the truncation left was fdatasync'ed; what came after was in the journal only.
  truncateSync(segmentOf(dataDir, "r-0"), durable);
  truncateSync(path.join(dataDir, "r-1", "00000000000000000100.log"), 0);
  const after = startJournaled(dataDir, ["r-0", "r-1"]);
  cleanups.push(() => stopJournaled(after));
  expect(valuesOf(after.logs.get("r-0")!)).toEqual(["old-0", "old-1", "old-2", "new-3", "new-4"]);
  const r1 = after.logs.get("r-1")!;
  expect([r1.earliestOffset, r1.logEndOffset, ...valuesOf(r1)]).toEqual([100, 101, "at-100"]);
});

test("a truncation in the journal that the files never saw (the broker died in between) is done by the replay", async () => {
  const dataDir = await tempDir();
  const before = startJournaled(dataDir, ["u-0"]);
  const log = before.logs.get("u-0")!;
  for (let i = 0; i < 5; i++) await log.append([record(`r-${i}`)]);
  // As truncateTo's first step: recorded durably, then the broker dies before the cut.
  before.journal.link("u-0").recordNow({ kind: "truncate", offset: 2 });
  crash(before);
  const after = startJournaled(dataDir, ["u-0"]);
  cleanups.push(() => stopJournaled(after));
  expect(valuesOf(after.logs.get("u-0")!)).toEqual(["r-0", "r-1"]);
});

test("rounds the partition fdatasync'ed itself (large ones) stay after the journal's entries; a power loss after them loses nothing acknowledged", async () => {
  const dataDir = await tempDir();
  const before = startJournaled(dataDir, ["m-0"]);
  const log = before.logs.get("m-0")!;
  await log.append([record("small-0")]);
  await log.append([record("small-1")]);
  // A round of 100 KiB: more than the journal takes, so the segment itself is fdatasync'ed.
  await log.append(Array.from({ length: 100 }, (_, i) => record(`large-${i}-${"y".repeat(1000)}`)));
  const durable = statSync(segmentOf(dataDir, "m-0")).size;
  await log.append([record("small-2")]);
  crash(before);
  truncateSync(segmentOf(dataDir, "m-0"), durable);
  const logger = recordingLogger();
  const after = startJournaled(dataDir, ["m-0"], { logger });
  cleanups.push(() => stopJournaled(after));
  const read = valuesOf(after.logs.get("m-0")!);
  expect(read.length).toBe(103);
  expect([read[0], read[1], read[102]]).toEqual(["small-0", "small-1", "small-2"]);
  expect(logger.lines.filter((line) => line.startsWith("partition m-0: replayed"))).toEqual(["partition m-0: replayed 1 commit-journal entries holding 1 records from offset 102"]);
});

test("a deleted partition's records are never replayed into a new partition of the same name", async () => {
  const dataDir = await tempDir();
  const before = startJournaled(dataDir, ["d-0"]);
  await before.logs.get("d-0")!.append([record("first-life")]);
  await before.logs.get("d-0")!.close();
  before.journal.forget(["d-0"]);
  rmSync(path.join(dataDir, "d-0"), { recursive: true });
  const reborn = PartitionLog.open({
    dir: path.join(dataDir, "d-0"),
    name: "d-0",
    fs: nodeFileSystem,
    clock: systemClock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: 64 << 20,
    journal: before.journal.link("d-0"),
  });
  await reborn.append([record("second-life")]);
  crash(before);
  const after = startJournaled(dataDir, ["d-0"]);
  cleanups.push(() => stopJournaled(after));
  expect(valuesOf(after.logs.get("d-0")!)).toEqual(["second-life"]);
});

test("the journal torn at every byte of its last record: that record is cut and logged, never acknowledged; the ones before replay", async () => {
  const source = await tempDir();
  const before = startJournaled(source, ["w-0"]);
  const log = before.logs.get("w-0")!;
  await log.append([record("one")]);
  await log.append([record("two")]);
  const lastStart = statSync(path.join(source, "journal", journalFiles(source)[0]!)).size;
  await log.append([record("three")]);
  crash(before);
  const journalPath = path.join(source, "journal", journalFiles(source)[0]!);
  const full = readFileSync(journalPath);
  expect(full.length).toBeGreaterThan(lastStart);
  for (let length = lastStart; length < full.length; length++) {
    const dataDir = await tempDir();
    for (const dir of ["journal", "w-0"]) {
      for (const file of readdirSync(path.join(source, dir))) {
        nodeFileSystem.mkdirp(path.join(dataDir, dir));
        copyFileSync(path.join(source, dir, file), path.join(dataDir, dir, file));
      }
    }
    writeFileSync(path.join(dataDir, "journal", path.basename(journalPath)), full.subarray(0, length));
    const logger = recordingLogger();
    const after = startJournaled(dataDir, ["w-0"], { logger });
    // "three" was never acknowledged (its journal entry is torn); the segment holds it whole, and it stays, as after any crash.
    expect(valuesOf(after.logs.get("w-0")!)).toEqual(["one", "two", "three"]);
    const torn = length === lastStart ? [] : logger.lines.filter((line) => line.includes(`cut a torn tail of ${length - lastStart} bytes`));
    expect(torn.length).toBe(length === lastStart ? 0 : 1);
    await stopJournaled(after);
  }
});

test("a damaged record followed by a valid one is corruption: the journal refuses to open, naming the file and position", async () => {
  const dataDir = await tempDir();
  const before = startJournaled(dataDir, ["x-0"]);
  for (const value of ["one", "two", "three"]) await before.logs.get("x-0")!.append([record(value)]);
  crash(before);
  const journalPath = path.join(dataDir, "journal", journalFiles(dataDir)[0]!);
  const bytes = readFileSync(journalPath);
  bytes[10]! ^= 0x01; // inside the first record's header
  writeFileSync(journalPath, bytes);
  let failure: unknown;
  try {
    startJournaled(dataDir, ["x-0"]);
  } catch (error) {
    failure = error;
  }
  expect(failure).toBeInstanceOf(GafkaError);
  expect((failure as GafkaError).code).toBe("log_corrupt");
  expect((failure as GafkaError).message).toContain(`${journalPath} is corrupt at position 0`);
  // Nothing was cut.
  expect(readFileSync(journalPath).length).toBe(bytes.length);
});

test("a failed journal fdatasync rejects its round, that file is never fsynced again, commits go on in a new file and a checkpoint then removes it", async () => {
  const dataDir = await tempDir();
  const fs = new FaultyFileSystem();
  const broker = startJournaled(dataDir, ["f-0", "f-1"], { fs });
  cleanups.push(() => stopJournaled(broker));
  const [p0, p1] = [broker.logs.get("f-0")!, broker.logs.get("f-1")!];
  await p0.append([record("acked-0")]);
  await p1.append([record("acked-1")]);
  fs.failSyncs = 1;
  const failed = await Promise.allSettled([p0.append([record("lost-0")]), p1.append([record("lost-1")])]);
  expect(failed.map((each) => (each.status === "rejected" ? (each.reason as GafkaError).code : "acknowledged"))).toEqual(["storage_failed", "storage_failed"]);
  await waitFor(() => p0.status === "online" && p1.status === "online");
  await p0.append([record("after-0")]);
  await p1.append([record("after-1")]);
  expect(valuesOf(p0)).toEqual(["acked-0", "after-0"]);
  expect(valuesOf(p1)).toEqual(["acked-1", "after-1"]);
  // The failed file goes once a checkpoint made its acknowledged records durable in the segments.
  await waitFor(() => journalFiles(dataDir).length === 1);
  expect(journalFiles(dataDir)[0]).not.toBe("00000000000000000001.journal");
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

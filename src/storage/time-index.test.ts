import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { AssertionError } from "../core/assert.ts";
import { systemClock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { RecordInput } from "../protocol/record.ts";
import { nodeFileSystem } from "./file-system.ts";
import { PartitionLog } from "./partition-log.ts";
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from "./time-index.ts";

const T0 = 1_700_000_000_000;
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

test("entries keep a running maximum; a lookup finds the last entry older than the time", () => {
  const index = new TimeIndex(2);
  index.append(100, 0);
  index.append(100, 4);
  index.append(250, 9);
  index.append(300, 20);
  expect(index.length).toBe(4);
  expect(index.lastEntryBefore(50)).toBe(-1);
  expect(index.lastEntryBefore(100)).toBe(-1);
  expect(index.lastEntryBefore(101)).toBe(1);
  expect(index.lastEntryBefore(250)).toBe(1);
  expect(index.lastEntryBefore(251)).toBe(2);
  expect(index.lastEntryBefore(10_000)).toBe(3);
  expect(() => index.append(299, 30)).toThrow(AssertionError);
  expect(() => index.append(400, 20)).toThrow(AssertionError);

  const bytes = index.serialize();
  expect(bytes.length).toBe(4 * TIME_INDEX_ENTRY_BYTES);
  const parsed = TimeIndex.parse(bytes, 21)!;
  expect([0, 1, 2, 3].map((i) => [parsed.timestampMsAt(i), parsed.relativeOffsetAt(i)])).toEqual([
    [100, 0],
    [100, 4],
    [250, 9],
    [300, 20],
  ]);
  index.truncateTo(2);
  expect(index.lastTimestampMs).toBe(100);
});

test("a time index file that makes no sense is refused by parse", () => {
  const index = new TimeIndex();
  index.append(T0, 0);
  index.append(T0 + 5, 3);
  const bytes = index.serialize();
  const view = (copy: Uint8Array) => new DataView(copy.buffer);
  expect(TimeIndex.parse(bytes.subarray(0, 20), 10)).toBeUndefined(); // torn
  expect(TimeIndex.parse(bytes, 3)).toBeUndefined(); // an offset past the segment
  const falling = bytes.slice();
  view(falling).setBigInt64(12, BigInt(T0 - 1));
  expect(TimeIndex.parse(falling, 10)).toBeUndefined();
  const negative = bytes.slice();
  view(negative).setBigInt64(0, -1n);
  expect(TimeIndex.parse(negative, 10)).toBeUndefined();
  const offsetsNotGrowing = bytes.slice();
  view(offsetsNotGrowing).setUint32(20, 0);
  expect(TimeIndex.parse(offsetsNotGrowing, 10)).toBeUndefined();
  expect(TimeIndex.parse(new Uint8Array(0), 10)?.length).toBe(0);
});

/** Deterministic batches: 1 to 5 records, timestamps mostly rising, sometimes going back (producer clocks), within a batch too. */
function batches(count: number): RecordInput[][] {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let clockMs = T0;
  return Array.from({ length: count }, (_, b) => {
    clockMs += b % 9 === 8 ? -100 : Math.floor(random() * 40);
    return Array.from({ length: 1 + Math.floor(random() * 5) }, (_, r) => ({
      key: null,
      value: new TextEncoder().encode(`b${b}-r${r}`.padEnd(20 + Math.floor(random() * 60), ".")),
      headers: [],
      timestampMs: clockMs + Math.floor(random() * 30) - 10,
    }));
  });
}

/** Kafka's ListOffsets by time: the first record at or after `t` in the first batch whose largest timestamp reaches it. */
function expectedOffset(all: RecordInput[][], t: number): number {
  let offset = 0;
  for (const batch of all) {
    if (Math.max(...batch.map((r) => r.timestampMs)) >= t) return offset + batch.findIndex((r) => r.timestampMs >= t);
    offset += batch.length;
  }
  return offset;
}

function queries(all: RecordInput[][]): number[] {
  const times = new Set<number>([0, T0 - 10_000, Number.MAX_SAFE_INTEGER]);
  for (const batch of all) for (const r of batch) for (const delta of [-1, 0, 1]) times.add(r.timestampMs + delta);
  return [...times];
}

function capturingLogger(warnings: string[]): Logger {
  return { error: () => {}, warn: (message) => warnings.push(String(message)), info: () => {}, debug: () => {} };
}

function openLog(dir: string, logger: Logger): PartitionLog {
  const log = PartitionLog.open({
    dir,
    name: "t-0",
    fs: nodeFileSystem,
    clock: systemClock,
    logger,
    fsyncPolicy: { kind: "never" },
    segmentBytesMax: 3000,
    indexIntervalBytes: 200,
  });
  cleanups.push(() => log.close());
  return log;
}

async function filledLog(): Promise<{ dir: string; all: RecordInput[][]; log: PartitionLog }> {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const dir = path.join(temp.dir, "t-0");
  const log = openLog(dir, capturingLogger([]));
  const all = batches(300);
  for (const batch of all) await log.append(batch);
  return { dir, all, log };
}

function expectSameAnswers(log: PartitionLog, all: RecordInput[][]): void {
  const wrong = queries(all).filter((t) => log.offsetForTimestamp(t) !== expectedOffset(all, t));
  expect(wrong).toEqual([]);
}

const timeIndexFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".timeindex")).sort();

test("offsetForTimestamp answers as a scan does, across segment rolls and timestamps going backwards, before and after a reopen", async () => {
  const { dir, all, log } = await filledLog();
  expectSameAnswers(log, all);
  const files = timeIndexFiles(dir);
  expect(files.length).toBeGreaterThanOrEqual(5);
  for (const name of files) {
    const bytes = readFileSync(path.join(dir, name));
    const offsetIndex = readFileSync(path.join(dir, name.replace(/\.timeindex$/, ".index")));
    expect(bytes.length / TIME_INDEX_ENTRY_BYTES).toBe(offsetIndex.length / 8);
    expect(bytes.length / TIME_INDEX_ENTRY_BYTES).toBeGreaterThanOrEqual(3);
  }
  await log.close();
  const warnings: string[] = [];
  expectSameAnswers(openLog(dir, capturingLogger(warnings)), all);
  expect(warnings).toEqual([]);
});

test("a missing, torn, short or wrong time index is rebuilt from the frames with a warning; every answer stays the same", async () => {
  const { dir, all, log } = await filledLog();
  await log.close();
  const files = timeIndexFiles(dir).map((name) => path.join(dir, name));
  const original = files.map((file) => readFileSync(file));
  const [missing, torn, short, zeroed, lowered] = files as [string, string, string, string, string];
  rmSync(missing);
  writeFileSync(torn, original[1]!.subarray(0, original[1]!.length - 5));
  writeFileSync(short, original[2]!.subarray(0, original[2]!.length - TIME_INDEX_ENTRY_BYTES));
  writeFileSync(zeroed, new Uint8Array(original[3]!.length));
  // Parses and agrees with the offset index and the last frame: only a lookup walking the frames finds it out.
  const loweredBytes = new Uint8Array(original[4]!); // a copy (Buffer.slice would be a view)
  const view = new DataView(loweredBytes.buffer);
  for (let at = 0; at < loweredBytes.length - TIME_INDEX_ENTRY_BYTES; at += TIME_INDEX_ENTRY_BYTES) view.setBigInt64(at, 0n);
  writeFileSync(lowered, loweredBytes);

  const warnings: string[] = [];
  const reopened = openLog(dir, capturingLogger(warnings));
  // Sealed segments' indexes are read and checked on their first use, not at start.
  expect(warnings).toEqual([]);
  expectSameAnswers(reopened, all);
  expect(warnings.filter((w) => w.includes("time index") && !w.includes("disagrees")).length).toBe(4);
  expect(warnings.some((w) => w.includes(`${missing} was missing`))).toBe(true);
  for (const file of [torn, short, zeroed]) expect(warnings.some((w) => w.includes(`${file} did not match`))).toBe(true);
  expect(warnings.some((w) => w.includes("disagrees with the log") && w.includes(path.basename(lowered, ".timeindex")))).toBe(true);
  // Rebuilt files are what the appends wrote.
  files.forEach((file, i) => expect(readFileSync(file)).toEqual(original[i]!));
});

test("after a truncation (a follower cut back) and more appends, answers stay those of a scan, in memory and after a reopen", async () => {
  const { dir, all, log } = await filledLog();
  // Cut back to the start of batch 200: later segments go, the one holding it becomes active again.
  const kept = all.slice(0, 200);
  const cutAt = kept.reduce((sum, batch) => sum + batch.length, 0);
  await log.truncateTo(cutAt);
  const more = batches(120).map((batch) => batch.map((r) => ({ ...r, timestampMs: r.timestampMs - 5_000 })));
  for (const batch of more) await log.append(batch);
  const now = [...kept, ...more];
  expectSameAnswers(log, now);
  await log.close();
  const warnings: string[] = [];
  expectSameAnswers(openLog(dir, capturingLogger(warnings)), now);
  expect(warnings.filter((w) => w.includes("time index"))).toEqual([]);
});

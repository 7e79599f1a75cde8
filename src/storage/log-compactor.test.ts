import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { RecordInput, StoredRecord } from "../protocol/record.ts";
import { nodeFileSystem } from "./file-system.ts";
import { compactPartition, type CompactionPolicy } from "./log-compactor.ts";
import { PartitionLog } from "./partition-log.ts";
import { verifyDataDir } from "./verify.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cleanups: (() => void | Promise<void>)[] = [];
const HOUR_MS = 3600_000;
const noThrottle = async () => {};

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function record(key: string | null, value: string | null, timestampMs: number): RecordInput {
  return { key: key === null ? null : encoder.encode(key), value: value === null ? null : encoder.encode(value), headers: [], timestampMs };
}

function openLog(dir: string, clock: ManualClock): PartitionLog {
  const log = PartitionLog.open({
    dir,
    name: "t-0",
    fs: nodeFileSystem,
    clock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: 1024,
    indexIntervalBytes: 256,
  });
  cleanups.push(() => log.close());
  return log;
}

function fresh(): { dir: string; dataDir: string; clock: ManualClock; log: PartitionLog } {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const clock = new ManualClock();
  const dir = path.join(temp.dir, "t-0");
  return { dir, dataDir: temp.dir, clock, log: openLog(dir, clock) };
}

/** Every record from the start, read 7 at a time so that reads start inside gaps. */
function readAll(log: PartitionLog): StoredRecord[] {
  const records: StoredRecord[] = [];
  let offset = log.earliestOffset;
  while (offset < log.highWatermark) {
    const read = log.read(offset, 7, 1 << 20);
    expect(read.nextOffset).toBeGreaterThan(offset);
    records.push(...read.records);
    offset = read.nextOffset;
  }
  return records;
}

function newestByKey(records: readonly StoredRecord[]): Map<string, string | null> {
  const newest = new Map<string, string | null>();
  for (const r of records) newest.set(decoder.decode(r.key!), r.value === null ? null : decoder.decode(r.value));
  return newest;
}

function policy(clock: ManualClock, overrides: Partial<CompactionPolicy> = {}): CompactionPolicy {
  return { nowMs: clock.nowMs(), deleteRetentionMs: 24 * HOUR_MS, minCompactionLagMs: 0, ...overrides };
}

function segmentCount(dir: string): number {
  return readdirSync(dir).filter((name) => name.endsWith(".log")).length;
}

describe("compaction of a partition's sealed segments", () => {
  test("keeps each key's newest record, keeps offsets (with gaps) and leaves the active segment alone", async () => {
    const { log, clock, dir, dataDir } = fresh();
    for (let i = 0; i < 60; i++) await log.append([record(`k${i % 5}`, `v${i}`, clock.nowMs())]);
    // A batch of several records, one of them overwritten inside it.
    await log.append([record("k1", "b0", clock.nowMs()), record("k9", "b1", clock.nowMs()), record("k1", "b2", clock.nowMs())]);
    expect(segmentCount(dir)).toBeGreaterThan(3);
    const before = readAll(log);
    const activeBase = log.compactionTarget().sealedSegments().at(-1)!.nextOffset;
    const activeBytes = readFileSync(path.join(dir, `${String(activeBase).padStart(20, "0")}.log`));

    const outcome = await compactPartition(log.compactionTarget(), policy(clock), noThrottle);
    expect(outcome.segmentsCleaned).toBeGreaterThan(0);
    expect(outcome.bytesRemoved).toBeGreaterThan(0);

    const after = readAll(log);
    expect(newestByKey(after)).toEqual(newestByKey(before));
    // Offsets are kept: every record read back sits at its old offset with its old value.
    const byOffset = new Map(before.map((r) => [r.offset, decoder.decode(r.value!)]));
    for (const r of after) expect(decoder.decode(r.value!)).toBe(byOffset.get(r.offset)!);
    // In the cleaned range each key is there once; the active segment is byte for byte as it was.
    const cleaned = after.filter((r) => r.offset < outcome.cleanEndOffset);
    expect(new Set(cleaned.map((r) => decoder.decode(r.key!))).size).toBe(cleaned.length);
    expect(readFileSync(path.join(dir, `${String(activeBase).padStart(20, "0")}.log`))).toEqual(activeBytes);
    expect(after.filter((r) => r.offset >= activeBase)).toEqual(before.filter((r) => r.offset >= activeBase));
    expect(log.logEndOffset).toBe(63);

    // A read at an offset compacted away returns the next records.
    const gap = before.find((r) => r.offset < outcome.cleanEndOffset && !after.some((a) => a.offset === r.offset))!;
    const next = after.find((r) => r.offset > gap.offset)!;
    expect(log.read(gap.offset, 1, 1 << 20).records[0]!.offset).toBe(next.offset);
    const batches = log.readBatches(gap.offset, 100, 1 << 20);
    expect(batches.nextOffset).toBeGreaterThan(gap.offset);

    // The log reopens as it is, and verify finds nothing wrong.
    await log.close();
    const reopened = openLog(dir, clock);
    expect(readAll(reopened)).toEqual(after);
    expect(verifyDataDir(dataDir, nodeFileSystem).partitions[0]!.problems).toEqual([]);
  });

  test("a tombstone survives the pass that first compacts its key and goes once delete.retention.ms has passed since", async () => {
    const { log, clock } = fresh();
    await log.append([record("gone", "v1", clock.nowMs())]);
    await log.append([record("gone", null, clock.nowMs())]);
    for (let i = 0; i < 30; i++) await log.append([record(`k${i % 3}`, `v${i}`, clock.nowMs())]);
    const keys = () => readAll(log).map((r) => decoder.decode(r.key!));
    const options = { deleteRetentionMs: 10 * HOUR_MS };

    await compactPartition(log.compactionTarget(), policy(clock, options), noThrottle);
    expect(keys().filter((k) => k === "gone")).toHaveLength(1);
    expect(readAll(log).find((r) => decoder.decode(r.key!) === "gone")!.value).toBeNull();

    clock.advance(9 * HOUR_MS);
    await compactPartition(log.compactionTarget(), policy(clock, options), noThrottle);
    expect(keys()).toContain("gone");

    clock.advance(2 * HOUR_MS);
    await compactPartition(log.compactionTarget(), policy(clock, options), noThrottle);
    expect(keys()).not.toContain("gone");
  });

  test("a later pass drops the compacted section's records superseded by newer ones, and leaves the rest as they are", async () => {
    const { log, clock, dir } = fresh();
    for (let i = 0; i < 40; i++) await log.append([record(`k${i % 4}`, `first-${i}`, clock.nowMs())]);
    await log.append([record("only-once", "kept", clock.nowMs())]);
    const first = await compactPartition(log.compactionTarget(), policy(clock), noThrottle);
    for (let i = 0; i < 40; i++) await log.append([record(`k${i % 2}`, `second-${i}`, clock.nowMs())]);
    const second = await compactPartition(log.compactionTarget(), policy(clock), noThrottle);
    expect(second.cleanEndOffset).toBeGreaterThan(first.cleanEndOffset);
    const cleaned = readAll(log).filter((r) => r.offset < second.cleanEndOffset);
    const keys = cleaned.map((r) => decoder.decode(r.key!));
    expect(new Set(keys).size).toBe(keys.length);
    expect(newestByKey(cleaned).get("only-once")).toBe("kept");
    expect(newestByKey(cleaned).get("k3")).toBe("first-39");
    expect(segmentCount(dir)).toBeGreaterThan(2);
  });

  test("records newer than min.compaction.lag.ms are not touched", async () => {
    const { log, clock } = fresh();
    for (let i = 0; i < 40; i++) await log.append([record(`k${i % 2}`, `v${i}`, clock.nowMs())]);
    const before = readAll(log);
    const lagged = await compactPartition(log.compactionTarget(), policy(clock, { minCompactionLagMs: HOUR_MS }), noThrottle);
    expect(lagged.segmentsCleaned).toBe(0);
    expect(readAll(log)).toEqual(before);

    clock.advance(HOUR_MS + 1);
    const cleaned = await compactPartition(log.compactionTarget(), policy(clock, { minCompactionLagMs: HOUR_MS }), noThrottle);
    expect(cleaned.segmentsCleaned).toBeGreaterThan(0);
    expect(readAll(log).length).toBeLessThan(before.length);
  });

  test("a follower copying a compacted log gets the same bytes", async () => {
    const leader = fresh();
    for (let i = 0; i < 50; i++) await leader.log.append([record(`k${i % 4}`, `v${i}`, leader.clock.nowMs())]);
    await compactPartition(leader.log.compactionTarget(), policy(leader.clock), noThrottle);
    const follower = fresh();
    let offset = 0;
    while (offset < leader.log.logEndOffset) {
      const frames = leader.log.readFrames(offset, 300);
      await follower.log.appendFrames(frames.frames, frames.startsSegment);
      offset = frames.nextOffset;
    }
    const files = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".log")).map((name) => [name, readFileSync(path.join(dir, name))]);
    expect(files(follower.dir)).toEqual(files(leader.dir));
  });
});

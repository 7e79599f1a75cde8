import { afterEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { silentLogger } from "../core/logger.ts";
import { limits } from "../core/limits.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { nodeFileSystem } from "./file-system.ts";
import { LOG_START_FILE_NAME } from "./log-start-checkpoint.ts";
import { PartitionLog } from "./partition-log.ts";

// The log start offset and delete retention, in process on a ManualClock:
// time moves only when a test says so.

const encoder = new TextEncoder();
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const DAY_MS = 24 * 3600 * 1000;
const START_MS = 1_764_000_000_000;

function fixture() {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const clock = new ManualClock({ nowMs: START_MS });
  const dir = path.join(temp.dir, "t-0");
  const infos: string[] = [];
  const open = () => {
    const log = PartitionLog.open({
      dir,
      name: "t-0",
      fs: nodeFileSystem,
      clock,
      logger: { ...silentLogger, info: (message: unknown) => void infos.push(String(message)) },
      fsyncPolicy: { kind: "always" },
      segmentBytesMax: 1024,
    });
    cleanups.push(() => log.close());
    return log;
  };
  return { dir, clock, open, infos };
}

/** Appends `count` records of ~300 bytes (two to a 1 KB segment), stamped with the clock's time. */
async function fill(log: PartitionLog, clock: ManualClock, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await log.append([{ key: null, value: encoder.encode("x".repeat(300)), headers: [], timestampMs: clock.nowMs() }]);
  }
}

const segmentFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith(".log")).sort();

test("retention by time deletes the sealed segments whose newest record is older than retention.ms, never the active one", async () => {
  const { dir, clock, open, infos } = fixture();
  const log = open();
  await fill(log, clock, 9); // three sealed segments of three records... and the active one
  const before = segmentFiles(dir).length;
  expect(before).toBeGreaterThanOrEqual(3);
  expect(log.applyRetention({ retentionMs: 7 * DAY_MS, retentionBytes: -1 }, START_MS + 6 * DAY_MS)).toBeUndefined();
  const deleted = log.applyRetention({ retentionMs: 7 * DAY_MS, retentionBytes: -1 }, START_MS + 8 * DAY_MS)!;
  // Every sealed segment was old; the active one stays even though its records are as old.
  expect(deleted.baseOffsets.length).toBe(before - 1);
  expect(segmentFiles(dir).length).toBe(1);
  expect(log.earliestOffset).toBe(log.firstSegmentOffset);
  expect(log.earliestOffset).toBeGreaterThan(0);
  expect(() => log.read(0, 10, 1 << 20)).toThrow(/out of range/);
  expect(log.read(log.earliestOffset, 10, 1 << 20).records[0]!.offset).toBe(log.earliestOffset);
  expect(infos.some((line) => line.includes("retention: deleted") && line.includes(`log start offset ${log.earliestOffset}`))).toBe(true);
  // The files lie renamed until the delay passes, then go.
  expect(fs.readdirSync(dir).some((name) => name.endsWith(".deleted"))).toBe(true);
  clock.advance(limits.segmentFileDeleteDelayMs);
  expect(fs.readdirSync(dir).some((name) => name.endsWith(".deleted"))).toBe(false);
});

test("retention by size keeps the partition under retention.bytes plus one segment", async () => {
  const { clock, open } = fixture();
  const log = open();
  await fill(log, clock, 30);
  const retentionBytes = 3000;
  log.applyRetention({ retentionMs: -1, retentionBytes }, clock.nowMs());
  expect(log.sizeBytes).toBeGreaterThanOrEqual(retentionBytes);
  expect(log.sizeBytes).toBeLessThan(retentionBytes + 1024);
});

test("the log start moves into the middle of a segment, survives a reopen, and recovery removes .deleted leftovers", async () => {
  const { dir, clock, open } = fixture();
  let log = open();
  await fill(log, clock, 9);
  const deleted = log.advanceLogStart(5, "DeleteRecords")!;
  expect(deleted.logStartOffset).toBe(5);
  expect(log.firstSegmentOffset).toBeLessThan(5); // the segment holding 4 stays, its first records refused
  expect(() => log.read(4, 10, 1 << 20)).toThrow(/out of range \[5,/);
  expect(fs.readFileSync(path.join(dir, LOG_START_FILE_NAME), "utf8")).toBe("0\n5\n");
  // A crash after the rename, before the removal: the leftovers stay on disk.
  fs.writeFileSync(path.join(dir, "00000000000000000000.log.deleted"), "left over");
  await log.close();
  log = open();
  expect(log.earliestOffset).toBe(5);
  expect(() => log.read(4, 10, 1 << 20)).toThrow(/out of range/);
  expect(log.read(5, 1, 1 << 20).records[0]!.offset).toBe(5);
  expect(fs.readdirSync(dir).some((name) => name.endsWith(".deleted"))).toBe(false);
  // Retention also deletes a segment left wholly below the log start.
  log.advanceLogStart(log.logEndOffset, "DeleteRecords");
  expect(log.earliestOffset).toBe(log.logEndOffset);
  expect(segmentFiles(dir).length).toBe(1);
});

test("a follower behind its leader's first segment restarts empty at that offset", async () => {
  const { dir, clock, open } = fixture();
  const log = open();
  await fill(log, clock, 4);
  await log.restartAt(40);
  expect(log.earliestOffset).toBe(40);
  expect(log.logEndOffset).toBe(40);
  expect(segmentFiles(dir)).toEqual(["00000000000000000040.log"]);
  expect((await log.append([{ key: null, value: encoder.encode("a"), headers: [], timestampMs: clock.nowMs() }])).baseOffset).toBe(40);
});

import { afterEach, expect, test } from "bun:test";
import * as path from "node:path";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import type { RecordInput } from "../protocol/record.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { FsyncPolicy } from "./fsync-policy.ts";
import { PartitionLog } from "./partition-log.ts";

// The partition log's timers (the interval fsync, the reopen retry, long-poll
// timeouts) run on its injected clock: these tests move a ManualClock instead
// of sleeping.

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const record = (value: string): RecordInput => ({ key: null, value: encoder.encode(value), headers: [], timestampMs: 1_764_000_000_000 });

interface Fixture {
  log: PartitionLog;
  clock: ManualClock;
  fs: FaultyFileSystem;
  reports: { durationSeconds: number; records: number; bytes: number }[];
  errors: string[];
}

function clockedLog(fsyncPolicy: FsyncPolicy): Fixture {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const clock = new ManualClock();
  const fs = new FaultyFileSystem();
  const reports: Fixture["reports"] = [];
  const errors: string[] = [];
  const log = PartitionLog.open({
    dir: path.join(temp.dir, "t-0"),
    name: "t-0",
    fs,
    clock,
    logger: { ...silentLogger, error: (message: unknown) => void errors.push(String(message)) },
    fsyncPolicy,
    segmentBytesMax: 1024 * 1024,
    onFsync: (durationSeconds, records, bytes) => void reports.push({ durationSeconds, records, bytes }),
  });
  cleanups.push(() => log.close());
  return { log, clock, fs, reports, errors };
}

const values = (log: PartitionLog) => log.read(0, 1000, 1 << 30).records.map((r) => decoder.decode(r.value!));

/**
 * Lets promise callbacks and I/O already under way run (a few turns of the
 * event loop), then until `condition` holds, within a generous bound; no
 * clock time passes meanwhile.
 */
async function settle(condition: () => boolean = () => true, what = "the condition"): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await Bun.sleep(0);
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(1);
  }
}

test("the interval fsync runs when the clock passes its interval, not before, and reports what it made durable", async () => {
  const { log, clock, fs, reports } = clockedLog({ kind: "interval", intervalMs: 50 });
  await log.append([record("a"), record("b"), record("c")]);
  expect(values(log)).toEqual(["a", "b", "c"]);
  const syncsBefore = fs.syncs;
  clock.advance(49);
  await settle();
  expect(fs.syncs).toBe(syncsBefore);
  expect(reports).toEqual([]);

  clock.advance(1);
  await settle(() => reports.length > 0, "the interval fsync");
  expect(fs.syncs).toBe(syncsBefore + 1);
  // No clock time passed during the fsync: the clock times it too.
  expect(reports).toEqual([{ durationSeconds: 0, records: 3, bytes: log.sizeBytes }]);

  // Nothing new written: the next interval has nothing to sync.
  clock.advance(50);
  await settle();
  expect(fs.syncs).toBe(syncsBefore + 1);

  const sizeBefore = log.sizeBytes;
  await log.append([record("d")]);
  clock.advance(50);
  await settle(() => reports.length > 1, "the second interval fsync");
  expect(reports[1]).toEqual({ durationSeconds: 0, records: 1, bytes: log.sizeBytes - sizeBefore });
});

test("close stops the interval fsync", async () => {
  const { log, clock } = clockedLog({ kind: "interval", intervalMs: 50 });
  expect(clock.pendingTimers).toBe(1);
  await log.close();
  expect(clock.pendingTimers).toBe(0);
});

test("an offline partition's reopen is tried at once and then every second of clock time, until the disk heals", async () => {
  const { log, clock, fs, errors } = clockedLog({ kind: "always" });
  await log.append([record("acked")]);
  const reopenFailures = () => errors.filter((line) => line.includes("could not be reopened")).length;

  fs.diskFailing = true;
  await log.append([record("lost")]).catch(() => {});
  expect(log.status).toBe("offline");
  await settle();
  expect(reopenFailures()).toBe(0); // the first reopen waits for its turn on the clock

  clock.advance(0);
  await settle(() => reopenFailures() === 1, "the first reopen");
  expect(log.status).toBe("offline");
  clock.advance(999);
  await settle();
  expect(reopenFailures()).toBe(1);
  clock.advance(1);
  await settle(() => reopenFailures() === 2, "the retry");
  expect(log.status).toBe("offline");

  fs.diskFailing = false;
  clock.advance(1000);
  await settle(() => log.status === "online", "the partition back online");
  expect(reopenFailures()).toBe(2);
  expect(values(log)).toEqual(["acked"]);
  expect(clock.pendingTimers).toBe(0);
});

test("a long poll ends at its timeout on the clock, or at once when a record arrives", async () => {
  const { log, clock } = clockedLog({ kind: "always" });
  let ended = false;
  const waiting = log.waitForData(0, 5_000).then(() => (ended = true));
  clock.advance(4_999);
  await settle();
  expect(ended).toBe(false);
  clock.advance(1);
  await waiting;
  expect(ended).toBe(true);

  const woken = log.waitForData(0, 5_000);
  expect(clock.pendingTimers).toBe(1);
  await log.append([record("a")]);
  await woken;
  expect(clock.pendingTimers).toBe(0); // the record cancelled the timeout
});

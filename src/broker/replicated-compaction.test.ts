import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import type { RecordInput } from "../protocol/record.ts";
import { readCleanerPasses } from "../storage/cleaner-checkpoint.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { type CompactionPolicy, compactPartition } from "../storage/log-compactor.ts";
import { PartitionLog } from "../storage/partition-log.ts";
import { nextReplayedPass } from "./replicated-passes.ts";

const encoder = new TextEncoder();
const cleanups: (() => void | Promise<void>)[] = [];
const HOUR_MS = 3600_000;
const noThrottle = async () => {};

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function record(key: string, value: string | null, timestampMs: number): RecordInput {
  return { key: encoder.encode(key), value: value === null ? null : encoder.encode(value), headers: [], timestampMs };
}

/** A partition log of 1 KiB segments in a temporary dir, on a clock of its own. */
function fresh(): { dir: string; clock: ManualClock; log: PartitionLog } {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const clock = new ManualClock();
  const dir = path.join(temp.dir, "t-0");
  const log = PartitionLog.open({ dir, name: "t-0", fs: nodeFileSystem, clock, logger: silentLogger, fsyncPolicy: { kind: "always" }, segmentBytesMax: 1024, indexIntervalBytes: 256 });
  cleanups.push(() => log.close());
  return { dir, clock, log };
}

function policy(clock: ManualClock, overrides: Partial<CompactionPolicy> = {}): CompactionPolicy {
  return { nowMs: clock.nowMs(), deleteRetentionMs: 24 * HOUR_MS, minCompactionLagMs: 0, ...overrides };
}

test("a follower repeating the leader's passes on its copy gets the leader's bytes and checkpoint, whatever its own clock and settings", async () => {
  const leader = fresh();
  const follower = fresh();
  follower.clock.advance(5 * HOUR_MS); // another clock: it must not matter
  let copied = 0;
  const copy = async () => {
    while (copied < leader.log.logEndOffset) {
      const frames = leader.log.readFrames(copied, 300);
      await follower.log.appendFrames(frames.frames, frames.startsSegment);
      copied = frames.nextOffset;
    }
  };
  const leaderPass = async (deleteRetentionMs: number) => {
    const outcome = await compactPartition(leader.log.compactionTarget(), policy(leader.clock, { deleteRetentionMs }), noThrottle);
    expect(outcome.abandoned).toBe(false);
    return outcome.passes;
  };
  const repeat = async (leaderPasses: ReturnType<typeof readCleanerPasses>) => {
    for (;;) {
      const next = nextReplayedPass(readCleanerPasses(nodeFileSystem, follower.dir), leaderPasses);
      if (next === undefined) return;
      const outcome = await compactPartition(follower.log.compactionTarget(), policy(follower.clock, { deleteRetentionMs: 1 }), noThrottle, next);
      expect(outcome.abandoned).toBe(false);
    }
  };
  for (let i = 0; i < 40; i++) await leader.log.append([record(`k${i % 5}`, i % 7 === 0 ? null : `v${i}`, leader.clock.nowMs())]);
  await copy();
  const first = await leaderPass(HOUR_MS);
  leader.clock.advance(2 * HOUR_MS);
  for (let i = 0; i < 40; i++) await leader.log.append([record(`k${i % 3}`, i % 5 === 0 ? null : `w${i}`, leader.clock.nowMs())]);
  await copy();
  const second = await leaderPass(HOUR_MS);
  expect(second.length).toBe(2);
  // Both passes at once (a follower that missed the first), in order.
  await repeat(second);
  expect(readCleanerPasses(nodeFileSystem, follower.dir)).toEqual(second);
  expect(first[0]!.deleteRetentionMs).toBe(HOUR_MS);
  const files = (dir: string) =>
    readdirSync(dir)
      .filter((name) => name.endsWith(".log"))
      .sort()
      .slice(0, -1) // the active segment is not compacted
      .map((name) => [name, readFileSync(path.join(dir, name)).toString("hex")]);
  const sealed = (dir: string) => [...files(dir), ["cleaner-checkpoint", readFileSync(path.join(dir, "cleaner-checkpoint")).toString("hex")]];
  expect(sealed(follower.dir)).toEqual(sealed(leader.dir));
});

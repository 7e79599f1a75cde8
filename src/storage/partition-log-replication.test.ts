import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { systemClock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { nodeFileSystem } from "./file-system.ts";
import { LeaderEpochCache } from "./leader-epoch-cache.ts";
import { PartitionLog } from "./partition-log.ts";
import type { RecordInput } from "../protocol/record.ts";
import { readBatchHeader } from "../protocol/record-batch.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function records(prefix: string, count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: encoder.encode(`k${i}`),
    value: encoder.encode(`${prefix}-${i}`),
    headers: [],
    timestampMs: 1_764_000_000_000 + i,
  }));
}

function open(dir: string, options: { epoch?: () => number; segmentBytesMax?: number } = {}): PartitionLog {
  const log = PartitionLog.open({
    dir,
    name: "t-0",
    fs: nodeFileSystem,
    clock: systemClock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: options.segmentBytesMax ?? 1024 * 1024,
    indexIntervalBytes: 256,
    leaderEpoch: options.epoch,
  });
  cleanups.push(() => log.close());
  return log;
}

function tempPartitionDir(name: string): string {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  return path.join(temp.dir, name);
}

function values(log: PartitionLog): string[] {
  return log.read(log.earliestOffset, 100_000, 64 * 1024 * 1024).records.map((r) => decoder.decode(r.value!));
}

/** Copies the leader's log to the follower the way replication does: frames, in chunks of about `chunkBytes`. */
async function replicate(leader: PartitionLog, follower: PartitionLog, chunkBytes: number): Promise<void> {
  while (follower.logEndOffset < leader.durableEndOffset) {
    const read = leader.readFrames(follower.logEndOffset, chunkBytes);
    await follower.appendFrames(read.frames, read.startsSegment);
  }
}

function segmentFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".log")).sort()) {
    files.set(name, Bun.hash(readFileSync(path.join(dir, name))).toString());
  }
  return files;
}

describe("leader epochs", () => {
  test("appends stamp the current epoch and the cache records where each began, durably", async () => {
    const dir = tempPartitionDir("t-0");
    let epoch = 0;
    const log = open(dir, { epoch: () => epoch });
    await log.append(records("a", 3));
    epoch = 2;
    await log.append(records("b", 2));
    expect(log.leaderEpochs.entries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 3 },
    ]);
    const read = log.readFrames(3, 1 << 20);
    expect(readBatchHeader(read.frames, FRAME_HEADER_BYTES).partitionLeaderEpoch).toBe(2);
    expect(readFileSync(path.join(dir, "leader-epoch-checkpoint"), "utf8")).toBe("0\n2\n0 0\n2 3\n");
    expect(LeaderEpochCache.load(dir, nodeFileSystem).endOf(0, 5)).toEqual({ epoch: 0, endOffset: 3 });
    expect(LeaderEpochCache.load(dir, nodeFileSystem).endOf(1, 5)).toEqual({ epoch: 0, endOffset: 3 });
    expect(LeaderEpochCache.load(dir, nodeFileSystem).endOf(2, 5)).toEqual({ epoch: 2, endOffset: 5 });
  });

  test("a damaged checkpoint refuses the partition", async () => {
    const dir = tempPartitionDir("t-0");
    const log = open(dir, { epoch: () => 1 });
    await log.append(records("a", 1));
    await log.close();
    await Bun.write(path.join(dir, "leader-epoch-checkpoint"), "0\n1\nnot numbers\n");
    expect(() => open(dir)).toThrow(/damaged/);
  });
});

describe("follower appends", () => {
  test("frames copied in chunks make byte-identical segment files, rolls included", async () => {
    const leaderDir = tempPartitionDir("t-0");
    const followerDir = tempPartitionDir("t-0");
    const leader = open(leaderDir, { epoch: () => 0, segmentBytesMax: 4096 });
    // The follower's own segment size does not matter: it rolls where the leader did.
    const follower = open(followerDir, { segmentBytesMax: 1024 * 1024 });
    for (let i = 0; i < 40; i++) await leader.append(records(`b${i}`, 1 + (i % 7)));
    await replicate(leader, follower, 700);
    expect(follower.logEndOffset).toBe(leader.logEndOffset);
    expect(segmentFiles(followerDir)).toEqual(segmentFiles(leaderDir));
    expect(segmentFiles(leaderDir).size).toBeGreaterThanOrEqual(2);
    expect(values(follower)).toEqual(values(leader));
    expect(follower.leaderEpochs.entries()).toEqual([{ epoch: 0, startOffset: 0 }]);
  });

  test("a frame with a flipped bit, or one that does not continue the log, is refused and nothing is written", async () => {
    const leader = open(tempPartitionDir("t-0"), { epoch: () => 0 });
    const follower = open(tempPartitionDir("t-0"));
    await leader.append(records("a", 2));
    await leader.append(records("b", 2));
    const first = leader.readFrames(0, 1);
    const second = leader.readFrames(2, 1 << 20);
    const damaged = first.frames.slice();
    damaged[damaged.length - 1]! ^= 1;
    await expect(follower.appendFrames(damaged, true)).rejects.toThrow(/CRC32/);
    await expect(follower.appendFrames(second.frames, false)).rejects.toThrow(/expected 0/);
    expect(follower.logEndOffset).toBe(0);
    expect(follower.sizeBytes).toBe(0);
    await follower.appendFrames(first.frames, true);
    await follower.appendFrames(second.frames, false);
    expect(values(follower)).toEqual(["a-0", "a-1", "b-0", "b-1"]);
  });
});

describe("high watermark under replication", () => {
  test("readers see only up to the limit; the limit never takes back what they saw; undefined lifts it", async () => {
    const log = open(tempPartitionDir("t-0"));
    await log.append(records("a", 2));
    log.resetHighWatermarkLimit(0);
    await log.append(records("b", 2));
    expect(log.durableEndOffset).toBe(4);
    expect(log.highWatermark).toBe(0);
    expect(log.read(0, 10, 1 << 20).records).toHaveLength(0);
    const woken = log.waitForData(0, 10_000);
    log.setHighWatermarkLimit(3);
    await woken;
    expect(log.highWatermark).toBe(3);
    expect(values(log)).toEqual(["a-0", "a-1", "b-0"]);
    log.setHighWatermarkLimit(1); // ignored: never lower what readers saw
    expect(log.highWatermark).toBe(3);
    log.setHighWatermarkLimit(undefined);
    expect(log.highWatermark).toBe(4);
  });
});

describe("truncation", () => {
  test("cuts at a batch boundary inside an earlier segment, deletes later segments, forgets later epochs, survives reopen", async () => {
    const dir = tempPartitionDir("t-0");
    let epoch = 0;
    const log = open(dir, { epoch: () => epoch, segmentBytesMax: 1024 });
    for (let i = 0; i < 10; i++) await log.append(records(`e0b${i}`, 3));
    epoch = 1;
    for (let i = 0; i < 10; i++) await log.append(records(`e1b${i}`, 3));
    expect(readdirSync(dir).filter((n) => n.endsWith(".log")).length).toBeGreaterThanOrEqual(3);
    await expect(log.truncateTo(31)).rejects.toThrow(/inside the batch/);
    await log.truncateTo(30);
    expect(log.logEndOffset).toBe(30);
    expect(log.highWatermark).toBe(30);
    expect(log.leaderEpochs.entries()).toEqual([{ epoch: 0, startOffset: 0 }]);
    epoch = 2;
    await log.append(records("after", 1));
    await log.close();
    const reopened = open(dir, { segmentBytesMax: 1024 });
    const all = values(reopened);
    expect(all).toHaveLength(31);
    expect(all[29]).toBe("e0b9-2");
    expect(all[30]).toBe("after-0");
    expect(reopened.leaderEpochs.entries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 30 },
    ]);
  });

  test("truncating to a segment's base offset removes that segment whole", async () => {
    const dir = tempPartitionDir("t-0");
    const log = open(dir, { epoch: () => 0, segmentBytesMax: 1024 });
    for (let i = 0; i < 12; i++) await log.append(records(`b${i}`, 3));
    const bases = readdirSync(dir)
      .filter((n) => n.endsWith(".log"))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b);
    const cut = bases[bases.length - 1]!;
    await log.truncateTo(cut);
    expect(readdirSync(dir).filter((n) => n.endsWith(".log")).map((n) => Number(n.slice(0, 20)))).not.toContain(cut);
    expect(log.logEndOffset).toBe(cut);
    await log.append(records("next", 1));
    expect(values(log).at(-1)).toBe("next-0");
  });

  test("batchBaseOffsetOf rounds down to the batch holding an offset", async () => {
    const log = open(tempPartitionDir("t-0"), { epoch: () => 0 });
    await log.append(records("a", 5));
    await log.append(records("b", 5));
    expect(log.batchBaseOffsetOf(7)).toBe(5);
    expect(log.batchBaseOffsetOf(5)).toBe(5);
    expect(log.batchBaseOffsetOf(4)).toBe(0);
    expect(log.batchBaseOffsetOf(99)).toBe(10);
  });

  test("a refused truncation names the problem as a GafkaError", async () => {
    const log = open(tempPartitionDir("t-0"), { epoch: () => 0 });
    await log.append(records("a", 2));
    const error = await log.truncateTo(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GafkaError);
  });
});

describe("reads", () => {
  test("a batch larger than what is left of the reader's window reads back (its checksum is read before the refill)", async () => {
    const log = open(tempPartitionDir("t-0"), { epoch: () => 0 });
    await log.append(records("small", 10));
    const big = Array.from({ length: 3000 }, (_, i) => ({ key: null, value: encoder.encode(`big-${i}-${"x".repeat(100)}`), headers: [], timestampMs: 1 }));
    await log.append(big);
    await log.append(big);
    const read = log.read(0, 100_000, 64 * 1024 * 1024);
    expect(read.records).toHaveLength(6010);
    expect(decoder.decode(read.records[6009]!.value!)).toStartWith("big-2999-");
  });
});

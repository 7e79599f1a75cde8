import { afterEach, expect, test } from "bun:test";
import * as path from "node:path";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { PartitionLog } from "../storage/partition-log.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { PartitionEntry } from "./broker.ts";
import { RetentionTask } from "./retention-task.ts";
import { KAFKA_TOPIC_DEFAULTS } from "./topic-config.ts";

// Delete retention by size as a partition grows: the log's RetentionCheck has
// the task apply retention to it (applyNow, within the append) as soon as the partition holds retention.bytes
// without its oldest segment, so it never holds more than retention.bytes plus
// a segment, at any moment, not only right after a roll.

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const SEGMENT_BYTES = 1024;
const RETENTION_BYTES = 3000;
const encoder = new TextEncoder();

test("appending continuously, after every append the partition holds at least retention.bytes and at most retention.bytes plus a segment", async () => {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const clock = new ManualClock();
  let task: RetentionTask | undefined;
  let asked = 0;
  const rolled = () => task?.applyNow("t", 0);
  const due = () => {
    asked++;
    task?.applyNow("t", 0);
  };
  const log = PartitionLog.open({
    dir: path.join(temp.dir, "t-0"),
    name: "t-0",
    fs: nodeFileSystem,
    clock,
    logger: silentLogger,
    fsyncPolicy: { kind: "never" },
    segmentBytesMax: SEGMENT_BYTES,
    onRoll: rolled, // as the broker wires it: a roll asks for a pass too
    onRetentionDue: due,
  });
  cleanups.push(() => log.close());
  const entries: PartitionEntry[] = [{ topic: "t", partition: 0, topicCreatedAtMs: 0, log }];
  const config = { ...KAFKA_TOPIC_DEFAULTS, retentionBytes: RETENTION_BYTES, retentionMs: -1, segmentBytes: SEGMENT_BYTES, maxMessageBytes: 1 << 20, minInsyncReplicas: 1 };
  task = new RetentionTask({
    broker: { partitionEntries: () => entries, admitLeadership: () => {} },
    topicConfigs: { configOf: () => config },
    clock,
    logger: silentLogger,
    intervalMs: 24 * 3600 * 1000, // no periodic pass within the test: only the check and the rolls ask
  });
  cleanups.push(() => task!.stop());
  task.start();
  log.retentionCheck.arm(RETENTION_BYTES); // the broker's topic state does this when the topic is opened or reconfigured
  let reached = false;
  let largest = 0;
  for (let i = 0; i < 400; i++) {
    // Records of varied sizes, so segments end at varied sizes below segment.bytes.
    await log.append([{ key: null, value: encoder.encode("x".repeat(40 + ((i * 37) % 200))), headers: [], timestampMs: clock.nowMs() }]);
    largest = Math.max(largest, log.sizeBytes);
    expect(log.sizeBytes).toBeLessThanOrEqual(RETENTION_BYTES + SEGMENT_BYTES);
    if (log.sizeBytes >= RETENTION_BYTES) reached = true;
    if (reached) expect(log.sizeBytes).toBeGreaterThanOrEqual(RETENTION_BYTES);
    // Only whole segments leave, from the front.
    expect(log.earliestOffset).toBe(log.firstSegmentOffset);
  }
  expect(reached).toBe(true);
  expect(log.earliestOffset).toBeGreaterThan(0);
  // The check asks once per pass it needs (each deletes a segment), not once per append.
  const deleted = task.deletedTotals()[0]!.segments;
  expect(deleted).toBeGreaterThan(5);
  expect(asked).toBeGreaterThan(0);
  expect(asked).toBeLessThanOrEqual(deleted);
});

test("the check asks once, then waits for a pass to arm it again; no limit or a follower's passes never ask", async () => {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  let asked = 0;
  const log = PartitionLog.open({
    dir: path.join(temp.dir, "t-0"),
    name: "t-0",
    fs: nodeFileSystem,
    clock: new ManualClock(),
    logger: silentLogger,
    fsyncPolicy: { kind: "never" },
    segmentBytesMax: SEGMENT_BYTES,
    onRetentionDue: () => asked++,
  });
  cleanups.push(() => log.close());
  const append = () => log.append([{ key: null, value: encoder.encode("x".repeat(300)), headers: [], timestampMs: 0 }]);
  for (let i = 0; i < 20; i++) await append(); // unarmed: never asks
  expect(asked).toBe(0);
  log.retentionCheck.arm(-1);
  await append();
  expect(asked).toBe(0);
  log.retentionCheck.arm(1000);
  await append();
  await append();
  expect(asked).toBe(1);
  log.retentionCheck.arm(1000);
  await append();
  expect(asked).toBe(2);
});

import { afterEach, expect, test } from "bun:test";
import * as path from "node:path";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { PartitionLog } from "../storage/partition-log.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { PartitionEntry } from "./broker.ts";
import { RetentionTask } from "./retention-task.ts";
import { KAFKA_TOPIC_DEFAULTS, type TopicConfig } from "./topic-config.ts";

// Delete retention's periodic pass on a ManualClock, over a configuration
// source the test injects (the broker is the source in a running broker).

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const START_MS = 1_764_000_000_000;
const HOUR_MS = 3600 * 1000;
const encoder = new TextEncoder();

function config(overrides: Partial<TopicConfig>): TopicConfig {
  return { ...KAFKA_TOPIC_DEFAULTS, segmentBytes: 1024, maxMessageBytes: 1 << 20, minInsyncReplicas: 1, ...overrides };
}

async function setUp(configs: Record<string, TopicConfig>) {
  const temp = makeTempDir();
  cleanups.unshift(temp.remove);
  const clock = new ManualClock({ nowMs: START_MS });
  const entries: PartitionEntry[] = [];
  for (const topic of Object.keys(configs)) {
    const log = PartitionLog.open({
      dir: path.join(temp.dir, `${topic}-0`),
      name: `${topic}-0`,
      fs: nodeFileSystem,
      clock,
      logger: silentLogger,
      fsyncPolicy: { kind: "always" },
      segmentBytesMax: 1024,
    });
    cleanups.push(() => log.close());
    for (let i = 0; i < 30; i++) await log.append([{ key: null, value: encoder.encode("x".repeat(300)), headers: [], timestampMs: clock.nowMs() }]);
    entries.push({ topic, partition: 0, topicCreatedAtMs: 0, log });
  }
  let leader = true;
  const task = new RetentionTask({
    broker: {
      partitionEntries: () => entries,
      admitLeadership: () => {
        if (!leader) throw new Error("not the leader");
      },
    },
    topicConfigs: { configOf: (topic) => configs[topic]! },
    clock,
    logger: silentLogger,
    intervalMs: 60_000,
  });
  cleanups.push(() => task.stop());
  return { clock, task, logs: Object.fromEntries(entries.map((e) => [e.topic, e.log!])), demote: () => (leader = false) };
}

test("each pass, on the clock, applies each topic's retention: by size under retention.bytes plus a segment, by time, never for compact only", async () => {
  const { clock, task, logs } = await setUp({
    sized: config({ retentionBytes: 3000, retentionMs: -1 }),
    timed: config({ retentionMs: 2 * HOUR_MS }),
    compacted: config({ retentionBytes: 0, retentionMs: 0, cleanupPolicy: { delete: false, compact: true } }),
  });
  const compactedBytes = logs.compacted!.sizeBytes;
  task.start();
  clock.advance(60_000);
  expect(logs.sized!.sizeBytes).toBeGreaterThanOrEqual(3000);
  expect(logs.sized!.sizeBytes).toBeLessThan(3000 + 1024);
  expect(logs.sized!.earliestOffset).toBeGreaterThan(0);
  expect(logs.timed!.earliestOffset).toBe(0); // not old yet
  clock.advance(3 * HOUR_MS);
  expect(logs.timed!.earliestOffset).toBe(logs.timed!.firstSegmentOffset);
  expect(logs.timed!.firstSegmentOffset).toBeGreaterThan(0);
  expect(logs.compacted!.sizeBytes).toBe(compactedBytes);
  const totals = task.deletedTotals();
  expect(totals.map((t) => t.topic).sort()).toEqual(["sized", "timed"]);
  expect(totals.every((t) => t.segments > 0 && t.bytes > 0)).toBe(true);
});

test("a follower applies no retention of its own: it follows its leader's log start", async () => {
  const { clock, task, logs, demote } = await setUp({ sized: config({ retentionBytes: 0 }) });
  demote();
  clock.advance(10 * 24 * HOUR_MS);
  expect(task.runOnce()).toBe(0);
  expect(logs.sized!.earliestOffset).toBe(0);
});

test("applyNow (a segment rolled, or the partition grew past retention.bytes plus its oldest segment) applies retention to that partition at once; not once stopped, not on a follower", async () => {
  const { task, logs, demote } = await setUp({ sized: config({ retentionBytes: 3000, retentionMs: -1 }), other: config({ retentionBytes: 3000, retentionMs: -1 }) });
  expect(task.applyNow("sized", 0)).toBe(0); // not started
  expect(logs.sized!.earliestOffset).toBe(0);
  task.start();
  expect(task.applyNow("sized", 0)).toBeGreaterThan(0);
  expect(logs.sized!.earliestOffset).toBeGreaterThan(0);
  expect(logs.sized!.sizeBytes).toBeLessThan(3000 + 1024);
  expect(logs.other!.earliestOffset).toBe(0); // only the partition named
  expect(task.applyNow("unknown", 0)).toBe(0);
  demote();
  expect(task.applyNow("other", 0)).toBe(0);
  expect(logs.other!.earliestOffset).toBe(0);
  task.stop();
});

import { afterEach, describe, expect, test } from "bun:test";
import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { PartitionLog } from "../storage/partition-log.ts";
import { IoThrottle } from "./io-throttle.ts";
import { LogCleaner } from "./log-cleaner.ts";
import { KAFKA_TOPIC_DEFAULTS, resolveTopicConfig, type TopicConfigSource } from "./topic-config.ts";

const encoder = new TextEncoder();
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const defaults = { ...KAFKA_TOPIC_DEFAULTS, segmentBytes: 1024, maxMessageBytes: 1 << 20, minInsyncReplicas: 1 };

/** Topics named compact-* are compacted, the rest deleted: the source the Broker will be. */
const configs: TopicConfigSource = {
  configOf: (topic) => {
    if (topic.startsWith("gone")) throw new GafkaError("topic_not_found", `no topic ${topic}`);
    return resolveTopicConfig(topic.startsWith("compact") ? { "cleanup.policy": "compact" } : {}, defaults);
  },
};

async function filledLog(root: string, name: string, clock: ManualClock, records: number): Promise<PartitionLog> {
  const log = PartitionLog.open({
    dir: path.join(root, name),
    name,
    fs: nodeFileSystem,
    clock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: 1024,
  });
  cleanups.push(() => log.close());
  for (let i = 0; i < records; i++) {
    await log.append([{ key: encoder.encode(`k${i % 3}`), value: encoder.encode(`value-${i}`), headers: [], timestampMs: clock.nowMs() }]);
  }
  return log;
}

async function waitUntil(condition: () => boolean, what: string, advance: () => void): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    advance();
    await Bun.sleep(5);
  }
}

describe("the log cleaner", () => {
  test("cleans only compacted topics, the dirtiest first, and reports each pass", async () => {
    const temp = makeTempDir();
    cleanups.unshift(temp.remove);
    const clock = new ManualClock();
    const compacted = await filledLog(temp.dir, "compact-a-0", clock, 40);
    const deleted = await filledLog(temp.dir, "plain-0", clock, 40);
    const passes: string[] = [];
    const cleaner = new LogCleaner({
      partitions: () => [
        { topic: "compact-a", partition: 0, log: compacted },
        { topic: "plain", partition: 0, log: deleted },
        { topic: "gone", partition: 0, log: deleted },
      ],
      configs,
      clock,
      logger: silentLogger,
      ioBytesPerSecond: Number.POSITIVE_INFINITY,
      onPass: (topic, partition, outcome) => passes.push(`${topic}-${partition}:${outcome.segmentsCleaned > 0}`),
    });
    expect(cleaner.statuses().map((s) => [s.topic, s.dirtyRatio])).toEqual([["compact-a", 1]]);
    const sizeBefore = deleted.sizeBytes;

    const outcome = await cleaner.runOnce();
    expect(outcome?.topic).toBe("compact-a");
    expect(outcome!.bytesRemoved).toBeGreaterThan(0);
    expect(passes).toEqual(["compact-a-0:true"]);
    expect(deleted.sizeBytes).toBe(sizeBefore);
    const [status] = cleaner.statuses();
    expect(status!.dirtyRatio).toBe(0);
    expect(status!.runs).toBe(1);
    // Nothing dirty enough left: no pass.
    expect(await cleaner.runOnce()).toBeUndefined();
  });

  test("runs in the background on the injected clock and stops", async () => {
    const temp = makeTempDir();
    cleanups.unshift(temp.remove);
    const clock = new ManualClock();
    const log = await filledLog(temp.dir, "compact-b-0", clock, 40);
    let passes = 0;
    const cleaner = new LogCleaner({
      partitions: () => [{ topic: "compact-b", partition: 0, log }],
      configs,
      clock,
      logger: silentLogger,
      ioBytesPerSecond: 1_000_000,
      onPass: () => passes++,
    });
    cleaner.start();
    await waitUntil(() => passes === 1, "a background pass", () => clock.advance(100));
    await cleaner.stop();
  });
});

describe("the cleaner's I/O throttle", () => {
  test("holds a spend until the clock has passed the time its bytes take at the rate", async () => {
    const clock = new ManualClock();
    const throttle = new IoThrottle(clock, 1000);
    let done = false;
    const spent = throttle.spend(2000).then(() => {
      done = true;
    });
    clock.advance(1999);
    await Bun.sleep(1);
    expect(done).toBe(false);
    clock.advance(1);
    await spent;
    expect(done).toBe(true);
  });
});

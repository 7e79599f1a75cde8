import { afterEach, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { encodeRecordBatch } from "../protocol/record-batch.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { Broker } from "./broker.ts";

/** What a topic's settings do to its partitions, on one in-process broker with a hand-driven clock. */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const utf8 = (text: string) => new TextEncoder().encode(text);

async function open(overrides: Parameters<typeof testBrokerConfig>[1] = {}): Promise<{ broker: Broker; dir: string; clock: ManualClock }> {
  const { dir, remove } = makeTempDir("gafka-topic-config-");
  cleanups.push(remove);
  const clock = new ManualClock();
  const broker = await Broker.open(testBrokerConfig(dir, { clock, ...overrides }));
  cleanups.push(() => broker.close());
  return { broker, dir, clock };
}

function segmentCount(dir: string, topic: string): number {
  return nodeFs.readdirSync(path.join(dir, `${topic}-0`)).filter((name) => name.endsWith(".log")).length;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GafkaError ? error.code : `not a GafkaError: ${String(error)}`;
  }
  return "resolved";
}

const record = (bytes: number) => ({ key: null, value: new Uint8Array(bytes), headers: [] });

test("segment.ms rolls a quiet partition by the periodic check, on the broker's clock; a topic without records does not roll", async () => {
  const { broker, dir, clock } = await open();
  await broker.createTopic("quiet", 1, undefined, { "segment.ms": "60000" });
  await broker.createTopic("empty", 1, undefined, { "segment.ms": "60000" });
  await broker.createTopic("default", 1);
  await broker.produce("quiet", [record(10)]);
  await broker.produce("default", [record(10)]);
  clock.advance(59_000);
  expect(segmentCount(dir, "quiet")).toBe(1);
  clock.advance(limits.segmentAgeCheckIntervalMs * 2);
  expect(segmentCount(dir, "quiet")).toBe(2);
  expect(segmentCount(dir, "empty")).toBe(1);
  expect(segmentCount(dir, "default")).toBe(1); // 7 days by default
  // The new active segment is empty: it does not roll again until it holds a record that old.
  clock.advance(120_000);
  expect(segmentCount(dir, "quiet")).toBe(2);
  await broker.produce("quiet", [record(10)]);
  expect((await broker.fetch({ topic: "quiet", partition: 0, offset: 0, maxRecords: 10, waitMs: 0 })).records).toHaveLength(2);
});

test("segment.ms is checked on append too, and changing it takes effect at once", async () => {
  const { broker, dir, clock } = await open();
  await broker.createTopic("t", 1);
  await broker.produce("t", [record(10)]);
  clock.advance(30_000 - limits.segmentAgeCheckIntervalMs / 2); // the periodic check runs, nothing is that old yet
  await broker.alterTopicConfig("t", { "segment.ms": "10000" }, []);
  await broker.produce("t", [record(10)]); // the active segment's first record is 30 s old: this append starts a new one
  expect(segmentCount(dir, "t")).toBe(2);
  await broker.alterTopicConfig("t", {}, ["segment.ms"]);
  clock.advance(60_000);
  await broker.produce("t", [record(10)]);
  expect(segmentCount(dir, "t")).toBe(2);
});

test("segment.bytes per topic: a topic rolls sooner than the broker's default, and an alter changes the next roll", async () => {
  const { broker, dir } = await open({ segmentBytesMax: 1024 * 1024 });
  await broker.createTopic("small", 1, undefined, { "segment.bytes": String(limits.segmentBytesMin) });
  await broker.createTopic("large", 1);
  for (let i = 0; i < 20; i++) {
    await broker.produce("small", [record(200)]);
    await broker.produce("large", [record(200)]);
  }
  expect(segmentCount(dir, "small")).toBeGreaterThanOrEqual(4);
  expect(segmentCount(dir, "large")).toBe(1);
  await broker.alterTopicConfig("large", { "segment.bytes": String(limits.segmentBytesMin) }, []);
  await broker.produce("large", [record(200)]);
  expect(segmentCount(dir, "large")).toBe(2);
});

test("max.message.bytes per topic: refuses a record the broker's default takes and takes one it refuses, by JSON and by record batch", async () => {
  const { broker } = await open({ messageBytesMax: 2000 });
  await broker.createTopic("strict", 1, undefined, { "max.message.bytes": "100" });
  await broker.createTopic("roomy", 1, undefined, { "max.message.bytes": "5000" });
  await broker.createTopic("plain", 1);
  expect(await codeOf(broker.produce("strict", [record(500)]))).toBe("message_too_large");
  expect(await codeOf(broker.produce("plain", [record(500)]))).toBe("resolved");
  expect(await codeOf(broker.produce("roomy", [record(3000)]))).toBe("resolved");
  expect(await codeOf(broker.produce("plain", [record(3000)]))).toBe("message_too_large");
  const batch = (bytes: number) => encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: new Uint8Array(bytes), headers: [], timestampMs: 1 }] });
  expect(await codeOf(broker.produceBatches("strict", 0, batch(500)))).toBe("message_too_large");
  expect(await codeOf(broker.produceBatches("roomy", 0, batch(3000)))).toBe("resolved");
  expect(await codeOf(broker.produceBatches("plain", 0, batch(3000)))).toBe("message_too_large");
  // Back to the default: the broker's 2000 bytes again.
  await broker.alterTopicConfig("roomy", {}, ["max.message.bytes"]);
  expect(await codeOf(broker.produce("roomy", [record(3000)]))).toBe("message_too_large");
  expect(await codeOf(broker.produce("roomy", [{ key: utf8("k"), value: new Uint8Array(1500), headers: [] }]))).toBe("resolved");
});

test("configOf resolves overrides over the broker's defaults; invalid changes are invalid_request and change nothing", async () => {
  const { broker } = await open({ topicDefaults: { retentionMs: 3_600_000 } });
  await broker.createTopic("t", 1, undefined, { "cleanup.policy": "compact" });
  expect(broker.configOf("t")).toMatchObject({ retentionMs: 3_600_000, cleanupPolicy: { compact: true, delete: false }, maxMessageBytes: 1024 * 1024 });
  expect(await codeOf(broker.alterTopicConfig("t", { "retention.ms": "soon" }, []))).toBe("invalid_request");
  expect(await codeOf(broker.alterTopicConfig("t", { "no.such.setting": "1" } as Record<string, string>, []))).toBe("invalid_request");
  expect(await codeOf(broker.alterTopicConfig("t", { "retention.ms": "1" }, ["retention.ms"]))).toBe("invalid_request");
  expect(await codeOf(broker.alterTopicConfig("t", {}, ["no.such.setting"]))).toBe("invalid_request");
  expect(await codeOf(broker.createTopic("u", 1, undefined, { "segment.bytes": "10" }))).toBe("invalid_request");
  expect(broker.listTopics().map((topic) => topic.name)).toEqual(["t"]);
  expect(broker.describeTopic("t").configs.filter((entry) => entry.source === "topic")).toEqual([{ name: "cleanup.policy", value: "compact", source: "topic" }]);
  expect(() => broker.configOf("missing")).toThrow(/missing/);
});

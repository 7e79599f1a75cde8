import { describe, expect, test } from "bun:test";
import { GafkaError } from "../core/errors.ts";
import { alterTopicConfigs, checkTopicConfigs, describeTopicConfig, KAFKA_TOPIC_DEFAULTS, resolveTopicConfig, type TopicConfig } from "./topic-config.ts";

const DEFAULTS: TopicConfig = { ...KAFKA_TOPIC_DEFAULTS, segmentBytes: 128 * 1024 * 1024, maxMessageBytes: 1024 * 1024, minInsyncReplicas: 1 };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaError);
    return (error as GafkaError).message;
  }
  throw new Error("not refused");
}

describe("topic configuration", () => {
  test("Kafka's names take strings or numbers, written back as Kafka writes them", () => {
    expect(checkTopicConfigs({ "retention.ms": 3600000, "retention.bytes": "-1", "cleanup.policy": "delete, compact", "segment.bytes": "1048576" })).toEqual({
      "retention.ms": "3600000",
      "retention.bytes": "-1",
      "cleanup.policy": "compact,delete",
      "segment.bytes": "1048576",
    });
    expect(checkTopicConfigs(undefined)).toEqual({});
  });

  test("an unknown name, a bad value or a value out of range is a 400 naming the setting", () => {
    expect(refusal(() => checkTopicConfigs({ "retention.hours": 1 }))).toContain("unknown topic configuration 'retention.hours'");
    expect(refusal(() => checkTopicConfigs({ "retention.ms": -2 }))).toContain("retention.ms must be an integer from 0");
    expect(refusal(() => checkTopicConfigs({ "segment.bytes": 10 }))).toContain("segment.bytes");
    expect(refusal(() => checkTopicConfigs({ "segment.ms": -1 }))).toContain("segment.ms");
    expect(refusal(() => checkTopicConfigs({ "min.insync.replicas": 0 }))).toContain("min.insync.replicas");
    expect(refusal(() => checkTopicConfigs({ "retention.ms": "1e3" }))).toContain("retention.ms");
    expect(refusal(() => checkTopicConfigs({ "retention.ms": 2 ** 60 }))).toContain("retention.ms");
    expect(refusal(() => checkTopicConfigs({ "cleanup.policy": "forever" }))).toContain("cleanup.policy");
    expect(refusal(() => checkTopicConfigs(["retention.ms"]))).toContain("must be an object");
    expect(refusal(() => checkTopicConfigs(JSON.parse('{"__proto__": 1}')))).toContain("unknown topic configuration '__proto__'");
  });

  test("resolved over the broker's defaults; describe says where each value comes from", () => {
    const overrides = checkTopicConfigs({ "retention.bytes": 500_000_000, "cleanup.policy": "compact" });
    const config = resolveTopicConfig(overrides, DEFAULTS);
    expect(config).toMatchObject({ retentionBytes: 500_000_000, retentionMs: 604_800_000, cleanupPolicy: { delete: false, compact: true }, segmentBytes: 128 * 1024 * 1024 });
    const described = describeTopicConfig(overrides, DEFAULTS);
    expect(described.find((entry) => entry.name === "retention.bytes")).toEqual({ name: "retention.bytes", value: "500000000", source: "topic" });
    expect(described.find((entry) => entry.name === "retention.ms")).toEqual({ name: "retention.ms", value: "604800000", source: "default" });
    expect(described.find((entry) => entry.name === "cleanup.policy")).toEqual({ name: "cleanup.policy", value: "compact", source: "topic" });
    expect(described).toHaveLength(9);
  });

  test("alter sets and deletes, refusing a name set and deleted at once", () => {
    const current = checkTopicConfigs({ "retention.ms": 1000, "segment.ms": 60000 });
    expect(alterTopicConfigs(current, checkTopicConfigs({ "retention.bytes": 10 }), ["segment.ms"])).toEqual({ "retention.ms": "1000", "retention.bytes": "10" });
    expect(refusal(() => alterTopicConfigs(current, checkTopicConfigs({ "retention.ms": 5 }), ["retention.ms"]))).toContain("both set and deleted");
    expect(refusal(() => alterTopicConfigs(current, {}, ["nope"]))).toContain("unknown topic configuration");
  });
});

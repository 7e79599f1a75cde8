import { invalidRequest } from "../core/errors.ts";
import { limits } from "../core/limits.ts";

/**
 * A topic's configuration, with Kafka's names, meanings and defaults
 * (kafka-configs --entity-type topics). A topic stores only what was set on
 * it (its overrides, as Kafka's strings, in topics.json and on the
 * replication stream); everything else comes from the broker's defaults,
 * which its flags set. resolveTopicConfig() turns the two into numbers.
 */
export const TOPIC_CONFIG_NAMES = [
  "cleanup.policy",
  "delete.retention.ms",
  "max.message.bytes",
  "min.compaction.lag.ms",
  "min.insync.replicas",
  "retention.bytes",
  "retention.ms",
  "segment.bytes",
  "segment.ms",
] as const;

export type TopicConfigName = (typeof TOPIC_CONFIG_NAMES)[number];

/** What was set on a topic: Kafka's names to Kafka's string values, checked by checkTopicConfigs. */
export type TopicConfigOverrides = Readonly<Partial<Record<TopicConfigName, string>>>;

/** A topic's whole configuration in force, resolved. */
export interface TopicConfig {
  /** `retention.ms`: a sealed segment whose newest record is older goes; -1: kept for ever. */
  readonly retentionMs: number;
  /** `retention.bytes`: the oldest sealed segments go while a partition holds more; -1: no limit. */
  readonly retentionBytes: number;
  /** `segment.bytes`: the active segment rolls past this size. */
  readonly segmentBytes: number;
  /** `segment.ms`: the active segment rolls once its first record is this old, so retention can reach it. */
  readonly segmentMs: number;
  /** `cleanup.policy`: `delete`, `compact`, or both. */
  readonly cleanupPolicy: { readonly delete: boolean; readonly compact: boolean };
  /** `delete.retention.ms`: how long the cleaner keeps a tombstone (a record with a null value) once it has compacted its key. */
  readonly deleteRetentionMs: number;
  /** `min.compaction.lag.ms`: a record stays uncompacted at least this long. */
  readonly minCompactionLagMs: number;
  /** `max.message.bytes`: the largest record (key, value and headers) a produce may carry. */
  readonly maxMessageBytes: number;
  /** `min.insync.replicas`: replicas (the leader included) an acks=all write needs. */
  readonly minInsyncReplicas: number;
}

/** Kafka's defaults for what gafka does not take from another flag (`segment.bytes`, `max.message.bytes` and `min.insync.replicas` come from the broker's own). */
export const KAFKA_TOPIC_DEFAULTS = {
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  segmentMs: 7 * 24 * 3600 * 1000,
  cleanupPolicy: { delete: true, compact: false },
  deleteRetentionMs: 24 * 3600 * 1000,
  minCompactionLagMs: 0,
} as const;

/** The largest value a `.ms` or `.bytes` setting may take: beyond it a number stops being exact (and Kafka's are longs). */
const INTEGER_MAX = Number.MAX_SAFE_INTEGER;

interface Rule {
  /** The smallest value allowed; -1 allowed too when `unlimited`. */
  readonly min: number;
  readonly max: number;
  /** -1 means "no limit" (retention). */
  readonly unlimited?: boolean;
  readonly what: string;
}

const RULES: Record<Exclude<TopicConfigName, "cleanup.policy">, Rule> = {
  "delete.retention.ms": { min: 0, max: INTEGER_MAX, what: "milliseconds" },
  "max.message.bytes": { min: 0, max: limits.requestBytesMax, what: "bytes" },
  "min.compaction.lag.ms": { min: 0, max: INTEGER_MAX, what: "milliseconds" },
  "min.insync.replicas": { min: 1, max: limits.followersMax + 1, what: "replicas" },
  "retention.bytes": { min: 0, max: INTEGER_MAX, unlimited: true, what: "bytes" },
  "retention.ms": { min: 0, max: INTEGER_MAX, unlimited: true, what: "milliseconds" },
  "segment.bytes": { min: limits.segmentBytesMin, max: limits.frameBytesMax, what: "bytes" },
  "segment.ms": { min: 1, max: INTEGER_MAX, what: "milliseconds" },
};

const CLEANUP_POLICIES = new Set(["delete", "compact", "compact,delete", "delete,compact"]);

function isTopicConfigName(name: string): name is TopicConfigName {
  return (TOPIC_CONFIG_NAMES as readonly string[]).includes(name);
}

/**
 * One setting's value checked and written as Kafka writes it (an integer as
 * its decimal digits, a policy as `compact,delete`); throws invalid_request
 * (400) naming the setting and what it takes.
 */
export function checkTopicConfigValue(name: string, value: unknown, field = "configs"): string {
  if (!isTopicConfigName(name)) {
    throw invalidRequest(`unknown topic configuration '${name.slice(0, 64)}'; known: ${TOPIC_CONFIG_NAMES.join(", ")}`, { field });
  }
  if (name === "cleanup.policy") {
    const policy = typeof value === "string" ? value.replaceAll(" ", "") : undefined;
    if (policy === undefined || !CLEANUP_POLICIES.has(policy)) {
      throw invalidRequest(`cleanup.policy must be delete, compact or compact,delete`, { field });
    }
    return policy === "delete,compact" ? "compact,delete" : policy;
  }
  const rule = RULES[name];
  const number = typeof value === "number" ? value : typeof value === "string" && /^-?[0-9]+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  const allowed = Number.isSafeInteger(number) && ((number >= rule.min && number <= rule.max) || (rule.unlimited === true && number === -1));
  if (!allowed) {
    const range = `an integer from ${rule.min} to ${rule.max}${rule.unlimited ? ", or -1 for no limit" : ""}`;
    throw invalidRequest(`${name} must be ${range} (${rule.what})`, { field });
  }
  return String(number);
}

/**
 * A request's `configs` object (Kafka's names to strings or numbers), each
 * checked; throws invalid_request (400) on anything else.
 */
export function checkTopicConfigs(input: unknown, field = "configs"): TopicConfigOverrides {
  if (input === undefined || input === null) return {};
  if (typeof input !== "object" || Array.isArray(input)) throw invalidRequest(`field '${field}' must be an object of topic configurations`, { field });
  const checked: Partial<Record<TopicConfigName, string>> = {};
  for (const [name, value] of Object.entries(input)) checked[name as TopicConfigName] = checkTopicConfigValue(name, value, field);
  return checked;
}

/** The overrides after setting `set` and removing `remove` (Kafka's incremental alter): what a topic holds next. */
export function alterTopicConfigs(current: TopicConfigOverrides, set: TopicConfigOverrides, remove: readonly string[]): TopicConfigOverrides {
  const next: Partial<Record<TopicConfigName, string>> = { ...current, ...set };
  for (const name of remove) {
    if (!isTopicConfigName(name)) throw invalidRequest(`unknown topic configuration '${name.slice(0, 64)}'; known: ${TOPIC_CONFIG_NAMES.join(", ")}`, { field: "delete" });
    if (name in set) throw invalidRequest(`${name} is both set and deleted`, { field: "delete" });
    delete next[name];
  }
  return next;
}

function parsePolicy(value: string): TopicConfig["cleanupPolicy"] {
  return { delete: value.includes("delete"), compact: value.includes("compact") };
}

function formatPolicy(policy: TopicConfig["cleanupPolicy"]): string {
  return policy.compact && policy.delete ? "compact,delete" : policy.compact ? "compact" : "delete";
}

/** A topic's configuration in force: its overrides over the broker's defaults. */
export function resolveTopicConfig(overrides: TopicConfigOverrides, defaults: TopicConfig): TopicConfig {
  const integer = (name: TopicConfigName, fallback: number): number => (overrides[name] === undefined ? fallback : Number(overrides[name]));
  return {
    retentionMs: integer("retention.ms", defaults.retentionMs),
    retentionBytes: integer("retention.bytes", defaults.retentionBytes),
    segmentBytes: integer("segment.bytes", defaults.segmentBytes),
    segmentMs: integer("segment.ms", defaults.segmentMs),
    cleanupPolicy: overrides["cleanup.policy"] === undefined ? defaults.cleanupPolicy : parsePolicy(overrides["cleanup.policy"]),
    deleteRetentionMs: integer("delete.retention.ms", defaults.deleteRetentionMs),
    minCompactionLagMs: integer("min.compaction.lag.ms", defaults.minCompactionLagMs),
    maxMessageBytes: integer("max.message.bytes", defaults.maxMessageBytes),
    minInsyncReplicas: integer("min.insync.replicas", defaults.minInsyncReplicas),
  };
}

/** Every setting of a topic with its value in force and where it comes from, as `describe-topic` shows it (Kafka's DescribeConfigs). */
export function describeTopicConfig(overrides: TopicConfigOverrides, defaults: TopicConfig): { name: TopicConfigName; value: string; source: "topic" | "default" }[] {
  const resolved = resolveTopicConfig(overrides, defaults);
  const values: Record<TopicConfigName, string> = {
    "cleanup.policy": formatPolicy(resolved.cleanupPolicy),
    "delete.retention.ms": String(resolved.deleteRetentionMs),
    "max.message.bytes": String(resolved.maxMessageBytes),
    "min.compaction.lag.ms": String(resolved.minCompactionLagMs),
    "min.insync.replicas": String(resolved.minInsyncReplicas),
    "retention.bytes": String(resolved.retentionBytes),
    "retention.ms": String(resolved.retentionMs),
    "segment.bytes": String(resolved.segmentBytes),
    "segment.ms": String(resolved.segmentMs),
  };
  return TOPIC_CONFIG_NAMES.map((name) => ({ name, value: values[name], source: overrides[name] === undefined ? "default" : "topic" }));
}

/** Where the domain finds a topic's configuration in force (the Broker implements it): retention and the cleaner ask it. */
export interface TopicConfigSource {
  /** The topic's configuration now; throws topic_not_found for an unknown topic. */
  configOf(topic: string): TopicConfig;
}

/**
 * A topic as the broker holds it in memory: its metadata, one slot per
 * partition, and what its descriptions (describe-topic, health) are made of.
 */

import type { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { PartitionLogApi, PartitionStatus } from "../storage/log-types.ts";
import { RoundRobin } from "../protocol/partitioner.ts";
import { describeTopicConfig, type TopicConfig } from "./topic-config.ts";
import type { TopicMetadata } from "./topic-registry.ts";

export interface PartitionDescription {
  partition: number;
  /** Null while the partition is refused as corrupt. */
  earliestOffset: number | null;
  /** The high watermark; null while the partition is refused as corrupt. */
  nextOffset: number | null;
  sizeBytes: number | null;
  status: PartitionStatus;
  /** Why the partition is offline or corrupt. */
  error?: string;
}

export interface TopicDescription {
  name: string;
  createdAtMs: number;
  partitions: PartitionDescription[];
  /** Every setting, its value in force and whether the topic sets it (describeTopicConfig). */
  configs: TopicConfigEntry[];
}

export interface TopicConfigEntry {
  name: string;
  value: string;
  source: "topic" | "default";
}

export interface TopicSummary {
  name: string;
  partitionCount: number;
}

export interface UnhealthyPartition {
  topic: string;
  partition: number;
  status: PartitionStatus;
  error: string;
}

/**
 * One partition the broker owns: its log, or — when recovery refused the log
 * as corrupt at open — the error it answers with instead (503 log_corrupt),
 * so that the topic's other partitions keep serving.
 */
export interface PartitionSlot {
  readonly index: number;
  readonly log: PartitionLogApi | undefined;
  readonly refusal: GafkaError | undefined;
}

export class TopicState {
  readonly roundRobin = new RoundRobin();
  /** Aborted when the topic is deleted or the broker closes: wakes its long polls. */
  readonly closing = new AbortController();

  constructor(
    /** Replaced (with `config`) by reconfigure() when the topic's overrides change. */
    public metadata: TopicMetadata,
    readonly partitions: PartitionSlot[],
    /** The configuration in force: metadata.configs over the broker's defaults, resolved once per change, not per produce. */
    public config: TopicConfig,
  ) {
    this.applyToLogs();
  }

  /** Takes the topic's new overrides: the logs roll by the new segment.bytes and segment.ms, and check retention.bytes, from their next append. */
  reconfigure(metadata: TopicMetadata, config: TopicConfig): void {
    this.metadata = metadata;
    this.config = config;
    this.applyToLogs();
  }

  private applyToLogs(): void {
    const { segmentBytes, segmentMs, retentionBytes, cleanupPolicy } = this.config;
    for (const slot of this.partitions) {
      slot.log?.rollPolicy.setLimits({ segmentBytesMax: segmentBytes, segmentMs });
      slot.log?.retentionCheck.arm(cleanupPolicy.delete ? retentionBytes : -1);
    }
  }
}

export function describeTopicState(topic: TopicState, defaults: TopicConfig): TopicDescription {
  return {
    name: topic.metadata.name,
    createdAtMs: topic.metadata.createdAtMs,
    partitions: topic.partitions.map(describePartition),
    configs: describeTopicConfig(topic.metadata.configs, defaults),
  };
}

export function describePartition(slot: PartitionSlot): PartitionDescription {
  const log = slot.log;
  if (log === undefined) {
    return {
      partition: slot.index,
      earliestOffset: null,
      nextOffset: null,
      sizeBytes: null,
      status: "corrupt",
      error: slot.refusal?.message,
    };
  }
  const description: PartitionDescription = {
    partition: slot.index,
    earliestOffset: log.earliestOffset,
    nextOffset: log.highWatermark,
    sizeBytes: log.sizeBytes,
    status: log.status,
  };
  if (log.status !== "online") description.error = log.statusMessage ?? log.status;
  return description;
}

export async function closePartitions(slots: PartitionSlot[], logger: Logger): Promise<void> {
  const outcomes = await Promise.allSettled(slots.map((slot) => slot.log?.close()));
  const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  for (const failure of failures) logger.error("closing a partition log failed", failure.reason);
  if (failures.length > 0) throw failures[0]!.reason;
}

import type { Clock, Timer } from "../core/clock.ts";
import { isGafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { PartitionEntry } from "./broker.ts";
import type { TopicConfigSource } from "./topic-config.ts";

/** What delete retention removed from one partition since the broker started. */
export interface RetentionDeleted {
  topic: string;
  partition: number;
  segments: number;
  bytes: number;
}

export interface RetentionTaskOptions {
  /** The broker's partitions, and its leadership check (throws when this broker is not the leader). */
  broker: { partitionEntries(): PartitionEntry[]; admitLeadership(): void };
  /** Each topic's retention.ms, retention.bytes and cleanup.policy. */
  topicConfigs: TopicConfigSource;
  clock: Clock;
  logger: Logger;
  /** How often a pass runs (`--retention-check-interval`). */
  intervalMs: number;
}

/**
 * Delete retention (Kafka's log retention thread): every interval, on the
 * injected clock, each partition of a topic whose cleanup.policy includes
 * `delete` loses its oldest sealed segments past retention.ms or
 * retention.bytes (PartitionLogApi.applyRetention; each deletion is logged
 * by the log). Only a leader (or a broker alone) applies retention: a
 * follower moves its log start as its leader's moves, so both delete the
 * same segments. Partitions not online are skipped until the next pass.
 */
export class RetentionTask {
  private timer: Timer | undefined;
  private soon: Timer | undefined;
  private readonly totals = new Map<string, RetentionDeleted>();

  constructor(private readonly options: RetentionTaskOptions) {}

  start(): void {
    this.timer ??= this.options.clock.setInterval(() => this.runOnce(), this.options.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.soon?.cancel();
    this.soon = undefined;
  }

  /**
   * A pass as soon as the current work is done (once, however many segments
   * rolled meanwhile): called when a segment rolls, so a partition written
   * fast never holds more than retention.bytes plus its active segment for
   * longer than a roll takes, whatever --retention-check-interval says.
   */
  runSoon(): void {
    if (this.timer === undefined) return; // stopped, or not started
    this.soon ??= this.options.clock.setTimeout(() => {
      this.soon = undefined;
      this.runOnce();
    }, 0);
  }

  /** One pass over every partition; returns the segments it deleted. */
  runOnce(): number {
    const { broker, topicConfigs, clock, logger } = this.options;
    try {
      broker.admitLeadership();
    } catch {
      return 0; // a follower: its leader's log start decides
    }
    let deletedSegments = 0;
    for (const entry of broker.partitionEntries()) {
      const log = entry.log;
      if (log === undefined || log.status !== "online") continue;
      try {
        const config = topicConfigs.configOf(entry.topic);
        log.retentionCheck.arm(config.cleanupPolicy.delete ? config.retentionBytes : -1); // the next append past it asks again
        if (!config.cleanupPolicy.delete) continue;
        const deleted = log.applyRetention({ retentionMs: config.retentionMs, retentionBytes: config.retentionBytes }, clock.nowMs());
        if (deleted === undefined || deleted.baseOffsets.length === 0) continue;
        deletedSegments += deleted.baseOffsets.length;
        const key = `${entry.topic}-${entry.partition}`;
        const total = this.totals.get(key) ?? { topic: entry.topic, partition: entry.partition, segments: 0, bytes: 0 };
        total.segments += deleted.baseOffsets.length;
        total.bytes += deleted.bytes;
        this.totals.set(key, total);
      } catch (error) {
        // A topic deleted meanwhile, a partition gone offline: the next pass tries again.
        if (isGafkaError(error) && error.code === "topic_not_found") continue;
        logger.warn(`retention of ${entry.topic}-${entry.partition}: ${error instanceof Error ? error.message : error}`);
      }
    }
    return deletedSegments;
  }

  /** Segments and bytes deleted per partition since start, for metrics (read at scrape time). */
  deletedTotals(): RetentionDeleted[] {
    return [...this.totals.values()];
  }
}

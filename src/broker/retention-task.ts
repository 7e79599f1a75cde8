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
  private readonly totals = new Map<string, RetentionDeleted>();

  constructor(private readonly options: RetentionTaskOptions) {}

  start(): void {
    this.timer ??= this.options.clock.setInterval(() => this.runOnce(), this.options.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** One pass over every partition; returns the segments it deleted. */
  runOnce(): number {
    if (!this.leads()) return 0; // a follower: its leader's log start decides
    let deletedSegments = 0;
    for (const entry of this.options.broker.partitionEntries()) deletedSegments += this.applyTo(entry);
    return deletedSegments;
  }

  /**
   * One partition now, synchronously: called when it rolls a segment or
   * grows past its retention.bytes plus its oldest segment (its
   * RetentionCheck), from within the append, so the deletion lands before
   * that turn's frames reach the file and the partition never holds more
   * than retention.bytes plus one segment. Once per deleted segment, like
   * the fdatasync a roll does.
   */
  applyNow(topic: string, partition: number): number {
    if (this.timer === undefined || !this.leads()) return 0; // stopped, or a follower
    const entry = this.options.broker.partitionEntries().find((candidate) => candidate.topic === topic && candidate.partition === partition);
    return entry === undefined ? 0 : this.applyTo(entry);
  }

  private leads(): boolean {
    try {
      this.options.broker.admitLeadership();
      return true;
    } catch {
      return false;
    }
  }

  /** One partition's retention (re-arming its check); the segments it deleted. */
  private applyTo(entry: PartitionEntry): number {
    const { topicConfigs, clock, logger } = this.options;
    const log = entry.log;
    if (log === undefined || log.status !== "online") return 0;
    try {
      const config = topicConfigs.configOf(entry.topic);
      log.retentionCheck.arm(config.cleanupPolicy.delete ? config.retentionBytes : -1); // the next append past it asks again
      if (!config.cleanupPolicy.delete) return 0;
      const deleted = log.applyRetention({ retentionMs: config.retentionMs, retentionBytes: config.retentionBytes }, clock.nowMs());
      if (deleted === undefined || deleted.baseOffsets.length === 0) return 0;
      const key = `${entry.topic}-${entry.partition}`;
      const total = this.totals.get(key) ?? { topic: entry.topic, partition: entry.partition, segments: 0, bytes: 0 };
      total.segments += deleted.baseOffsets.length;
      total.bytes += deleted.bytes;
      this.totals.set(key, total);
      return deleted.baseOffsets.length;
    } catch (error) {
      // A topic deleted meanwhile, a partition gone offline: the next pass tries again.
      if (isGafkaError(error) && error.code === "topic_not_found") return 0;
      logger.warn(`retention of ${entry.topic}-${entry.partition}: ${error instanceof Error ? error.message : error}`);
      return 0;
    }
  }

  /** Segments and bytes deleted per partition since start, for metrics (read at scrape time). */
  deletedTotals(): RetentionDeleted[] {
    return [...this.totals.values()];
  }
}

import type { Clock, Timer } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import { type CleanerPass, cleanEndOffsetOf, readCleanerPasses } from "../storage/cleaner-checkpoint.ts";
import type { CompactionTarget } from "../storage/compaction-target.ts";
import { type CompactionOutcome, compactPartition } from "../storage/log-compactor.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { IoThrottle } from "./io-throttle.ts";
import { nextReplayedPass, ReplicatedPassQueue } from "./replicated-passes.ts";
import type { TopicConfigSource } from "./topic-config.ts";

/** A partition as the cleaner sees it: Broker.partitionEntries()'s entries fit. */
export interface CleanablePartition {
  topic: string;
  partition: number;
  log: PartitionLogApi | undefined;
}

export interface LogCleanerOptions {
  partitions(): readonly CleanablePartition[];
  configs: TopicConfigSource;
  clock: Clock;
  logger: Logger;
  /** `--cleaner-io-mb-per-s` in bytes: reads and writes together; Infinity for no limit. */
  ioBytesPerSecond: number;
  /** How often to look for work when there was none; limits.cleanerBackoffMs when absent. */
  backoffMs?: number;
  /** Called after every pass that completed: metrics. Must not throw. */
  onPass?: (topic: string, partition: number, outcome: CompactionOutcome) => void;
  /**
   * Whether this broker decides its passes (a leader, or alone); false on a
   * follower, which repeats its leader's (receivePasses). Always when absent.
   */
  choosesPasses?: () => boolean;
  /** A pass this broker decided is durably swapped in and recorded: `passes` is the checkpoint it wrote (replicated to followers). Must not throw. */
  onPassRecorded?: (topic: string, partition: number, passes: CleanerPass[]) => void;
}

/** One compacted partition's state, for metrics. */
export interface PartitionCleaningStatus {
  topic: string;
  partition: number;
  /** Sealed bytes not yet through a pass, over all sealed bytes (0 when none). */
  dirtyRatio: number;
  /** How long its oldest dirty bytes have waited for a pass, ms (0 when none do). */
  lagMs: number;
  /** Passes completed and bytes they removed, since the broker started. */
  runs: number;
  bytesCleaned: number;
  /** A pass made no progress here: not chosen again before this (monotonic ms). */
  idleUntilMs: number;
}

/** What runOnce did: a pass's outcome, where, and whether it moved anything on. */
export type CleanerRun = CompactionOutcome & { topic: string; partition: number; progressed: boolean };

interface Tracked {
  target: CompactionTarget;
  cleanEndOffset: number;
  dirtySinceMs: number | undefined;
  idleUntilMs: number;
  runs: number;
  bytesCleaned: number;
}

/**
 * The log cleaner (Kafka's LogCleaner, one thread): in the background, one
 * partition at a time, it compacts the partitions of topics whose
 * cleanup.policy includes `compact` (src/storage/log-compactor.ts), taking
 * the one with the highest dirty ratio first and none below
 * limits.cleanerDirtyRatioMin. Its reads and writes are throttled to
 * `ioBytesPerSecond`, so appends keep the disk. Time comes from the
 * injected clock: a test drives it with a ManualClock, or calls runOnce().
 *
 * Replicas stay byte-identical: only a broker that chooses its passes (the
 * leader) decides one, and tells its followers (onPassRecorded); a
 * follower's cleaner decides none, it repeats each of its leader's passes
 * (receivePasses, src/broker/replicated-passes.ts) on the same sealed
 * segments, through the same swap and checkpoint, once it holds the log
 * durably up to the pass's clean end. A promoted follower starts choosing.
 */
export class LogCleaner {
  private readonly tracked = new Map<PartitionLogApi, Tracked>();
  private readonly throttle: IoThrottle;
  private readonly replicated = new ReplicatedPassQueue();
  private timer: Timer | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private busy = false;

  constructor(private readonly options: LogCleanerOptions) {
    this.throttle = new IoThrottle(options.clock, options.ioBytesPerSecond);
  }

  start(): void {
    this.schedule(0);
  }

  /** No pass starts after this; resolves once the running one (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running?.catch(() => {});
  }

  /** Cleans the dirtiest compacted partition, if any is dirty enough; what it did, or undefined when there was nothing to do. */
  async runOnce(): Promise<CleanerRun | undefined> {
    if (this.options.choosesPasses?.() === false) return this.repeatOne();
    // Leading now (promoted): passes a former leader sent are its own to decide.
    this.replicated.clear();
    const nowMs = this.options.clock.monotonicMs();
    const candidates = this.statuses().filter((status) => status.dirtyRatio >= limits.cleanerDirtyRatioMin && !(status.idleUntilMs > nowMs));
    candidates.sort((a, b) => b.dirtyRatio - a.dirtyRatio);
    const chosen = candidates[0];
    if (chosen === undefined) return undefined;
    const entry = this.options.partitions().find((p) => p.topic === chosen.topic && p.partition === chosen.partition);
    const config = this.configOf(chosen.topic);
    if (entry?.log === undefined || config === undefined) return undefined;
    const tracked = this.track(entry.log);
    const policy = { nowMs: this.options.clock.nowMs(), deleteRetentionMs: config.deleteRetentionMs, minCompactionLagMs: config.minCompactionLagMs };
    const outcome = await compactPartition(tracked.target, policy, this.throttle.spend);
    if (!outcome.abandoned && outcome.cleanEndOffset > tracked.cleanEndOffset) {
      tracked.cleanEndOffset = outcome.cleanEndOffset;
      tracked.runs++;
      tracked.bytesCleaned += outcome.bytesRemoved;
      tracked.dirtySinceMs = undefined;
      this.options.onPass?.(chosen.topic, chosen.partition, outcome);
      this.options.onPassRecorded?.(chosen.topic, chosen.partition, outcome.passes);
    } else {
      // No progress (every dirty segment too new for min.compaction.lag.ms, or the log changed): let the others go first.
      tracked.idleUntilMs = nowMs + (this.options.backoffMs ?? limits.cleanerBackoffMs);
    }
    this.options.logger.debug(
      `log cleaner: ${chosen.topic}-${chosen.partition}: ${outcome.segmentsCleaned} segment(s) compacted, ${outcome.bytesRemoved} bytes removed` +
        (outcome.abandoned ? " (stopped: the log changed meanwhile)" : ""),
    );
    return { ...outcome, topic: chosen.topic, partition: chosen.partition, progressed: tracked.idleUntilMs <= nowMs };
  }

  /**
   * The leader's cleaner checkpoint for a partition, after its latest pass
   * (the replication stream's `cleaner_passes`): this follower repeats the
   * passes it lacks, in order. Kept in memory; a newer one replaces it.
   */
  receivePasses(topic: string, partition: number, leaderPasses: CleanerPass[]): void {
    this.replicated.receive(topic, partition, leaderPasses);
    // Waiting out a backoff (started, no pass running): look now.
    if (this.timer !== undefined && !this.busy) {
      this.timer.cancel();
      this.schedule(0);
    }
  }

  /**
   * Repeats the next of the leader's passes on the first partition that has
   * one and holds the log durably up to its clean end; undefined when none can go now.
   */
  private async repeatOne(): Promise<CleanerRun | undefined> {
    for (const { topic, partition, leaderPasses } of this.replicated.entries()) {
      const log = this.options.partitions().find((p) => p.topic === topic && p.partition === partition)?.log;
      const config = this.configOf(topic);
      if (log === undefined || config === undefined) {
        this.replicated.forget(topic, partition);
        continue;
      }
      const tracked = this.track(log);
      const own = readCleanerPasses(tracked.target.files.fs, tracked.target.files.dir);
      const next = nextReplayedPass(own, leaderPasses);
      if (next === undefined) {
        this.replicated.forget(topic, partition);
        continue;
      }
      const endOffset = next.pass.cleanEndOffset;
      if (log.durableEndOffset < endOffset || tracked.target.segmentsBelow(endOffset) === undefined) continue; // not held yet
      if (own.length > 0 && next.priorPasses !== own) {
        this.options.logger.warn(`log cleaner: ${topic}-${partition}: this copy's compaction passes are not its leader's: taking the leader's from its latest`);
      }
      const policy = { nowMs: next.pass.cleanedAtMs, deleteRetentionMs: config.deleteRetentionMs, minCompactionLagMs: config.minCompactionLagMs };
      const outcome = await compactPartition(tracked.target, policy, this.throttle.spend, next);
      if (!outcome.abandoned) {
        tracked.cleanEndOffset = outcome.cleanEndOffset;
        tracked.runs++;
        tracked.bytesCleaned += outcome.bytesRemoved;
        tracked.dirtySinceMs = undefined;
        this.options.onPass?.(topic, partition, outcome);
      }
      this.options.logger.debug(`log cleaner: ${topic}-${partition}: the leader's pass to ${endOffset} repeated, ${outcome.segmentsCleaned} segment(s) compacted`);
      return { ...outcome, topic, partition, progressed: !outcome.abandoned };
    }
    return undefined;
  }

  /** Every partition of a compacted topic, with its dirty ratio and lag; for metrics and the choice of the next partition. */
  statuses(): PartitionCleaningStatus[] {
    const statuses: PartitionCleaningStatus[] = [];
    const nowMs = this.options.clock.monotonicMs();
    const entries = this.options.partitions();
    // Forget logs gone (a topic deleted, a partition reopened as a new log).
    const present = new Set(entries.map((entry) => entry.log));
    for (const log of this.tracked.keys()) if (!present.has(log)) this.tracked.delete(log);
    for (const entry of entries) {
      if (entry.log === undefined || this.configOf(entry.topic)?.cleanupPolicy.compact !== true) continue;
      const tracked = this.track(entry.log);
      const sealed = tracked.target.sealedSegments();
      let totalBytes = 0;
      let dirtyBytes = 0;
      for (const segment of sealed) {
        totalBytes += segment.sizeBytes;
        if (segment.baseOffset >= tracked.cleanEndOffset) dirtyBytes += segment.sizeBytes;
      }
      if (dirtyBytes === 0) tracked.dirtySinceMs = undefined;
      else tracked.dirtySinceMs ??= nowMs;
      statuses.push({
        topic: entry.topic,
        partition: entry.partition,
        dirtyRatio: totalBytes === 0 ? 0 : dirtyBytes / totalBytes,
        lagMs: tracked.dirtySinceMs === undefined ? 0 : nowMs - tracked.dirtySinceMs,
        runs: tracked.runs,
        bytesCleaned: tracked.bytesCleaned,
        idleUntilMs: tracked.idleUntilMs,
      });
    }
    return statuses;
  }

  private track(log: PartitionLogApi): Tracked {
    let tracked = this.tracked.get(log);
    if (tracked === undefined) {
      const target = log.compactionTarget();
      const cleanEndOffset = cleanEndOffsetOf(readCleanerPasses(target.files.fs, target.files.dir));
      tracked = { target, cleanEndOffset, dirtySinceMs: undefined, idleUntilMs: Number.NEGATIVE_INFINITY, runs: 0, bytesCleaned: 0 };
      this.tracked.set(log, tracked);
    }
    return tracked;
  }

  private configOf(topic: string): ReturnType<TopicConfigSource["configOf"]> | undefined {
    try {
      return this.options.configs.configOf(topic);
    } catch (error) {
      if (error instanceof GafkaError && error.code === "topic_not_found") return undefined; // deleted meanwhile
      throw error;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.running = this.loop();
    }, delayMs);
  }

  /** One pass, then the next at once while there is work, else after the backoff. */
  private async loop(): Promise<void> {
    let worked = false;
    this.busy = true;
    try {
      worked = (await this.runOnce())?.progressed === true;
    } catch (error) {
      this.options.logger.warn(`log cleaner: a pass failed (it is tried again later): ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.busy = false;
    }
    this.schedule(worked ? 0 : (this.options.backoffMs ?? limits.cleanerBackoffMs));
  }
}

/**
 * Opening partition logs, the commit journal they share under `--fsync
 * always` (src/storage/commit-journal.ts: opened, and its records replayed
 * into the logs, before they load), and the clean-shutdown marker that tells
 * them whether to trust their tails (src/storage/clean-shutdown-marker.ts):
 * at start the marker is taken before any log opens, and at close it is
 * written again only when every log opened at start and closed online.
 */

import * as path from "node:path";
import { isGafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { CommitJournal } from "../storage/commit-journal.ts";
import { segmentPaths } from "../storage/segment.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { PartitionLog, type PartitionLogOptions } from "../storage/partition-log.ts";
import { takeCleanShutdownMarker, writeCleanShutdownMarker } from "../storage/clean-shutdown-marker.ts";
import { DescriptorPool } from "../storage/descriptor-pool.ts";
import type { BrokerConfig } from "./config.ts";
import { segmentFilesOpenMax } from "./open-files.ts";
import { resolveTopicConfig, type TopicConfig } from "./topic-config.ts";
import { partitionDirectory, type TopicMetadata } from "./topic-registry.ts";
import { closePartitions, type PartitionSlot, TopicState } from "./topic-state.ts";

/** Opens (and recovers) one partition's log; throws GafkaError log_corrupt when it is damaged in the middle. */
export type LogFactory = (options: PartitionLogOptions) => PartitionLogApi;

export function openPartitionLog(options: PartitionLogOptions): PartitionLogApi {
  return PartitionLog.open(options);
}

export class PartitionOpener {
  /** While openTopics() opens the logs: the last stop was clean. */
  private afterCleanShutdown = false;
  /** openTopics() opened every log: only then may markCleanStop() mark the stop clean. */
  private openedEveryLog = false;
  /** The broker's one pool of segment-file descriptors, shared by every partition log it opens. */
  readonly descriptorPool: DescriptorPool;
  /** Opened at start; partitions commit through it when `journaling`. */
  private journal: CommitJournal | undefined;
  /** Partitions refused at start while the journal held records for them. */
  private readonly refusedWithRecords = new Set<string>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly openLog: LogFactory,
    private readonly leaderEpoch: (() => number) | undefined,
    /** A topic's settings where it sets none (topicDefaultsOf). */
    private readonly topicDefaults: TopicConfig,
  ) {
    this.descriptorPool = new DescriptorPool(config.fs, config.segmentFilesOpenMax ?? segmentFilesOpenMax(undefined));
  }

  /**
   * At start: takes the clean-shutdown marker, then opens (recovering) every
   * topic's partitions into `topics`, in the registry's order. A failure other
   * than a partition's corruption throws, leaving in `topics` those opened.
   */
  async openTopics(metadataList: readonly TopicMetadata[], topics: Map<string, TopicState>): Promise<void> {
    const { fs, dataDir } = this.config;
    // Taken (durably) before any log is opened: from here on a crash must not pass for a clean stop.
    this.afterCleanShutdown = takeCleanShutdownMarker(fs, dataDir);
    // Opened whatever the policy: the last run's records are replayed even if this one does not journal.
    this.journal = CommitJournal.open({
      dir: path.join(dataDir, "journal"),
      fs,
      clock: this.config.clock,
      logger: this.config.logger,
      checkpointBytes: this.config.journalCheckpointBytes ?? limits.journalCheckpointBytes,
      roundBytesMax: this.config.journalRoundBytesMax ?? limits.journalRoundBytesMax,
      directSyncsMax: this.config.journalDirectSyncsMax ?? limits.journalDirectSyncsMax,
    });
    for (const metadata of metadataList) {
      const config = resolveTopicConfig(metadata.configs, this.topicDefaults);
      topics.set(metadata.name, new TopicState(metadata, await this.openPartitions(metadata.name, metadata.partitionCount), config));
    }
    this.journal.finishRecovery(this.refusedWithRecords);
    this.afterCleanShutdown = false;
    this.openedEveryLog = true;
  }

  /**
   * At close, after `slots` were closed: writes the clean-shutdown marker
   * when every log was closed and fdatasync'ed (a partition refused at open
   * was never written), so that the next start may trust the tails. A failure
   * to write it is logged: the next start recovers as after a crash.
   */
  async markCleanStop(slots: readonly PartitionSlot[]): Promise<void> {
    const clean = this.openedEveryLog && slots.every((slot) => slot.log === undefined || slot.log.status === "online");
    // Deleted only after a clean close: every segment then holds what the journal does.
    await this.journal?.close(clean);
    if (!clean) return;
    await writeCleanShutdownMarker(this.config.fs, this.config.dataDir).catch((error: unknown) => {
      this.config.logger.warn(`broker ${this.config.brokerId}: could not write the clean-shutdown marker (the next start recovers as after a crash): ${error}`);
    });
  }

  /**
   * Opens partitions 0..count-1; on a failure other than corruption closes
   * those opened and throws. `creating` (a new topic): their directories are
   * made first, each with its first, empty segment file, and fsync'ed all at
   * once, instead of one after the other as each log would.
   */
  async openPartitions(topic: string, count: number, creating = false): Promise<PartitionSlot[]> {
    if (creating) await this.prepareDirectories(topic, count);
    const slots: PartitionSlot[] = [];
    try {
      for (let index = 0; index < count; index++) slots.push(this.openPartition(topic, index));
    } catch (error) {
      await closePartitions(slots, this.config.logger);
      throw error;
    }
    return slots;
  }

  /**
   * A new topic's partition directories, each holding its first (empty)
   * segment file, whose entries are durable when this resolves: the
   * directories' fsyncs run together (a topic of 100 partitions paid 100 in
   * turn; bench/RESULTS.md "Issue 18"). The data dir's own fsync, which makes
   * the directories themselves durable, follows in the caller (TopicAdmin.create).
   */
  private async prepareDirectories(topic: string, count: number): Promise<void> {
    const { fs, dataDir } = this.config;
    const dirs = Array.from({ length: count }, (_, index) => partitionDirectory(dataDir, topic, index));
    for (const dir of dirs) {
      fs.mkdirp(dir);
      fs.close(fs.openReadWrite(segmentPaths(dir, 0).logPath));
    }
    await Promise.all(dirs.map((dir) => fs.syncDirectory(dir)));
  }

  /**
   * Records durably that these partitions are deleted (before their
   * directories go), so that the journal never replays their records into a
   * later topic of the same name.
   */
  forget(names: readonly string[]): void {
    this.journal?.forget(names);
  }

  /** Under `always` (and unless turned off), partitions commit through the journal. */
  private get journaling(): boolean {
    return this.config.fsyncPolicy.kind === "always" && this.config.commitJournal !== false;
  }

  /** One partition's log, or its refusal when recovery finds it corrupt (the topic's other partitions serve). */
  private openPartition(topic: string, index: number): PartitionSlot {
    const { dataDir, fs, clock, logger, fsyncPolicy, segmentBytesMax, onFsync, onRetentionDue } = this.config;
    const retentionDue = onRetentionDue === undefined ? undefined : () => onRetentionDue(topic, index);
    const dir = partitionDirectory(dataDir, topic, index);
    const name = `${topic}-${index}`;
    const journalOps = this.journal?.takeRecovered(name);
    fs.mkdirp(dir);
    try {
      const log = this.openLog({
        dir,
        name,
        journal: this.journaling ? this.journal?.link(name) : undefined,
        journalOps,
        fs,
        descriptorPool: this.descriptorPool,
        clock,
        logger,
        fsyncPolicy,
        segmentBytesMax,
        leaderEpoch: this.leaderEpoch,
        onFsync,
        onRoll: retentionDue,
        onRetentionDue: retentionDue,
        afterCleanShutdown: this.afterCleanShutdown,
      });
      return { index, log, refusal: undefined };
    } catch (error) {
      if (!isGafkaError(error) || error.code !== "log_corrupt") throw error;
      if (journalOps !== undefined) this.refusedWithRecords.add(name);
      logger.error(`partition ${topic}-${index} refused: ${error.message}`);
      return { index, log: undefined, refusal: error };
    }
  }
}

/**
 * Topic creation and deletion: one at a time, in call order, each durable
 * when it resolves. A create is all or nothing (its directories are removed
 * again when it fails); a delete is done once topics.json no longer names
 * the topic.
 */

import { assert } from "../core/assert.ts";
import { GafkaError, isGafkaError, storageError, systemErrorCode } from "../core/errors.ts";
import type { BrokerState } from "./broker-state.ts";
import type { BrokerConfig } from "./config.ts";
import type { PartitionOpener } from "./partition-opener.ts";
import { resolveTopicConfig, type TopicConfig, type TopicConfigOverrides } from "./topic-config.ts";
import { checkPartitionCount, checkTopicName, partitionDirectory, topicExists, type TopicMetadata, type TopicRegistry } from "./topic-registry.ts";
import { closePartitions, describeTopicState, type PartitionSlot, type TopicDescription, TopicState } from "./topic-state.ts";
import type { AppendOrigin } from "./write-gate.ts";

/** A topic created, deleted or given new settings (replication ships these to followers). */
export type TopicChangeListener = (change: { kind: "created" | "deleted" | "configured"; topic: string }) => void;

export class TopicAdmin {
  /** Topic creates and deletes run one at a time, in call order. */
  private adminQueue: Promise<void> = Promise.resolve();
  private readonly listeners: TopicChangeListener[] = [];

  constructor(
    private readonly config: BrokerConfig,
    private readonly state: BrokerState,
    private readonly registry: TopicRegistry,
    private readonly opener: PartitionOpener,
    /** Partitions this broker may hold (src/broker/partitions-max.ts). */
    private readonly partitionsMax: number,
    /** A topic's settings where it sets none (topicDefaultsOf). */
    private readonly topicDefaults: TopicConfig,
  ) {}

  /** Calls `listener` after each topic creation or deletion is durable. */
  onChange(listener: TopicChangeListener): void {
    this.listeners.push(listener);
  }

  /** Resolves once the creates and deletes queued so far have ended. */
  settled(): Promise<void> {
    return this.adminQueue;
  }

  /**
   * Creates the topic's partition directories and logs, then records the topic
   * durably in topics.json (see Broker.createTopic). `createdAtMs` is the
   * leader's for a follower's create, absent for a client's (now).
   */
  async create(
    origin: AppendOrigin,
    name: string,
    partitionCount: number,
    createdAtMs: number | undefined,
    configs: TopicConfigOverrides = {},
  ): Promise<TopicDescription> {
    assert(origin !== "coordinator", "the coordinator creates no topics");
    this.state.checkAccepting();
    checkTopicName(name);
    checkPartitionCount(partitionCount);
    return this.runAdmin(async () => {
      this.state.checkAccepting();
      if (this.state.topics.has(name)) throw topicExists(name);
      this.checkRoomFor(name, partitionCount);
      let partitions: PartitionSlot[] | undefined;
      let metadata: TopicMetadata;
      try {
        // Directories of an earlier topic of this name whose create or delete was interrupted.
        this.removePartitionDirectories(name);
        partitions = await this.opener.openPartitions(name, partitionCount, true);
        await this.config.fs.syncDirectory(this.config.dataDir);
        metadata = await this.registry.create(name, partitionCount, createdAtMs ?? this.config.clock.nowMs(), configs);
      } catch (error) {
        await this.undoCreate(name, partitions);
        // A failing disk (ENOSPC, EIO, ENAMETOOLONG...) is the client's 503; anything else is a bug.
        if (isGafkaError(error) || systemErrorCode(error) === undefined) throw error;
        throw storageError(`could not create topic '${name}'`, error);
      }
      const topic = new TopicState(metadata, partitions, resolveTopicConfig(configs, this.topicDefaults));
      this.state.topics.set(name, topic);
      this.config.logger.info(`created topic '${name}' with ${partitionCount} partition(s)${describeOverrides(configs)}`);
      for (const listener of this.listeners) listener({ kind: "created", topic: name });
      return describeTopicState(topic, this.topicDefaults);
    });
  }

  /**
   * Everything create() checks before it touches a file (the broker
   * accepting, the name, the partition count, the name free, room under the
   * partition cap), throwing what create() would; creates nothing. Kafka's
   * CreateTopics with validateOnly.
   */
  check(name: string, partitionCount: number): void {
    this.state.checkAccepting();
    checkTopicName(name);
    checkPartitionCount(partitionCount);
    if (this.state.topics.has(name)) throw topicExists(name);
    this.checkRoomFor(name, partitionCount);
  }

  /**
   * Gives the topic the overrides `change` makes of its current ones, durably
   * in topics.json, then in force (the logs roll by the new segment settings
   * from their next append). Queued with creates and deletes, so a change
   * never races one. When it throws the topic keeps its settings.
   */
  async reconfigure(name: string, change: (current: TopicConfigOverrides) => TopicConfigOverrides): Promise<TopicDescription> {
    this.state.checkAccepting();
    return this.runAdmin(async () => {
      this.state.checkAccepting();
      const topic = this.state.topicOrThrow(name);
      const configs = change(topic.metadata.configs);
      const config = resolveTopicConfig(configs, this.topicDefaults);
      const metadata = await this.registry.alterConfigs(name, configs);
      topic.reconfigure(metadata, config);
      this.config.logger.info(`topic '${name}': configuration now${describeOverrides(configs) || " the broker's defaults"}`);
      for (const listener of this.listeners) listener({ kind: "configured", topic: name });
      return describeTopicState(topic, this.topicDefaults);
    });
  }

  /** Removes the topic from topics.json durably, then closes its logs and removes its directories (see Broker.deleteTopic). */
  async delete(name: string): Promise<void> {
    this.state.checkAccepting();
    return this.runAdmin(async () => {
      this.state.checkAccepting();
      const topic = this.state.topicOrThrow(name);
      await this.registry.delete(name);
      this.state.topics.delete(name);
      topic.closing.abort();
      await closePartitions(topic.partitions, this.config.logger);
      this.removePartitionDirectories(name);
      this.config.logger.info(`deleted topic '${name}'`);
      for (const listener of this.listeners) listener({ kind: "deleted", topic: name });
    });
  }

  /**
   * Refuses a topic that would take the broker past its partition cap: 409
   * limit_reached, before a file is opened. A follower refuses its leader's
   * topic the same way; its replication then fails loudly (logged, in
   * /api/v1/replication/status) and retries, and it never crashes on EMFILE.
   */
  private checkRoomFor(name: string, partitionCount: number): void {
    let held = 0;
    for (const topic of this.state.topics.values()) held += topic.partitions.length;
    if (held + partitionCount <= this.partitionsMax) return;
    throw new GafkaError(
      "limit_reached",
      `topic '${name}' needs ${partitionCount} partition(s), but this broker holds ${held} of the ${this.partitionsMax} it may (the --partitions-max limit)`,
      { details: { limit: this.partitionsMax, partitions: held, topic: name, requested: partitionCount } },
    );
  }

  private runAdmin<T>(change: () => Promise<T>): Promise<T> {
    const result = this.adminQueue.then(change);
    this.adminQueue = result.then(ignore, ignore);
    return result;
  }

  /**
   * After a failed create: closes the logs it opened, removes every directory
   * of the name and fsyncs the data dir, so that no partition directory of a
   * topic that does not exist survives a crash. A failure here is logged; the
   * caller reports the create's own failure, and a later create of the name
   * removes what is left.
   */
  private async undoCreate(topic: string, partitions: PartitionSlot[] | undefined): Promise<void> {
    const { dataDir, fs, logger } = this.config;
    if (partitions !== undefined) await closePartitions(partitions, logger).catch(ignore); // closePartitions logs
    try {
      this.removePartitionDirectories(topic);
      await fs.syncDirectory(dataDir);
    } catch (error) {
      logger.error(`topic '${topic}' was not created, and removing its partition directories failed`, error);
    }
  }

  /** Removes `<dataDir>/<topic>-<n>` for every n; other topics' directories never match. */
  private removePartitionDirectories(topic: string): void {
    const { dataDir, fs } = this.config;
    const prefix = `${topic}-`;
    const indexes = fs
      .readdir(dataDir)
      .filter((entry) => entry.startsWith(prefix) && isDigits(entry, prefix.length))
      .map((entry) => Number(entry.slice(prefix.length)));
    this.opener.forget(indexes.map((index) => `${topic}-${index}`));
    for (const index of indexes) fs.removeRecursive(partitionDirectory(dataDir, topic, index));
  }
}

function describeOverrides(configs: TopicConfigOverrides): string {
  const entries = Object.entries(configs);
  return entries.length === 0 ? "" : ` (${entries.map(([name, value]) => `${name}=${value}`).join(", ")})`;
}

function isDigits(text: string, from: number): boolean {
  if (from >= text.length) return false;
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

function ignore(): void {}

import { limits } from "../core/limits.ts";
import type { AppendResult, PartitionLogApi } from "../storage/log-types.ts";
import type { BrokerConfig } from "./config.ts";
import { BrokerState } from "./broker-state.ts";
import { type LogFactory, openPartitionLog, PartitionOpener } from "./partition-opener.ts";
import { type FetchRequest, type FetchResult, type PartitionPosition, PartitionReader } from "./partition-reader.ts";
import type { ProduceResult } from "./produce-outcomes.ts";
import { type BatchProduceResult, ProducePipeline, type ProduceOptions, type ProduceRecord } from "./produce-pipeline.ts";
import { TopicAdmin, type TopicChangeListener } from "./topic-admin.ts";
import { TopicRegistry, type TopicMetadata } from "./topic-registry.ts";
import { closePartitions, describePartition, describeTopicState, type TopicDescription, type TopicSummary, type UnhealthyPartition } from "./topic-state.ts";
import type { AccessPolicy } from "../security/access-policy.ts";
import { CredentialStore } from "../security/credential-store.ts";
import { SecurityAdmin } from "./security-admin.ts";
import { ANONYMOUS, type Operation, type Principal, type Resource, WriteGate, type WriteGuard } from "./write-gate.ts";
import { partitionsMax } from "./partitions-max.ts";
import { deleteRecords, type DeleteRecordsRequest, type DeleteRecordsResult } from "./delete-records.ts";
import { alterTopicConfigs, checkTopicConfigs, type TopicConfig, type TopicConfigOverrides, type TopicConfigSource } from "./topic-config.ts";
import { topicDefaultsOf } from "./topic-defaults.ts";
import { invalidRequest, isGafkaError } from "../core/errors.ts";
import type { Timer } from "../core/clock.ts";

export type { PartitionDescription, TopicConfigEntry, TopicDescription, TopicSummary, UnhealthyPartition } from "./topic-state.ts";
export type { Acks } from "./acks.ts";
export type { AppendOrigin, Principal, Resource, WriteGuard, Operation } from "./write-gate.ts";
export type { LogFactory } from "./partition-opener.ts";
export type { TopicChangeListener } from "./topic-admin.ts";
export type { BatchProduceResult, ProduceOptions, ProduceRecord } from "./produce-pipeline.ts";
export { ProduceOutcomesError, type ProduceResult } from "./produce-outcomes.ts";
export type { DeleteRecordsRequest, DeleteRecordsResult } from "./delete-records.ts";
export type { FetchFormat, FetchOffset, FetchRequest, FetchResult, PartitionPosition } from "./partition-reader.ts";

export interface BrokerOptions {
  /** Defaults to PartitionLog.open; tests pass a double. */
  openLog?: LogFactory;
  /** Long polls that may wait at once; defaults to limits.waitingPollsMax. */
  waitingPollsMax?: number;
  /** The leader epoch stamped into every batch this broker writes (replication's); -1 when absent. */
  leaderEpoch?: () => number;
  /** The cluster's users, tokens and ACLs (run-broker.ts loads it first); loaded from the data dir when absent. */
  credentials?: CredentialStore;
}

/** One partition as replication sees it: its log, unless recovery refused it as corrupt. */
export interface PartitionEntry {
  topic: string;
  partition: number;
  topicCreatedAtMs: number;
  log: PartitionLogApi | undefined;
}

/**
 * What one broker owns: its topics and their partitions' logs. The HTTP layer
 * (and later the Kafka listener) call these methods; they throw GafkaErrors
 * for expected failures and never touch HTTP. Every client write passes the
 * one WriteGate (admit()) here or in the GroupCoordinator; replication
 * applies the leader's writes through the follower entry points
 * (createTopicAsFollower, deleteTopicAsFollower, appendAsFollower), which
 * pass no gate.
 *
 * The work is done by one part per concern, each in its own file: topic
 * administration (topic-admin.ts), the produce path (produce-pipeline.ts),
 * reads and long polls (partition-reader.ts), opening logs and the
 * clean-shutdown marker (partition-opener.ts); this class wires them and
 * the write gate together and holds the lifecycle.
 */
export class Broker implements TopicConfigSource {
  private readonly state = new BrokerState();
  /** A topic's settings where it sets none: the broker's flags. */
  readonly topicDefaults: TopicConfig;
  /** The leader's periodic look for active segments past their topic's segment.ms. */
  private segmentAgeCheck: Timer | undefined;
  private readonly gate = new WriteGate();
  private readonly opener: PartitionOpener;
  private readonly admin: TopicAdmin;
  private readonly producer: ProducePipeline;
  private readonly reader: PartitionReader;
  /** Users, tokens and ACLs, administered through the gate (src/broker/security-admin.ts). */
  readonly security: SecurityAdmin;
  private closePromise: Promise<void> | undefined;

  private constructor(
    readonly config: BrokerConfig,
    private readonly registry: TopicRegistry,
    openLog: LogFactory,
    options: BrokerOptions,
  ) {
    this.topicDefaults = topicDefaultsOf(config);
    this.opener = new PartitionOpener(config, openLog, options.leaderEpoch, this.topicDefaults);
    this.admin = new TopicAdmin(config, this.state, registry, this.opener, config.partitionsMax ?? partitionsMax(undefined), this.topicDefaults);
    this.producer = new ProducePipeline(config, this.state, this.gate);
    this.reader = new PartitionReader(config, this.state, options.waitingPollsMax ?? limits.waitingPollsMax);
    const credentials = options.credentials ?? CredentialStore.load(config.dataDir, config.fs, config.clock);
    this.security = new SecurityAdmin(credentials, this.gate);
  }

  /**
   * Loads the topic metadata and opens (recovering) every partition's log. A
   * partition refused as corrupt is kept as such and the others serve; any
   * other failure to open is fatal and closes what was opened.
   */
  static async open(config: BrokerConfig, options: BrokerOptions = {}): Promise<Broker> {
    config.fs.mkdirp(config.dataDir);
    const registry = TopicRegistry.load(config.dataDir, config.fs);
    const broker = new Broker(config, registry, options.openLog ?? openPartitionLog, options);
    try {
      await broker.opener.openTopics(registry.list(), broker.state.topics);
    } catch (error) {
      await broker.close().catch(ignore);
      throw error;
    }
    broker.segmentAgeCheck = config.clock.setInterval(() => broker.rollAgedSegments(), limits.segmentAgeCheckIntervalMs);
    const refused = broker.unhealthyPartitions().length;
    config.logger.info(
      `broker ${config.brokerId}: ${broker.state.topics.size} topic(s) in ${config.dataDir}` +
        (refused > 0 ? `, ${refused} partition(s) not serving` : ""),
    );
    return broker;
  }

  // ---------------------------------------------------------------- topics

  /**
   * Creates the topic's partition directories and logs, then records the topic
   * durably in topics.json. When it resolves the topic survives a crash. It is
   * all or nothing: when it throws, the topic does not exist, topics.json is
   * as it was, and the directories it made are removed again (the removal
   * fsynced); a failing disk is storage_full or storage_failed (503).
   * Refused (not_leader) unless the gate admits it; `configs` (the topic's
   * own settings, Kafka's names) is checked after the gate (400
   * invalid_request, and no topic).
   */
  async createTopic(name: string, partitionCount: number, principal: Principal = ANONYMOUS, configs: unknown = {}): Promise<TopicDescription> {
    this.gate.admit(principal, "create_topic", { kind: "topic", name });
    return this.admin.create("client", name, partitionCount, undefined, checkTopicConfigs(configs));
  }

  /** createTopic()'s checks in its order, creating nothing (Kafka's validateOnly); a later create may still lose the name or the room to another. */
  checkTopicCreate(name: string, partitionCount: number, principal: Principal = ANONYMOUS, configs: unknown = {}): void {
    this.gate.admit(principal, "create_topic", { kind: "topic", name });
    checkTopicConfigs(configs);
    this.admin.check(name, partitionCount);
  }

  /**
   * Replication's entry point on a follower: creates the leader's topic as
   * createTopic() does, with the leader's creation time (which tells apart
   * two topics of one name) and settings. Passes no gate: the leader admitted it.
   */
  createTopicAsFollower(name: string, partitionCount: number, createdAtMs: number, configs: TopicConfigOverrides = {}): Promise<TopicDescription> {
    return this.admin.create("replication", name, partitionCount, createdAtMs, checkTopicConfigs(configs));
  }

  /**
   * Kafka's IncrementalAlterConfigs on one topic: sets `set` and removes
   * `remove` (back to the broker's default) from its overrides. Every name
   * and value is checked first (invalid_request, 400, and nothing changes);
   * when it resolves the new settings are in topics.json, fsynced, and in
   * force: produce checks max.message.bytes and min.insync.replicas by them,
   * and each partition's next roll decision uses segment.bytes and
   * segment.ms. Refused (not_leader) unless the gate admits it (ALTER on the
   * topic).
   */
  async alterTopicConfig(name: string, set: unknown, remove: unknown, principal: Principal = ANONYMOUS): Promise<TopicDescription> {
    this.gate.admit(principal, "alter_topic_config", { kind: "topic", name });
    // Checked after the gate: a caller who may not alter the topic learns nothing from a 400.
    const checked = checkTopicConfigs(set, "set");
    const names = remove ?? [];
    if (!Array.isArray(names) || !names.every((item) => typeof item === "string")) {
      throw invalidRequest("field 'delete' must be an array of configuration names", { field: "delete" });
    }
    alterTopicConfigs({}, checked, names); // names checked before anything is queued
    return this.admin.reconfigure(name, (current) => alterTopicConfigs(current, checked, names));
  }

  /** Replication's entry point on a follower: the leader's overrides of a topic, replacing this broker's. Passes no gate. */
  setTopicConfigsAsFollower(name: string, configs: TopicConfigOverrides): Promise<TopicDescription> {
    const checked = checkTopicConfigs(configs);
    return this.admin.reconfigure(name, () => checked);
  }

  /** The topic's configuration in force (TopicConfigSource): throws topic_not_found for an unknown topic. */
  configOf(topic: string): TopicConfig {
    return this.state.topicOrThrow(topic).config;
  }

  /**
   * A client's list of topics: those `principal` may describe, sorted by
   * name (401 for no credentials where the policy needs them; an empty list
   * when it may describe none).
   */
  listTopicsFor(principal: Principal): TopicSummary[] {
    return this.gate.visible(principal, this.listTopics(), "describe_topic", (topic) => ({ kind: "topic", name: topic.name }));
  }

  /**
   * A client's view of one topic, once the gate lets `principal` describe
   * it: asked before the topic is looked up, so a principal without the
   * right hears 403 whether the topic exists or not.
   */
  describeTopicFor(name: string, principal: Principal): TopicDescription {
    this.gate.authorize(principal, "describe_topic", { kind: "topic", name });
    return this.describeTopic(name);
  }

  /** Topics sorted by name: the broker's own view (metrics, the coordinator), passing no gate. */
  listTopics(): TopicSummary[] {
    return this.registry
      .list()
      .filter((metadata) => this.state.topics.has(metadata.name))
      .map((metadata) => ({ name: metadata.name, partitionCount: metadata.partitionCount }));
  }

  /** One topic's partitions: the broker's own view (metrics, the coordinator), passing no gate. */
  describeTopic(name: string): TopicDescription {
    return describeTopicState(this.state.topicOrThrow(name), this.topicDefaults);
  }

  /**
   * Removes the topic from topics.json durably, then closes its logs (waking
   * its long polls) and removes its directories. Once the metadata is written
   * the topic is gone even if the process dies before the directories are.
   * Refused (not_leader) unless the gate admits it.
   */
  async deleteTopic(name: string, principal: Principal = ANONYMOUS): Promise<void> {
    this.gate.admit(principal, "delete_topic", { kind: "topic", name });
    return this.admin.delete(name);
  }

  /**
   * Kafka's DeleteRecords (src/broker/delete-records.ts): moves each named
   * partition's log start up to `before`, deleting the segments wholly below
   * it. A write: refused (not_leader) unless the gate admits it (DELETE on
   * the topic). Durable here when it resolves.
   */
  deleteRecords(topicName: string, requests: readonly DeleteRecordsRequest[], principal: Principal = ANONYMOUS): DeleteRecordsResult[] {
    this.gate.admit(principal, "delete_records", { kind: "topic", name: topicName });
    this.state.checkAccepting();
    return deleteRecords(this.state, topicName, requests);
  }

  /** Replication's entry point on a follower: deletes a topic its leader no longer has. Passes no gate. */
  deleteTopicAsFollower(name: string): Promise<void> {
    return this.admin.delete(name);
  }

  // ---------------------------------------------------------------- produce

  /**
   * Appends the records, returning where each landed, in request order.
   * Records for the same partition go in one batch; partitions are appended
   * concurrently and each succeeds or fails on its own, as in Kafka (there is
   * no transaction across partitions). Durability: when it resolves every
   * record is durable as the fsync policy demands. When a record's checks
   * fail, nothing is appended. When an append fails, a request for one
   * partition throws that failure (nothing acknowledged); one spanning
   * partitions throws the first failure with `details.results`, one entry
   * per record in request order: `{partition, offset, timestamp}` for a
   * record stored and acknowledged, `{partition, error: {code, message,
   * retriable}}` for one that was not (see outcomesError()).
   * With acks=all it resolves once every in-sync replica holds the records
   * durably; with acks=0 as soon as the request is checked and the appends are
   * under way, every offset -1 (Kafka's "unknown"). Refused (not_leader) unless
   * the gate admits it; what is acknowledged (all under acks=0) goes to onProduced.
   */
  produce(topicName: string, records: ProduceRecord[], options: ProduceOptions = {}, principal: Principal = ANONYMOUS): Promise<ProduceResult[]> {
    return this.producer.produce(topicName, records, options, principal);
  }

  /**
   * Binary produce: a client's RecordBatch v2 bytes for one partition
   * (docs/api.md "Record batches"). Every batch is checked before anything is
   * written (src/storage/batch-check.ts); the records get consecutive offsets
   * and are acknowledged as produce() acknowledges (acks, fsync policy, the
   * gate, onProduced). With acks=0 the offsets are -1.
   */
  produceBatches(
    topicName: string,
    partition: number,
    body: Uint8Array,
    options: ProduceOptions = {},
    principal: Principal = ANONYMOUS,
  ): Promise<BatchProduceResult> {
    return this.producer.produceBatches(topicName, partition, body, options, principal);
  }

  // ---------------------------------------------------------------- fetch

  /**
   * A client's consume of one partition: fetch(), with what it delivers
   * reported to onConsumed (records, and key + value bytes, or the batches'
   * bytes for format "batches"). Every door's consume comes this way, and
   * passes the gate first (READ on the topic, before anything is read); the
   * group coordinator reports its members' deliveries through countConsumed().
   */
  consume(request: FetchRequest, principal: Principal = ANONYMOUS): Promise<FetchResult> {
    this.gate.authorize(principal, "consume", { kind: "topic", name: request.topic });
    return this.reader.consume(request);
  }

  /** Reports records handed to a consumer by the group coordinator (the onConsumed hook). */
  countConsumed(topic: string, partition: number, records: number, bytes: number): void {
    this.config.onConsumed?.(topic, partition, records, bytes);
  }

  /**
   * Reads records at or after the offset, decoded or as the stored batches
   * holding them (request.format). When there are none yet and waitMs
   * is positive, waits (long poll) until an append makes one visible, the
   * wait ends, the signal aborts or the topic/broker closes; then reads again.
   * Only records below the high watermark are delivered.
   */
  fetch(request: FetchRequest): Promise<FetchResult> {
    return this.reader.fetch(request);
  }

  /**
   * Waits, reading nothing, until any of the partitions holds a record at
   * its position (below its high watermark), `waitMs` passes, a signal
   * aborts, a topic among them is deleted or the broker stops; a group long
   * poll waits on all of a member's partitions this way. One wait, counted
   * once against the waiting-polls limit, with one timer and one waiter per
   * partition: nothing per poll for the garbage collector beyond those.
   */
  waitForAny(positions: readonly PartitionPosition[], waitMs: number, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
    return this.reader.waitForAny(positions, waitMs, signals);
  }

  /** The offsets a partition holds now: [earliest, highWatermark). */
  partitionBounds(topicName: string, partition: number): { earliest: number; highWatermark: number } {
    const log = this.state.partitionLog(topicName, partition);
    return { earliest: log.earliestOffset, highWatermark: log.highWatermark };
  }

  /** The first offset whose timestamp is >= timestampMs (the high watermark when none is). */
  offsetForTimestamp(topicName: string, partition: number, timestampMs: number): number {
    return this.state.partitionLog(topicName, partition).offsetForTimestamp(timestampMs);
  }

  // ---------------------------------------------------------------- the gate and replication

  /**
   * The one gate of every client write (src/broker/write-gate.ts): throws
   * not_leader or not_leader_lease when `principal` may not do `operation`
   * on `resource` here now; returns the leadership term the write is taken
   * under. Broker's writes call it themselves; the GroupCoordinator calls it
   * for every group call.
   */
  admit(principal: Principal, operation: Operation, resource: Resource): number {
    return this.gate.admit(principal, operation, resource);
  }

  /**
   * The gate's "who may" half alone, for reads and cluster calls: throws
   * unauthenticated (401) or forbidden (403) unless `principal` may do
   * `operation` on `resource` (src/security/access-policy.ts).
   */
  authorize(principal: Principal, operation: Operation, resource: Resource): void {
    this.gate.authorize(principal, operation, resource);
  }

  /** authorize() as a boolean, for filtering what a list shows. */
  allows(principal: Principal, operation: Operation, resource: Resource): boolean {
    return this.gate.allows(principal, operation, resource);
  }

  /** What a list shows `principal`: the items it may do `operation` on (WriteGate.visible). */
  visible<T>(principal: Principal, items: readonly T[], operation: Operation, resource: (item: T) => Resource): T[] {
    return this.gate.visible(principal, items, operation, resource);
  }

  /** Whether `principal` may see a whole list by a right on a wider resource (WriteGate.mayListAll). */
  mayListAll(principal: Principal, operation: Operation, resource: Resource): boolean {
    return this.gate.mayListAll(principal, operation, resource);
  }

  /** Replication's half of admit() alone (WriteGate.admitLeadership). */
  admitLeadership(): void {
    this.gate.admitLeadership();
  }

  /** Sets who may do what (authentication and ACLs, src/security); everyone may until it is set. */
  setAccessPolicy(policy: AccessPolicy): void {
    this.gate.setPolicy(policy);
  }

  /** Lets replication decide who may write and when a write is acknowledged (see WriteGuard). */
  setWriteGuard(guard: WriteGuard): void {
    this.gate.setGuard(guard);
  }

  /**
   * Replication's entry point on a follower: appends frames its leader sent
   * (origin "replication"), stored as they were, offsets and checksums kept
   * (PartitionLogApi.appendFrames checks both). Passes no gate.
   */
  async appendAsFollower(topicName: string, partition: number, frames: Uint8Array, startsSegment: boolean): Promise<AppendResult> {
    const log = this.state.partitionLog(topicName, partition);
    return log.appendFrames(frames, startsSegment);
  }

  /** Calls `listener` after each topic creation, deletion or change of settings is durable. */
  onTopicChange(listener: TopicChangeListener): void {
    this.admin.onChange(listener);
  }

  /** Every partition of every topic, topics by name. */
  partitionEntries(): PartitionEntry[] {
    const entries: PartitionEntry[] = [];
    for (const metadata of this.registry.list()) {
      const topic = this.state.topics.get(metadata.name);
      if (topic === undefined) continue;
      for (const slot of topic.partitions) {
        entries.push({ topic: metadata.name, partition: slot.index, topicCreatedAtMs: metadata.createdAtMs, log: slot.log });
      }
    }
    return entries;
  }

  /** Topic metadata, sorted by name. */
  topicMetadata(): TopicMetadata[] {
    return this.registry.list().filter((metadata) => this.state.topics.has(metadata.name));
  }

  // ---------------------------------------------------------------- health and shutdown

  /** Long polls waiting right now (limited by waitingPollsMax). */
  get waitingPollCount(): number {
    return this.reader.waitingPollCount;
  }

  /** Partitions not serving: refused as corrupt at open, or offline/corrupt since. */
  unhealthyPartitions(): UnhealthyPartition[] {
    const unhealthy: UnhealthyPartition[] = [];
    for (const topic of this.state.topics.values()) {
      for (const slot of topic.partitions) {
        const description = describePartition(slot);
        if (description.status !== "online") {
          unhealthy.push({
            topic: topic.metadata.name,
            partition: slot.index,
            status: description.status,
            error: description.error ?? description.status,
          });
        }
      }
    }
    return unhealthy;
  }

  /**
   * Stops accepting requests (they get 503 shutting_down), wakes every long
   * poll (they answer with what they have), waits for in-flight appends and
   * topic changes, then closes every log (which fsyncs it). Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.closeOnce();
    return this.closePromise;
  }

  /**
   * Rolls each active segment that has held records for its topic's
   * segment.ms, on a leader only: a follower's segments end where its
   * leader's do (the stream says so), never by its own clock. A failure is
   * the partition's (it goes offline as after a failed append) and is logged.
   */
  private rollAgedSegments(): void {
    if (!this.state.accepting) return;
    try {
      this.gate.writeGuard?.admitWrite();
    } catch (error) {
      if (isGafkaError(error)) return; // not the leader
      throw error;
    }
    for (const topic of this.state.topics.values()) {
      for (const slot of topic.partitions) {
        try {
          if (slot.log?.rollIfAged()) this.config.logger.debug(`partition ${topic.metadata.name}-${slot.index}: rolled its segment (segment.ms ${topic.config.segmentMs})`);
        } catch (error) {
          this.config.logger.warn(`partition ${topic.metadata.name}-${slot.index}: could not roll its segment by segment.ms: ${error}`);
        }
      }
    }
  }

  private async closeOnce(): Promise<void> {
    this.segmentAgeCheck?.cancel();
    this.state.accepting = false;
    for (const topic of this.state.topics.values()) topic.closing.abort();
    await this.admin.settled();
    await this.producer.drained();
    const slots = [...this.state.topics.values()].flatMap((topic) => topic.partitions);
    await closePartitions(slots, this.config.logger);
    await this.opener.markCleanStop(slots);
    this.config.logger.info(`broker ${this.config.brokerId}: closed`);
  }
}

function ignore(): void {}

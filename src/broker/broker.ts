import { AssertionError, assert } from "../core/assert.ts";
import type { Timer } from "../core/clock.ts";
import { GafkaError, type GafkaErrorOptions, invalidRequest, isGafkaError, partitionNotFound, storageError, systemErrorCode, topicNotFound } from "../core/errors.ts";
import { limits, topicNameProblem } from "../core/limits.ts";
import type { AppendResult, PartitionLogApi } from "../storage/log-types.ts";
import type { ReadWaiter } from "../storage/read-waiters.ts";
import { type CheckedClientBatch, checkClientBatches } from "../storage/batch-check.ts";
import { PartitionLog, type PartitionLogOptions } from "../storage/partition-log.ts";
import { takeCleanShutdownMarker, writeCleanShutdownMarker } from "../storage/clean-shutdown-marker.ts";
import type { RecordHeader, RecordInput, StoredRecord } from "../protocol/record.ts";
import type { Acks } from "./acks.ts";
import type { BrokerConfig } from "./config.ts";
import { ANONYMOUS, type AppendOrigin, type Principal, type Resource, WriteGate, type WriteGuard, type Operation } from "./write-gate.ts";
import { partitionForKey } from "../protocol/partitioner.ts";
import { ProduceFailureLog } from "./produce-failure-log.ts";
import {
  checkPartitionCount,
  checkTopicName,
  partitionDirectory,
  topicExists,
  TopicRegistry,
  type TopicMetadata,
} from "./topic-registry.ts";
import {
  closePartitions,
  describePartition,
  describeTopicState,
  type PartitionSlot,
  type TopicDescription,
  TopicState,
  type TopicSummary,
  type UnhealthyPartition,
} from "./topic-state.ts";

export type { PartitionDescription, TopicDescription, TopicSummary, UnhealthyPartition } from "./topic-state.ts";
export type { Acks } from "./acks.ts";
export type { AppendOrigin, Principal, Resource, WriteGuard, Operation } from "./write-gate.ts";

/** Opens (and recovers) one partition's log; throws GafkaError log_corrupt when it is damaged in the middle. */
export type LogFactory = (options: PartitionLogOptions) => PartitionLogApi;

export interface BrokerOptions {
  /** Defaults to PartitionLog.open; tests pass a double. */
  openLog?: LogFactory;
  /** Long polls that may wait at once; defaults to limits.waitingPollsMax. */
  waitingPollsMax?: number;
  /** The leader epoch stamped into every batch this broker writes (replication's); -1 when absent. */
  leaderEpoch?: () => number;
}

export interface ProduceOptions {
  /** Default 1. */
  acks?: Acks;
}

/** A topic created or deleted (replication ships these to followers). */
export type TopicChangeListener = (change: { kind: "created" | "deleted"; topic: string }) => void;

/** One partition as replication sees it: its log, unless recovery refused it as corrupt. */
export interface PartitionEntry {
  topic: string;
  partition: number;
  topicCreatedAtMs: number;
  log: PartitionLogApi | undefined;
}

/** A record to produce: the broker picks its partition unless `partition` is given, and stamps it when `timestampMs` is absent. */
export interface ProduceRecord {
  partition?: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  timestampMs?: number;
}

/** Where one produced record landed. */
export interface ProduceResult {
  partition: number;
  offset: number;
  timestampMs: number;
}

/** Where a binary produce's records landed: baseOffset..lastOffset, consecutive (-1 under acks=0). */
export interface BatchProduceResult {
  partition: number;
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  /** Key + value bytes of the records. */
  payloadBytes: number;
}

export type FetchOffset = number | "earliest" | "latest";

/**
 * What a fetch hands back: "records", decoded (the JSON consume), or
 * "batches", the stored RecordBatch v2 bytes holding them, undecoded (the
 * binary consume, docs/api.md "Binary consume").
 */
export type FetchFormat = "records" | "batches";

/** A partition and an offset in it: where a long poll waits for a record. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  offset: number;
}

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: FetchOffset;
  /** 1..limits.consumeCountMax. */
  maxRecords: number;
  /** Long-poll wait when nothing is there yet: 0..limits.fetchWaitMsMax. */
  waitMs: number;
  /** Ends the wait early (the client went away). */
  signal?: AbortSignal;
  /** Default "records". */
  format?: FetchFormat;
}

/** Either format delivers the records [offset, nextOffset); the same ones for the same request. */
export interface FetchResult {
  /** The records delivered (format "records"); empty for "batches". */
  records: StoredRecord[];
  /**
   * Format "batches": whole stored batches, without frame headers, holding
   * the records delivered; the first may begin before `offset` and the last
   * run past nextOffset. Empty for "records" and when none is delivered.
   */
  batches: Uint8Array;
  /** The offset read from: the request's, "earliest" and "latest" resolved. */
  offset: number;
  /** The offset to ask for next (one past the last record delivered). */
  nextOffset: number;
  highWatermark: number;
}

const NO_BATCHES = new Uint8Array(0);

/**
 * A produce spanning partitions that failed in some or all of them: the
 * first failure, with `details.results` giving every record's outcome, and
 * `storedIndexes` the request positions of the records that were stored and
 * acknowledged all the same (none when every partition failed).
 */
export class ProduceOutcomesError extends GafkaError {
  constructor(
    code: GafkaError["code"],
    message: string,
    readonly storedIndexes: readonly number[],
    options: GafkaErrorOptions,
  ) {
    super(code, message, options);
  }
}

interface PartitionGroup {
  readonly partition: number;
  readonly records: RecordInput[];
  /** Positions of `records` in the produce request. */
  readonly requestIndexes: number[];
  /** Key + value bytes of `records` (what onProduced counts). */
  payloadBytes: number;
}

/**
 * What one broker owns: its topics and their partitions' logs. The HTTP layer
 * (and later the Kafka listener) call these methods; they throw GafkaErrors
 * for expected failures and never touch HTTP. Every client write passes the
 * one WriteGate (admit()) here or in the GroupCoordinator; replication
 * applies the leader's writes through the follower entry points
 * (createTopicAsFollower, deleteTopicAsFollower, appendAsFollower), which
 * pass no gate.
 */
export class Broker {
  private readonly topics = new Map<string, TopicState>();
  private readonly waitingPollsMax: number;
  private readonly leaderEpoch: (() => number) | undefined;
  private accepting = true;
  private closePromise: Promise<void> | undefined;
  /** Topic creates and deletes run one at a time, in call order. */
  private adminQueue: Promise<void> = Promise.resolve();
  private waitingPolls = 0;
  private readonly gate = new WriteGate();
  private readonly topicListeners: TopicChangeListener[] = [];
  private appendsInFlight = 0;
  private onAppendsDrained: (() => void) | undefined;
  private readonly produceFailures: ProduceFailureLog;
  /** While open() opens the logs: the last stop was clean (src/storage/clean-shutdown-marker.ts). */
  private afterCleanShutdown = false;
  /** open() opened every log: only then may close() mark the stop clean. */
  private openedEveryLog = false;

  private constructor(
    readonly config: BrokerConfig,
    private readonly registry: TopicRegistry,
    private readonly openLog: LogFactory,
    options: BrokerOptions,
  ) {
    this.waitingPollsMax = options.waitingPollsMax ?? limits.waitingPollsMax;
    this.leaderEpoch = options.leaderEpoch;
    this.produceFailures = new ProduceFailureLog(config.logger, config.clock);
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
      // Taken (durably) before any log is opened: from here on a crash must not pass for a clean stop.
      broker.afterCleanShutdown = takeCleanShutdownMarker(config.fs, config.dataDir);
      for (const metadata of registry.list()) {
        broker.topics.set(metadata.name, new TopicState(metadata, await broker.openPartitions(metadata.name, metadata.partitionCount)));
      }
      broker.afterCleanShutdown = false;
      broker.openedEveryLog = true;
    } catch (error) {
      await broker.close().catch(ignore);
      throw error;
    }
    const refused = broker.unhealthyPartitions().length;
    config.logger.info(
      `broker ${config.brokerId}: ${broker.topics.size} topic(s) in ${config.dataDir}` +
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
   * Refused (not_leader) unless the gate admits it.
   */
  async createTopic(name: string, partitionCount: number, principal: Principal = ANONYMOUS): Promise<TopicDescription> {
    this.gate.admit(principal, "create_topic", { kind: "topic", name });
    return this.createTopicFrom("client", name, partitionCount, undefined);
  }

  /**
   * Replication's entry point on a follower: creates the leader's topic as
   * createTopic() does, with the leader's creation time (which tells apart
   * two topics of one name). Passes no gate: the leader admitted it.
   */
  createTopicAsFollower(name: string, partitionCount: number, createdAtMs: number): Promise<TopicDescription> {
    return this.createTopicFrom("replication", name, partitionCount, createdAtMs);
  }

  private async createTopicFrom(origin: AppendOrigin, name: string, partitionCount: number, createdAtMs: number | undefined): Promise<TopicDescription> {
    assert(origin !== "coordinator", "the coordinator creates no topics");
    this.checkAccepting();
    checkTopicName(name);
    checkPartitionCount(partitionCount);
    return this.runAdmin(async () => {
      this.checkAccepting();
      if (this.topics.has(name)) throw topicExists(name);
      let partitions: PartitionSlot[] | undefined;
      let metadata: TopicMetadata;
      try {
        // Directories of an earlier topic of this name whose create or delete was interrupted.
        this.removePartitionDirectories(name);
        partitions = await this.openPartitions(name, partitionCount);
        await this.config.fs.syncDirectory(this.config.dataDir);
        metadata = await this.registry.create(name, partitionCount, createdAtMs ?? this.config.clock.nowMs());
      } catch (error) {
        await this.undoCreate(name, partitions);
        // A failing disk (ENOSPC, EIO, ENAMETOOLONG...) is the client's 503; anything else is a bug.
        if (isGafkaError(error) || systemErrorCode(error) === undefined) throw error;
        throw storageError(`could not create topic '${name}'`, error);
      }
      const topic = new TopicState(metadata, partitions);
      this.topics.set(name, topic);
      this.config.logger.info(`created topic '${name}' with ${partitionCount} partition(s)`);
      for (const listener of this.topicListeners) listener({ kind: "created", topic: name });
      return describeTopicState(topic);
    });
  }

  /** Topics sorted by name. */
  listTopics(): TopicSummary[] {
    return this.registry
      .list()
      .filter((metadata) => this.topics.has(metadata.name))
      .map((metadata) => ({ name: metadata.name, partitionCount: metadata.partitionCount }));
  }

  describeTopic(name: string): TopicDescription {
    return describeTopicState(this.topicOrThrow(name));
  }

  /**
   * Removes the topic from topics.json durably, then closes its logs (waking
   * its long polls) and removes its directories. Once the metadata is written
   * the topic is gone even if the process dies before the directories are.
   * Refused (not_leader) unless the gate admits it.
   */
  async deleteTopic(name: string, principal: Principal = ANONYMOUS): Promise<void> {
    this.gate.admit(principal, "delete_topic", { kind: "topic", name });
    return this.deleteTopicFrom(name);
  }

  /** Replication's entry point on a follower: deletes a topic its leader no longer has. Passes no gate. */
  deleteTopicAsFollower(name: string): Promise<void> {
    return this.deleteTopicFrom(name);
  }

  private async deleteTopicFrom(name: string): Promise<void> {
    this.checkAccepting();
    return this.runAdmin(async () => {
      this.checkAccepting();
      const topic = this.topicOrThrow(name);
      await this.registry.delete(name);
      this.topics.delete(name);
      topic.closing.abort();
      await closePartitions(topic.partitions, this.config.logger);
      this.removePartitionDirectories(name);
      this.config.logger.info(`deleted topic '${name}'`);
      for (const listener of this.topicListeners) listener({ kind: "deleted", topic: name });
    });
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
   * durably; with acks=0 it resolves as soon as the request is checked and the
   * appends are under way, every offset -1 (Kafka's "unknown"). Refused
   * (not_leader) unless the gate admits it; the records acknowledged (all of
   * them under acks=0) are reported to onProduced.
   */
  async produce(topicName: string, records: ProduceRecord[], options: ProduceOptions = {}, principal: Principal = ANONYMOUS): Promise<ProduceResult[]> {
    const acks = options.acks ?? 1;
    this.checkAccepting();
    const term = this.gate.admit(principal, "produce", { kind: "topic", name: topicName });
    const topic = this.topicOrThrow(topicName);
    if (records.length === 0) throw invalidRequest("a produce request needs at least one record");
    if (records.length > limits.recordsPerRequestMax) {
      throw invalidRequest(`a produce request may carry at most ${limits.recordsPerRequestMax} records`);
    }
    const nowMs = this.config.clock.nowMs();
    if (records.length === 1) {
      // The common single-record request: no grouping.
      const slot = this.partitionFor(topic, records[0]!, 0);
      const input = this.toRecordInput(records[0]!, 0, nowMs);
      const appending = this.appendAndSettle(topic, slot, [input], term, acks);
      const bytes = payloadBytesOf(input);
      if (acks === 0) {
        appending.catch((error: unknown) => this.config.logger.debug("an acks=0 produce failed", error));
        this.config.onProduced?.(topicName, slot.index, 1, bytes);
        return [{ partition: slot.index, offset: -1, timestampMs: input.timestampMs }];
      }
      const appended = await appending;
      this.config.onProduced?.(topicName, slot.index, 1, bytes);
      return [{ partition: slot.index, offset: appended.baseOffset, timestampMs: input.timestampMs }];
    }
    const groups = new Map<number, PartitionGroup>();
    for (let i = 0; i < records.length; i++) {
      const slot = this.partitionFor(topic, records[i]!, i);
      let group = groups.get(slot.index);
      if (group === undefined) {
        group = { partition: slot.index, records: [], requestIndexes: [], payloadBytes: 0 };
        groups.set(slot.index, group);
      }
      const input = this.toRecordInput(records[i]!, i, nowMs);
      group.records.push(input);
      group.requestIndexes.push(i);
      group.payloadBytes += payloadBytesOf(input);
    }
    const results = new Array<ProduceResult>(records.length);
    const groupList = [...groups.values()];
    const settling = Promise.allSettled(
      groupList.map(async (group) => {
        const appended = await this.appendAndSettle(topic, topic.partitions[group.partition]!, group.records, term, acks);
        for (let j = 0; j < group.records.length; j++) {
          results[group.requestIndexes[j]!] = {
            partition: group.partition,
            offset: appended.baseOffset + j,
            timestampMs: group.records[j]!.timestampMs,
          };
        }
      }),
    );
    if (acks === 0) {
      void settling.then((outcomes) => {
        for (const outcome of outcomes) if (outcome.status === "rejected") this.config.logger.debug("an acks=0 produce failed", outcome.reason);
      });
      for (const group of groupList) this.producedGroup(topicName, group);
      return unacknowledged(groups, records.length);
    }
    const outcomes = await settling;
    // Partitions that took their records acknowledge them, whatever the others did.
    for (let g = 0; g < groupList.length; g++) if (outcomes[g]!.status === "fulfilled") this.producedGroup(topicName, groupList[g]!);
    if (outcomes.every((outcome) => outcome.status === "fulfilled")) return results;
    for (const outcome of outcomes) {
      if (outcome.status === "rejected" && !isGafkaError(outcome.reason)) throw outcome.reason; // a bug
    }
    if (groups.size === 1) throw (outcomes[0] as PromiseRejectedResult).reason;
    throw outcomesError(topic.metadata.name, groupList, outcomes, results);
  }

  private producedGroup(topic: string, group: PartitionGroup): void {
    this.config.onProduced?.(topic, group.partition, group.records.length, group.payloadBytes);
  }

  /**
   * Binary produce: a client's RecordBatch v2 bytes for one partition
   * (docs/api.md "Record batches"). Every batch is checked before anything is
   * written (src/storage/batch-check.ts); the records get consecutive offsets
   * and are acknowledged as produce() acknowledges (acks, fsync policy, the
   * gate, onProduced). With acks=0 the offsets are -1.
   */
  async produceBatches(
    topicName: string,
    partition: number,
    body: Uint8Array,
    options: ProduceOptions = {},
    principal: Principal = ANONYMOUS,
  ): Promise<BatchProduceResult> {
    const acks = options.acks ?? 1;
    this.checkAccepting();
    const term = this.gate.admit(principal, "produce", { kind: "topic", name: topicName });
    const topic = this.topicOrThrow(topicName);
    const slot = this.partitionFor(topic, { partition, key: null, value: null, headers: [] }, 0);
    const batches = checkClientBatches(body, { messageBytesMax: this.config.messageBytesMax, recordsMax: limits.recordsPerRequestMax });
    const recordCount = recordCountOf(batches);
    let payloadBytes = 0;
    for (const batch of batches) payloadBytes += batch.payloadBytes;
    const appending = this.appendAndSettle(topic, slot, batches, term, acks);
    if (acks === 0) {
      appending.catch((error: unknown) => this.config.logger.debug("an acks=0 produce failed", error));
      this.config.onProduced?.(topicName, slot.index, recordCount, payloadBytes);
      return { partition: slot.index, baseOffset: -1, lastOffset: -1, recordCount, payloadBytes };
    }
    const appended = await appending;
    this.config.onProduced?.(topicName, slot.index, recordCount, payloadBytes);
    return { partition: slot.index, baseOffset: appended.baseOffset, lastOffset: appended.lastOffset, recordCount, payloadBytes };
  }

  /** Appends, then waits for what `acks` demands of replication; failures name the partition. */
  private async appendAndSettle(
    topic: TopicState,
    slot: PartitionSlot,
    records: RecordInput[] | readonly CheckedClientBatch[],
    term: number,
    acks: Acks,
  ): Promise<AppendResult> {
    const appended = await this.appendTracked(topic, slot, records);
    const guard = this.gate.writeGuard;
    if (guard === undefined) return appended;
    try {
      await guard.settle(term, acks, slot.log!, appended.lastOffset + 1);
    } catch (error) {
      throw isGafkaError(error) ? naming(error, topic.metadata.name, slot.index) : error;
    }
    return appended;
  }

  /** Picks the record's partition: explicit, else by key hash, else round-robin. Throws for refused partitions. */
  private partitionFor(topic: TopicState, record: ProduceRecord, requestIndex: number): PartitionSlot {
    const count = topic.partitions.length;
    let partition: number;
    if (record.partition !== undefined) {
      partition = record.partition;
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        throw withRecordIndex(partitionNotFound(topic.metadata.name, partition), requestIndex);
      }
    } else if (record.key !== null) {
      partition = partitionForKey(record.key, count);
    } else {
      partition = topic.roundRobin.next(count);
    }
    const slot = topic.partitions[partition]!;
    if (slot.refusal !== undefined) throw slot.refusal;
    return slot;
  }

  private toRecordInput(record: ProduceRecord, requestIndex: number, nowMs: number): RecordInput {
    const sizeBytes = recordSizeBytes(record);
    if (sizeBytes > this.config.messageBytesMax) {
      throw new GafkaError(
        "message_too_large",
        `record ${requestIndex} is ${sizeBytes} bytes (key + value + headers); the most a record may have is ${this.config.messageBytesMax}`,
        { details: { record: requestIndex, size_bytes: sizeBytes, max_bytes: this.config.messageBytesMax } },
      );
    }
    return { key: record.key, value: record.value, headers: record.headers, timestampMs: record.timestampMs ?? nowMs };
  }

  /**
   * One append of a client's records (origin "client": admitted by the gate,
   * offsets assigned here), counted so that close() can wait for it; a
   * failure is re-thrown naming the partition.
   */
  private async appendTracked(
    topic: TopicState,
    slot: PartitionSlot,
    records: RecordInput[] | readonly CheckedClientBatch[],
  ): Promise<AppendResult> {
    const log = slot.log;
    assert(log !== undefined, "a refused partition is never appended to");
    this.appendsInFlight++;
    try {
      const batches = isBatchList(records);
      const appended = batches ? await log.appendBatches(records) : await log.append(records);
      const expected = batches ? recordCountOf(records) : records.length;
      // The message is built only on failure: this check runs on every produce, and a template string is not free.
      if (appended.lastOffset - appended.baseOffset + 1 !== expected) {
        throw new AssertionError(
          `append of ${expected} records to ${topic.metadata.name}-${slot.index} returned offsets ${appended.baseOffset}..${appended.lastOffset}`,
        );
      }
      return appended;
    } catch (error) {
      if (!isGafkaError(error) && systemErrorCode(error) === undefined) throw error; // a bug
      // A file-system error the log let through (e.g. writing its epoch checkpoint on a full disk) is still the disk's.
      const failure = isGafkaError(error) ? error : storageError("append failed", error);
      const named = naming(failure, topic.metadata.name, slot.index);
      if (failure.code === "storage_full" || failure.code === "storage_failed") {
        this.produceFailures.failed(`${topic.metadata.name}-${slot.index}`, named);
      }
      throw named;
    } finally {
      this.appendsInFlight--;
      if (this.appendsInFlight === 0 && this.onAppendsDrained !== undefined) this.onAppendsDrained();
    }
  }

  // ---------------------------------------------------------------- fetch

  /**
   * A client's consume of one partition: fetch(), with what it delivers
   * reported to onConsumed (records, and key + value bytes, or the batches'
   * bytes for format "batches"). Every door's consume comes this way; the
   * group coordinator reports its members' deliveries through countConsumed().
   */
  async consume(request: FetchRequest): Promise<FetchResult> {
    const result = await this.fetch(request);
    const onConsumed = this.config.onConsumed;
    if (onConsumed !== undefined) {
      if (request.format === "batches") {
        if (result.nextOffset > result.offset) onConsumed(request.topic, request.partition, result.nextOffset - result.offset, result.batches.length);
      } else {
        onConsumed(request.topic, request.partition, result.records.length, recordsPayloadBytes(result.records));
      }
    }
    return result;
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
  async fetch(request: FetchRequest): Promise<FetchResult> {
    this.checkAccepting();
    assert(
      Number.isInteger(request.maxRecords) && request.maxRecords >= 1 && request.maxRecords <= limits.consumeCountMax,
      `fetch maxRecords ${request.maxRecords}`,
    );
    assert(request.waitMs >= 0 && request.waitMs <= limits.fetchWaitMsMax, `fetch waitMs ${request.waitMs}`);
    const topic = this.topicOrThrow(request.topic);
    const log = this.logOrThrow(topic, request.partition);
    const offset =
      request.offset === "earliest" ? log.earliestOffset : request.offset === "latest" ? log.highWatermark : request.offset;
    const first = readAt(log, offset, request);
    if (first.nextOffset > offset || request.waitMs === 0) return first;
    const highWatermark = log.highWatermark;
    if (!(await this.waitOn(topic, log, offset, request.waitMs, request.signal))) {
      return { records: [], batches: NO_BATCHES, offset, nextOffset: offset, highWatermark };
    }
    return readAt(log, offset, request);
  }

  /**
   * Waits, reading nothing, until any of the partitions holds a record at
   * its position (below its high watermark), `waitMs` passes, a signal
   * aborts, a topic among them is deleted or the broker stops; a group long
   * poll waits on all of a member's partitions this way. One wait, counted
   * once against the waiting-polls limit, with one timer and one waiter per
   * partition: nothing per poll for the garbage collector beyond those.
   */
  async waitForAny(positions: readonly PartitionPosition[], waitMs: number, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
    this.checkAccepting();
    assert(waitMs >= 0 && waitMs <= limits.fetchWaitMsMax, `waitForAny waitMs ${waitMs}`);
    const targets = positions.map((position) => {
      const topic = this.topicOrThrow(position.topic);
      return { topic, log: this.logOrThrow(topic, position.partition), offset: position.offset };
    });
    if (waitMs === 0 || targets.some((target) => target.log.highWatermark > target.offset) || signals.some((signal) => signal?.aborted)) return;
    this.admitWaitingPoll();
    this.waitingPolls++;
    try {
      await new Promise<void>((resolve) => {
        const closing = [...new Set(targets.map((target) => target.topic.closing.signal))];
        const registered: { log: PartitionLogApi; waiter: ReadWaiter }[] = [];
        let timer: Timer | undefined;
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          timer?.cancel();
          for (const signal of signals) signal?.removeEventListener("abort", end);
          for (const signal of closing) signal.removeEventListener("abort", end);
          for (const { log, waiter } of registered) log.removeReadWaiter(waiter);
          resolve();
        };
        timer = this.config.clock.setTimeout(end, waitMs);
        for (const signal of [...signals, ...closing]) {
          if (signal?.aborted) return end();
          signal?.addEventListener("abort", end, { once: true });
        }
        for (const { log, offset } of targets) {
          const waiter: ReadWaiter = { offset, wake: end };
          if (!log.addReadWaiter(waiter)) return end();
          registered.push({ log, waiter });
        }
      });
    } finally {
      this.waitingPolls--;
    }
  }

  /**
   * The one long-poll wait: within the waiting-polls limit, until data,
   * the timeout, the signal or the topic's deletion. False when the broker
   * is stopping (nothing more will come); throws when the topic went.
   */
  private async waitOn(topic: TopicState, log: PartitionLogApi, offset: number, waitMs: number, requestSignal: AbortSignal | undefined): Promise<boolean> {
    this.admitWaitingPoll();
    this.waitingPolls++;
    try {
      await log.waitForData(offset, waitMs, requestSignal, topic.closing.signal);
    } finally {
      this.waitingPolls--;
    }
    if (topic.closing.signal.aborted) {
      if (!this.accepting) return false;
      throw topicNotFound(topic.metadata.name);
    }
    return true;
  }

  /** Refuses a long poll beyond the waiting-polls limit. */
  private admitWaitingPoll(): void {
    if (this.waitingPolls >= this.waitingPollsMax) {
      throw new GafkaError(
        "too_many_requests",
        `${this.waitingPolls} long polls are already waiting (the most is ${this.waitingPollsMax}); retry later`,
        { retriable: true },
      );
    }
  }

  /** The offsets a partition holds now: [earliest, highWatermark). */
  partitionBounds(topicName: string, partition: number): { earliest: number; highWatermark: number } {
    const log = this.logOrThrow(this.topicOrThrow(topicName), partition);
    return { earliest: log.earliestOffset, highWatermark: log.highWatermark };
  }

  /** The first offset whose timestamp is >= timestampMs (the high watermark when none is). */
  offsetForTimestamp(topicName: string, partition: number, timestampMs: number): number {
    return this.logOrThrow(this.topicOrThrow(topicName), partition).offsetForTimestamp(timestampMs);
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
    const log = this.logOrThrow(this.topicOrThrow(topicName), partition);
    return log.appendFrames(frames, startsSegment);
  }

  /** Calls `listener` after each topic creation or deletion is durable. */
  onTopicChange(listener: TopicChangeListener): void {
    this.topicListeners.push(listener);
  }

  /** Every partition of every topic, topics by name. */
  partitionEntries(): PartitionEntry[] {
    const entries: PartitionEntry[] = [];
    for (const metadata of this.registry.list()) {
      const topic = this.topics.get(metadata.name);
      if (topic === undefined) continue;
      for (const slot of topic.partitions) {
        entries.push({ topic: metadata.name, partition: slot.index, topicCreatedAtMs: metadata.createdAtMs, log: slot.log });
      }
    }
    return entries;
  }

  /** Topic metadata, sorted by name. */
  topicMetadata(): TopicMetadata[] {
    return this.registry.list().filter((metadata) => this.topics.has(metadata.name));
  }

  // ---------------------------------------------------------------- health and shutdown

  /** Long polls waiting right now (limited by waitingPollsMax). */
  get waitingPollCount(): number {
    return this.waitingPolls;
  }

  /** Partitions not serving: refused as corrupt at open, or offline/corrupt since. */
  unhealthyPartitions(): UnhealthyPartition[] {
    const unhealthy: UnhealthyPartition[] = [];
    for (const topic of this.topics.values()) {
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

  private async closeOnce(): Promise<void> {
    this.accepting = false;
    for (const topic of this.topics.values()) topic.closing.abort();
    await this.adminQueue;
    if (this.appendsInFlight > 0) {
      await new Promise<void>((resolve) => {
        this.onAppendsDrained = resolve;
      });
    }
    const slots = [...this.topics.values()].flatMap((topic) => topic.partitions);
    await closePartitions(slots, this.config.logger);
    // Every log closed and fdatasync'ed (a partition refused at open was never written): the next start may trust the tails.
    if (this.openedEveryLog && slots.every((slot) => slot.log === undefined || slot.log.status === "online")) {
      await writeCleanShutdownMarker(this.config.fs, this.config.dataDir).catch((error: unknown) => {
        this.config.logger.warn(`broker ${this.config.brokerId}: could not write the clean-shutdown marker (the next start recovers as after a crash): ${error}`);
      });
    }
    this.config.logger.info(`broker ${this.config.brokerId}: closed`);
  }

  // ---------------------------------------------------------------- helpers

  private checkAccepting(): void {
    if (!this.accepting) throw new GafkaError("shutting_down", "the broker is shutting down", { retriable: true });
  }

  private topicOrThrow(name: string): TopicState {
    const topic = this.topics.get(name);
    if (topic !== undefined) return topic;
    const problem = topicNameProblem(name);
    if (problem !== undefined) throw invalidRequest(problem, { field: "topic" });
    throw topicNotFound(name);
  }

  private logOrThrow(topic: TopicState, partition: number): PartitionLogApi {
    const slot = Number.isInteger(partition) ? topic.partitions[partition] : undefined;
    if (slot === undefined) throw partitionNotFound(topic.metadata.name, partition);
    if (slot.refusal !== undefined) throw slot.refusal;
    return slot.log!;
  }

  private runAdmin<T>(change: () => Promise<T>): Promise<T> {
    const result = this.adminQueue.then(change);
    this.adminQueue = result.then(ignore, ignore);
    return result;
  }

  /** Opens partitions 0..count-1; on a failure other than corruption closes those opened and throws. */
  private async openPartitions(topic: string, count: number): Promise<PartitionSlot[]> {
    const slots: PartitionSlot[] = [];
    try {
      for (let index = 0; index < count; index++) slots.push(this.openPartition(topic, index));
    } catch (error) {
      await closePartitions(slots, this.config.logger);
      throw error;
    }
    return slots;
  }

  private openPartition(topic: string, index: number): PartitionSlot {
    const { dataDir, fs, clock, logger, fsyncPolicy, segmentBytesMax, onFsync } = this.config;
    const dir = partitionDirectory(dataDir, topic, index);
    fs.mkdirp(dir);
    try {
      const log = this.openLog({
        dir,
        name: `${topic}-${index}`,
        fs,
        clock,
        logger,
        fsyncPolicy,
        segmentBytesMax,
        leaderEpoch: this.leaderEpoch,
        onFsync,
        afterCleanShutdown: this.afterCleanShutdown,
      });
      return { index, log, refusal: undefined };
    } catch (error) {
      if (!isGafkaError(error) || error.code !== "log_corrupt") throw error;
      logger.error(`partition ${topic}-${index} refused: ${error.message}`);
      return { index, log: undefined, refusal: error };
    }
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
    for (const entry of fs.readdir(dataDir)) {
      if (entry.startsWith(prefix) && isDigits(entry, prefix.length)) {
        fs.removeRecursive(partitionDirectory(dataDir, topic, Number(entry.slice(prefix.length))));
      }
    }
  }
}

/** One read of a fetch, in the format it asks for; the high watermark as it is after the read. */
function readAt(log: PartitionLogApi, offset: number, request: FetchRequest): FetchResult {
  if (request.format === "batches") {
    const read = log.readBatches(offset, request.maxRecords, limits.consumeBytesMax);
    return { records: [], batches: read.batches, offset, nextOffset: read.nextOffset, highWatermark: log.highWatermark };
  }
  const read = log.read(offset, request.maxRecords, limits.consumeBytesMax);
  return { records: read.records, batches: NO_BATCHES, offset, nextOffset: read.nextOffset, highWatermark: log.highWatermark };
}

function openPartitionLog(options: PartitionLogOptions): PartitionLogApi {
  return PartitionLog.open(options);
}

/** Key + value bytes of a record: what the traffic hooks count (headers and framing not). */
function payloadBytesOf(record: { key: Uint8Array | null; value: Uint8Array | null }): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0);
}

function recordsPayloadBytes(records: readonly StoredRecord[]): number {
  let bytes = 0;
  for (let index = 0; index < records.length; index++) bytes += payloadBytesOf(records[index]!);
  return bytes;
}

/** Key + value + header keys (UTF-8) and values: what --max-message-bytes limits. */
function recordSizeBytes(record: ProduceRecord): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) size += Buffer.byteLength(header.key, "utf8") + (header.value?.length ?? 0);
  return size;
}

/** The same failure, its message and details naming the topic and partition it happened on. */
function naming(error: GafkaError, topic: string, partition: number): GafkaError {
  const label = `${topic}-${partition}`;
  const message = error.message.includes(label) ? error.message : `partition ${label}: ${error.message}`;
  return new GafkaError(error.code, message, {
    retriable: error.retriable,
    cause: error,
    details: { ...error.details, topic, partition },
  });
}

/**
 * The failure of a produce spanning partitions, some of which may have
 * stored their records: the first failure (in request order) with every
 * record's own outcome in `details.results`, in the wire's names. Retriable
 * when every failure is; retrying only the records with an error duplicates
 * nothing.
 */
function outcomesError(
  topic: string,
  groups: PartitionGroup[],
  outcomes: PromiseSettledResult<void>[],
  results: ProduceResult[],
): GafkaError {
  const wire = new Array<Record<string, unknown>>(results.length);
  const failures: GafkaError[] = [];
  const storedPartitions: number[] = [];
  const storedIndexes: number[] = [];
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const outcome = outcomes[g]!;
    if (outcome.status === "fulfilled") {
      storedPartitions.push(group.partition);
      storedIndexes.push(...group.requestIndexes);
      for (const index of group.requestIndexes) {
        const result = results[index]!;
        wire[index] = { partition: result.partition, offset: result.offset, timestamp: result.timestampMs };
      }
      continue;
    }
    const failure = outcome.reason as GafkaError;
    failures.push(failure);
    const error = { code: failure.code, message: failure.message, retriable: failure.retriable };
    for (const index of group.requestIndexes) wire[index] = { partition: group.partition, error };
  }
  const first = failures[0]!;
  const storedRecords = storedIndexes.length;
  const stored =
    storedRecords === 0
      ? `no record of this request was stored (${failures.length} partition${failures.length > 1 ? "s" : ""} failed; see error.results)`
      : `this request's records for partition${storedPartitions.length > 1 ? "s" : ""} ${storedPartitions.join(", ")} ` +
        `(${storedRecords} of ${results.length}) were stored and acknowledged: retry only the records whose entry in error.results has an error`;
  return new ProduceOutcomesError(first.code, `${first.message}. ${stored}`, storedIndexes.sort((a, b) => a - b), {
    retriable: failures.every((failure) => failure.retriable),
    cause: first,
    details: { ...first.details, topic, results: wire },
  });
}

/** Where acks=0 records were sent: partitions known, offsets not (-1). */
function unacknowledged(groups: Map<number, PartitionGroup>, count: number): ProduceResult[] {
  const results = new Array<ProduceResult>(count);
  for (const group of groups.values()) {
    for (let j = 0; j < group.records.length; j++) {
      results[group.requestIndexes[j]!] = { partition: group.partition, offset: -1, timestampMs: group.records[j]!.timestampMs };
    }
  }
  return results;
}

function withRecordIndex(error: GafkaError, requestIndex: number): GafkaError {
  return new GafkaError(error.code, error.message, {
    retriable: error.retriable,
    cause: error.cause,
    details: { ...error.details, record: requestIndex },
  });
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

/** Binary produce hands the log checked batches, JSON produce records; a batch has `bytes`. */
function isBatchList(items: RecordInput[] | readonly CheckedClientBatch[]): items is readonly CheckedClientBatch[] {
  return items.length > 0 && "recordCount" in items[0]!;
}

function recordCountOf(batches: readonly CheckedClientBatch[]): number {
  let count = 0;
  for (const batch of batches) count += batch.recordCount;
  return count;
}

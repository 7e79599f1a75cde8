/**
 * The produce path: a client's records (JSON produce) or RecordBatch v2
 * bytes (binary produce) checked, given a partition, appended to the
 * partitions' logs and acknowledged as `acks` demands, with the appends in
 * flight counted so that close() can wait for them.
 */

import { AssertionError, assert } from "../core/assert.ts";
import { GafkaError, invalidRequest, isGafkaError, partitionNotFound, storageError, systemErrorCode } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { partitionForKey } from "../protocol/partitioner.ts";
import type { RecordHeader, RecordInput } from "../protocol/record.ts";
import { type CheckedClientBatch, checkClientBatches } from "../storage/batch-check.ts";
import type { AppendResult } from "../storage/log-types.ts";
import type { Acks } from "./acks.ts";
import type { BrokerState } from "./broker-state.ts";
import type { BrokerConfig } from "./config.ts";
import { ProduceFailureLog } from "./produce-failure-log.ts";
import { naming, outcomesError, type PartitionGroup, type ProduceResult, unacknowledged, withRecordIndex } from "./produce-outcomes.ts";
import type { PartitionSlot, TopicState } from "./topic-state.ts";
import { payloadBytesOf } from "./traffic-bytes.ts";
import type { Principal, WriteGate } from "./write-gate.ts";

export interface ProduceOptions {
  /** Default 1. */
  acks?: Acks;
}

/** A record to produce: the broker picks its partition unless `partition` is given, and stamps it when `timestampMs` is absent. */
export interface ProduceRecord {
  partition?: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  timestampMs?: number;
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

export class ProducePipeline {
  private appendsInFlight = 0;
  private onAppendsDrained: (() => void) | undefined;
  private readonly produceFailures: ProduceFailureLog;

  constructor(
    private readonly config: BrokerConfig,
    private readonly state: BrokerState,
    private readonly gate: WriteGate,
  ) {
    this.produceFailures = new ProduceFailureLog(config.logger, config.clock);
  }

  /** Resolves once no append is in flight (close() waits for this after refusing new requests). */
  drained(): Promise<void> {
    if (this.appendsInFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.onAppendsDrained = resolve;
    });
  }

  /** See Broker.produce: where each record landed, in request order. */
  async produce(topicName: string, records: ProduceRecord[], options: ProduceOptions, principal: Principal): Promise<ProduceResult[]> {
    const acks = options.acks ?? 1;
    this.state.checkAccepting();
    const term = this.gate.admit(principal, "produce", { kind: "topic", name: topicName });
    const topic = this.state.topicOrThrow(topicName);
    if (records.length === 0) throw invalidRequest("a produce request needs at least one record");
    if (records.length > limits.recordsPerRequestMax) {
      throw invalidRequest(`a produce request may carry at most ${limits.recordsPerRequestMax} records`);
    }
    if (topic.config.cleanupPolicy.compact) requireKeys(topicName, records.findIndex((record) => record.key === null), "record");
    const nowMs = this.config.clock.nowMs();
    if (records.length === 1) {
      // The common single-record request: no grouping.
      const slot = this.partitionFor(topic, records[0]!, 0);
      const input = toRecordInput(records[0]!, 0, nowMs, topic.config.maxMessageBytes);
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
      const input = toRecordInput(records[i]!, i, nowMs, topic.config.maxMessageBytes);
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

  /** See Broker.produceBatches: a client's RecordBatch v2 bytes for one partition. */
  async produceBatches(
    topicName: string,
    partition: number,
    body: Uint8Array,
    options: ProduceOptions,
    principal: Principal,
  ): Promise<BatchProduceResult> {
    const acks = options.acks ?? 1;
    this.state.checkAccepting();
    const term = this.gate.admit(principal, "produce", { kind: "topic", name: topicName });
    const topic = this.state.topicOrThrow(topicName);
    const slot = this.partitionFor(topic, { partition, key: null, value: null, headers: [] }, 0);
    const batches = checkClientBatches(body, { messageBytesMax: topic.config.maxMessageBytes, recordsMax: limits.recordsPerRequestMax });
    if (topic.config.cleanupPolicy.compact) {
      const keyless = batches.findIndex((batch) => batch.firstKeylessRecord >= 0);
      if (keyless >= 0) requireKeys(topicName, batches[keyless]!.firstKeylessRecord, `record batch ${keyless}, record`);
    }
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
    const guard = this.gate.writeGuard;
    try {
      // Refused before the append (too few replicas in sync for acks=all), a write leaves nothing to duplicate on retry.
      guard?.checkAppend(acks, slot.log!, topic.config.minInsyncReplicas);
    } catch (error) {
      throw isGafkaError(error) ? naming(error, topic.metadata.name, slot.index) : error;
    }
    const appended = await this.appendTracked(topic, slot, records);
    if (guard === undefined) return appended;
    try {
      await guard.settle(term, acks, slot.log!, appended.lastOffset + 1, topic.config.minInsyncReplicas);
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
}

/** The record as the log takes it; message_too_large past the topic's max.message.bytes (`messageBytesMax`). */
function toRecordInput(record: ProduceRecord, requestIndex: number, nowMs: number, messageBytesMax: number): RecordInput {
  const sizeBytes = recordSizeBytes(record);
  if (sizeBytes > messageBytesMax) {
    throw new GafkaError(
      "message_too_large",
      `record ${requestIndex} is ${sizeBytes} bytes (key + value + headers); the most a record of this topic may have is ${messageBytesMax} (max.message.bytes)`,
      { details: { record: requestIndex, size_bytes: sizeBytes, max_bytes: messageBytesMax } },
    );
  }
  return { key: record.key, value: record.value, headers: record.headers, timestampMs: record.timestampMs ?? nowMs };
}

/** Key + value + header keys (UTF-8) and values: what max.message.bytes limits. */
function recordSizeBytes(record: ProduceRecord): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) size += Buffer.byteLength(header.key, "utf8") + (header.value?.length ?? 0);
  return size;
}

/** Binary produce hands the log checked batches, JSON produce records; a batch has `bytes`. */
function isBatchList(items: RecordInput[] | readonly CheckedClientBatch[]): items is readonly CheckedClientBatch[] {
  return items.length > 0 && "recordCount" in items[0]!;
}

function recordCountOf(batches: readonly CheckedClientBatch[]): number {
  let count = 0;
  for (const batch of batches) count += batch.recordCount;
  return count;
}

/**
 * Kafka's rule: a compacted topic takes only keyed records (compaction keeps
 * a value per key; a keyless record could never be superseded). 400
 * invalid_request naming the record, before anything is appended.
 */
function requireKeys(topicName: string, keylessIndex: number, what: string): void {
  if (keylessIndex < 0) return;
  throw invalidRequest(
    `${what} ${keylessIndex} has no key: topic '${topicName}' is compacted (cleanup.policy compact), and a compacted topic takes only records with a key`,
    { field: "key" },
  );
}

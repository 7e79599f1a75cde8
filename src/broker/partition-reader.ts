/**
 * The read path: fetches of one partition, decoded or as stored batches,
 * long polls that wait for a record to arrive (within the waiting-polls
 * limit), and the group coordinator's wait on many partitions at once.
 */

import { assert } from "../core/assert.ts";
import type { Timer } from "../core/clock.ts";
import { GafkaError, topicNotFound } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { StoredRecord } from "../protocol/record.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import type { ReadWaiter } from "../storage/read-waiters.ts";
import type { BrokerState } from "./broker-state.ts";
import type { BrokerConfig } from "./config.ts";
import type { TopicState } from "./topic-state.ts";
import { recordsPayloadBytes } from "./traffic-bytes.ts";

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
  /**
   * Format "batches": bytes of batches to read at most, whole batches only
   * (limits.consumeBytesMax, also the default, bounds it). The first batch
   * is delivered even past it, so a reader always progresses, unless
   * `firstBatchPastMaxBytes` is false (a Kafka fetch's later partitions).
   */
  maxBytes?: number;
  firstBatchPastMaxBytes?: boolean;
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

export class PartitionReader {
  private waitingPolls = 0;

  constructor(
    private readonly config: BrokerConfig,
    private readonly state: BrokerState,
    private readonly waitingPollsMax: number,
  ) {}

  /** Long polls waiting right now (limited by waitingPollsMax). */
  get waitingPollCount(): number {
    return this.waitingPolls;
  }

  /** See Broker.consume: fetch(), with what it delivers reported to onConsumed. */
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

  /** See Broker.fetch: records at or after the offset, after a long poll when there are none yet. */
  async fetch(request: FetchRequest): Promise<FetchResult> {
    this.state.checkAccepting();
    assert(
      Number.isInteger(request.maxRecords) && request.maxRecords >= 1 && request.maxRecords <= limits.consumeCountMax,
      `fetch maxRecords ${request.maxRecords}`,
    );
    assert(request.waitMs >= 0 && request.waitMs <= limits.fetchWaitMsMax, `fetch waitMs ${request.waitMs}`);
    const topic = this.state.topicOrThrow(request.topic);
    const log = this.state.logOrThrow(topic, request.partition);
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

  /** See Broker.waitForAny: one wait on many partitions, counted once against the waiting-polls limit. */
  async waitForAny(positions: readonly PartitionPosition[], waitMs: number, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
    this.state.checkAccepting();
    assert(waitMs >= 0 && waitMs <= limits.fetchWaitMsMax, `waitForAny waitMs ${waitMs}`);
    const targets = positions.map((position) => {
      const topic = this.state.topicOrThrow(position.topic);
      return { topic, log: this.state.logOrThrow(topic, position.partition), offset: position.offset };
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
      if (!this.state.accepting) return false;
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
}

/** One read of a fetch, in the format it asks for; the high watermark as it is after the read. */
function readAt(log: PartitionLogApi, offset: number, request: FetchRequest): FetchResult {
  if (request.format === "batches") {
    const maxBytes = Math.min(request.maxBytes ?? limits.consumeBytesMax, limits.consumeBytesMax);
    const read = log.readBatches(offset, request.maxRecords, maxBytes, request.firstBatchPastMaxBytes ?? true);
    return { records: [], batches: read.batches, offset, nextOffset: read.nextOffset, highWatermark: log.highWatermark };
  }
  const read = log.read(offset, request.maxRecords, limits.consumeBytesMax);
  return { records: read.records, batches: NO_BATCHES, offset, nextOffset: read.nextOffset, highWatermark: log.highWatermark };
}

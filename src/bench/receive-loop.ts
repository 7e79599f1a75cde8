import { type ClientAuth, type ClientTls, type ConsumerRecord, GroupConsumer, type RecordFormat } from "../client/index.ts";
import { partitionKey } from "../client/topic-partition.ts";
import { LatencyRecorder } from "./latency-recorder.ts";

/** Longest a benchmark poll waits for records, so a stopped run notices within this. */
export const POLL_WAIT_MS = 500;
const ERROR_BACKOFF_MS = 100;

/** What the consumers of one run received; shared by all of them. */
export class ReceiveStats {
  /** Records counted, each once. */
  received = 0;
  /** Records handed out again (after a rebalance), not counted in `received`. */
  duplicates = 0;
  /** UTF-8 bytes of the counted records' keys and values. */
  bytes = 0;
  errors = 0;
  firstError: unknown = undefined;
  /** Round trip of each consume call that brought records. */
  readonly pollLatency = new LatencyRecorder();
  /** performance.now() of the last counted record. */
  lastReceivedMs = 0;
  /** Per partition, the offset after the last record counted. */
  private readonly nextOffsets = new Map<string, { next: number }>();
  /** The partition of the last record counted: records come in runs of one partition. */
  private lastTopic: string | undefined;
  private lastPartition = -1;
  private lastPosition = { next: 0 };

  /**
   * Counts the record unless it was counted before. Within a partition
   * records arrive in offset order, so one offset per partition tells a
   * redelivery from a new record.
   */
  count(record: ConsumerRecord): boolean {
    if (record.topic !== this.lastTopic || record.partition !== this.lastPartition) {
      const key = partitionKey(record);
      let position = this.nextOffsets.get(key);
      if (position === undefined) {
        position = { next: 0 };
        this.nextOffsets.set(key, position);
      }
      this.lastTopic = record.topic;
      this.lastPartition = record.partition;
      this.lastPosition = position;
    }
    const position = this.lastPosition;
    if (record.offset < position.next) {
      this.duplicates++;
      return false;
    }
    position.next = record.offset + 1;
    this.received++;
    this.bytes += (record.value === null ? 0 : Buffer.byteLength(record.value)) + (record.key === null ? 0 : Buffer.byteLength(record.key));
    this.lastReceivedMs = performance.now();
    return true;
  }
}

export interface ReceiveLoopOptions {
  consumer: GroupConsumer;
  stats: ReceiveStats;
  /** Records one poll may bring: at most this, or what is still wanted. */
  maxPollRecords: () => number;
  /** Whether to poll again; the loop also ends when the consumer is closed. */
  keepGoing: () => boolean;
  /** Handles each record of a poll, in order. */
  onRecord: (record: ConsumerRecord) => void;
}

/**
 * Long-polls one group member until told to stop. A failed poll is counted
 * and retried after a short pause: a run reports its errors at the end.
 */
export async function receiveLoop(options: ReceiveLoopOptions): Promise<void> {
  const { consumer, stats } = options;
  while (!consumer.closed && options.keepGoing()) {
    const askedAtMs = performance.now();
    let records: ConsumerRecord[];
    try {
      records = await consumer.poll({ maxRecords: options.maxPollRecords(), waitMs: POLL_WAIT_MS });
    } catch (error) {
      if (consumer.closed) return;
      stats.errors++;
      stats.firstError ??= error;
      await Bun.sleep(ERROR_BACKOFF_MS);
      continue;
    }
    if (records.length === 0) continue;
    stats.pollLatency.record(performance.now() - askedAtMs);
    for (const record of records) options.onRecord(record);
  }
}

/** The members of a bench's consumer group: `bench-0`, `bench-1`, … subscribed to the topic. */
export function benchGroupMembers(
  options: { broker: string; tls?: ClientTls; auth?: ClientAuth; topic: string; consumers: number; maxPollRecords: number; format: RecordFormat; autoCommitIntervalMs?: number },
  groupId: string,
): GroupConsumer[] {
  return Array.from(
    { length: options.consumers },
    (_, index) =>
      new GroupConsumer({
        broker: options.broker,
        tls: options.tls, auth: options.auth,
        groupId,
        consumerId: `bench-${index}`,
        topics: options.topic,
        maxRecords: options.maxPollRecords,
        format: options.format,
        autoCommitIntervalMs: options.autoCommitIntervalMs,
      }),
  );
}

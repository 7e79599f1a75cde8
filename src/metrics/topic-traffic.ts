import type { Counter, CounterChild } from "./counter.ts";

/** What a produced or consumed record is measured by: the bytes of its key and value. */
export interface PayloadRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

/** A record read through a consumer group, which may span topics. */
export interface TopicPayloadRecord extends PayloadRecord {
  readonly topic: string;
}

interface TopicCounters {
  records: CounterChild;
  bytes: CounterChild;
}

/**
 * Records and payload bytes (key + value; headers and framing not counted)
 * per topic, in one direction (produced or consumed). A topic's series are
 * made on its first record; only topics that exist get that far, so the
 * label set stays bounded by the topics the broker has had.
 */
export class TopicTraffic {
  private readonly byTopic = new Map<string, TopicCounters>();
  private lastTopic: string | undefined;
  private lastCounters: TopicCounters | undefined;

  constructor(
    private readonly records: Counter,
    private readonly bytes: Counter,
  ) {}

  /** Counts records of one topic. */
  count(topic: string, records: readonly PayloadRecord[]): void {
    const counters = this.countersOf(topic);
    counters.records.inc(records.length);
    counters.bytes.inc(payloadBytes(records));
  }

  /** Counts records of one topic given as totals (record batches, whose records are never decoded into objects). */
  countTotals(topic: string, records: number, payloadBytes: number): void {
    const counters = this.countersOf(topic);
    counters.records.inc(records);
    counters.bytes.inc(payloadBytes);
  }

  /** Counts records that each name their topic (a group consume). */
  countEach(records: readonly TopicPayloadRecord[]): void {
    let topic: string | undefined;
    let counters: TopicCounters | undefined;
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      if (record.topic !== topic) {
        topic = record.topic;
        counters = this.countersOf(topic);
      }
      counters!.records.inc();
      counters!.bytes.inc((record.key?.length ?? 0) + (record.value?.length ?? 0));
    }
  }

  private countersOf(topic: string): TopicCounters {
    // Traffic usually comes in runs of one topic: the last one answers without a map lookup.
    if (topic === this.lastTopic) return this.lastCounters!;
    let counters = this.byTopic.get(topic);
    if (counters === undefined) {
      counters = { records: this.records.labels(topic), bytes: this.bytes.labels(topic) };
      this.byTopic.set(topic, counters);
    }
    this.lastTopic = topic;
    this.lastCounters = counters;
    return counters;
  }
}

function payloadBytes(records: readonly PayloadRecord[]): number {
  let bytes = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
  }
  return bytes;
}

import type { Counter, CounterChild } from "./counter.ts";

interface TopicCounters {
  records: CounterChild;
  bytes: CounterChild;
}

/**
 * Records and bytes per topic, in one direction (produced or consumed),
 * counted from the broker's traffic hooks (BrokerConfig.onProduced and
 * onConsumed), so every door counts alike. A topic's series are made on its
 * first count; only topics that exist get that far, so the label set stays
 * bounded by the topics the broker has had.
 */
export class TopicTraffic {
  private readonly byTopic = new Map<string, TopicCounters>();
  private lastTopic: string | undefined;
  private lastCounters: TopicCounters | undefined;

  constructor(
    private readonly records: Counter,
    private readonly bytes: Counter,
  ) {}

  /** Counts records of one topic, given as totals. */
  countTotals(topic: string, records: number, bytes: number): void {
    const counters = this.countersOf(topic);
    counters.records.inc(records);
    counters.bytes.inc(bytes);
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

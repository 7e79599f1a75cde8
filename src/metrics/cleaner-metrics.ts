import type { LogCleaner } from "../broker/log-cleaner.ts";
import type { CompactionOutcome } from "../storage/log-compactor.ts";
import type { Counter } from "./counter.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * The log cleaner's series (docs/operations.md "Compaction"): passes and
 * bytes, counted as passes end (observePass is the cleaner's onPass), and
 * per compacted partition its dirty ratio and lag, read when a scrape asks.
 */
export class CleanerMetrics {
  private readonly runs: Counter;
  private readonly bytesRead: Counter;
  private readonly bytesRemoved: Counter;

  constructor(private readonly registry: MetricsRegistry) {
    const labelNames = ["topic", "partition"];
    this.runs = registry.counter({ name: "gafka_log_cleaner_runs_total", help: "Compaction passes completed.", labelNames });
    this.bytesRead = registry.counter({ name: "gafka_log_cleaner_bytes_read_total", help: "Segment bytes the log cleaner read.", labelNames });
    this.bytesRemoved = registry.counter({
      name: "gafka_log_cleaner_bytes_removed_total",
      help: "Bytes compaction removed from segments (superseded records and expired tombstones).",
      labelNames,
    });
  }

  readonly observePass = (topic: string, partition: number, outcome: CompactionOutcome): void => {
    const labels = [topic, String(partition)];
    this.runs.labels(...labels).inc();
    this.bytesRead.labels(...labels).inc(outcome.bytesRead);
    this.bytesRemoved.labels(...labels).inc(outcome.bytesRemoved);
  };

  /** Dirty ratio and lag of every compacted partition, from the cleaner at each scrape. */
  watch(cleaner: Pick<LogCleaner, "statuses">): void {
    const labelNames = ["topic", "partition"];
    const dirtyRatio = this.registry.gauge({
      name: "gafka_log_cleaner_dirty_ratio",
      help: "Share of a compacted partition's sealed bytes not yet compacted.",
      labelNames,
    });
    const lag = this.registry.gauge({
      name: "gafka_log_cleaner_lag_seconds",
      help: "How long a compacted partition's oldest uncompacted sealed bytes have waited for the cleaner.",
      labelNames,
    });
    this.registry.onCollect(() => {
      dirtyRatio.reset();
      lag.reset();
      for (const status of cleaner.statuses()) {
        const labels = [status.topic, String(status.partition)];
        dirtyRatio.labels(...labels).set(status.dirtyRatio);
        lag.labels(...labels).set(status.lagMs / 1000);
      }
    });
  }
}

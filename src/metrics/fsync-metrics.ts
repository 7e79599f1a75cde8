import type { HistogramChild } from "./histogram.ts";
import type { MetricsRegistry } from "./registry.ts";

/** fdatasync latency: from 50 µs (a small write on a fast disk) to seconds (a stalled device). */
const FSYNC_SECONDS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Records one fdatasync made durable: 1 is no group commit at all; a batched produce reaches thousands. */
const RECORDS_PER_FSYNC_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000];

/**
 * The log's fdatasyncs, broker-wide: how long each took (its `_count` is the
 * number of fsyncs) and how many records each made durable, which is how well
 * group commit shares one fsync among concurrent produces. Fed by the
 * partition logs' onFsync hook (src/storage/partition-log.ts) through
 * BrokerConfig.onFsync.
 */
export class FsyncMetrics {
  private readonly duration: HistogramChild;
  private readonly records: HistogramChild;

  constructor(registry: MetricsRegistry) {
    this.duration = registry
      .histogram({
        name: "gafka_log_fsync_duration_seconds",
        help: "Time of each fdatasync of appended records (group commit or the interval sync); _count is the number of fsyncs.",
        buckets: FSYNC_SECONDS_BUCKETS,
      })
      .labels();
    this.records = registry
      .histogram({
        name: "gafka_log_records_per_fsync",
        help: "Records made durable by each fdatasync (group-commit effectiveness).",
        buckets: RECORDS_PER_FSYNC_BUCKETS,
      })
      .labels();
  }

  /** The hook a partition log calls after each good fdatasync (PartitionLogOptions.onFsync). */
  readonly observe = (durationSeconds: number, records: number, _bytes: number): void => {
    this.duration.observe(durationSeconds);
    this.records.observe(records);
  };
}

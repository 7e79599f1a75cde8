import type { RetentionDeleted } from "../broker/retention-task.ts";
import type { MetricsRegistry } from "./registry.ts";

/** What delete retention reports (src/broker/retention-task.ts). */
export interface RetentionSource {
  deletedTotals(): RetentionDeleted[];
}

/**
 * Segments and bytes delete retention removed, per partition, read from the
 * retention task when a scrape asks: each counter grows by what the task
 * counted since the last scrape (nothing is counted on the deletion path).
 */
export function watchRetention(registry: MetricsRegistry, source: RetentionSource): void {
  const labelNames = ["topic", "partition"];
  const segments = registry.counter({
    name: "gafka_retention_deleted_segments_total",
    help: "Segments delete retention removed from a partition (retention.ms, retention.bytes).",
    labelNames,
  });
  const bytes = registry.counter({
    name: "gafka_retention_deleted_bytes_total",
    help: "Bytes of the segments delete retention removed from a partition.",
    labelNames,
  });
  const seen = new Map<string, { segments: number; bytes: number }>();
  registry.onCollect(() => {
    for (const total of source.deletedTotals()) {
      const labels = [total.topic, String(total.partition)];
      const key = labels.join("\u0000");
      const before = seen.get(key) ?? { segments: 0, bytes: 0 };
      segments.labels(...labels).inc(total.segments - before.segments);
      bytes.labels(...labels).inc(total.bytes - before.bytes);
      seen.set(key, { segments: total.segments, bytes: total.bytes });
    }
  });
}

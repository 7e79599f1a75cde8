import type { Broker, TopicDescription } from "../broker/broker.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * Per-partition offsets and sizes, and the long polls waiting, read from
 * the broker when a scrape asks (nothing is mirrored on the append path).
 */
export function watchLogs(registry: MetricsRegistry, broker: Broker): void {
  const partitionLabels = ["topic", "partition"];
  const startOffset = registry.gauge({
    name: "gafka_log_start_offset",
    help: "A partition's log start offset: the first offset a consumer may read (retention and DeleteRecords move it).",
    labelNames: partitionLabels,
  });
  const endOffset = registry.gauge({
    name: "gafka_log_end_offset",
    help: "Offset the next record appended to a partition gets, as consumers see it (its high watermark).",
    labelNames: partitionLabels,
  });
  const size = registry.gauge({
    name: "gafka_log_size_bytes",
    help: "Bytes of a partition's segment files.",
    labelNames: partitionLabels,
  });
  const offline = registry.gauge({
    name: "gafka_partitions_offline",
    help: "Partitions not serving: offline, or refused as corrupt.",
  });
  const waitingPolls = registry.gauge({
    name: "gafka_long_polls_waiting",
    help: "Consume requests waiting for records now (long polls).",
  });
  registry.onCollect(() => {
    startOffset.reset();
    endOffset.reset();
    size.reset();
    for (const topic of broker.listTopics()) {
      let description: TopicDescription;
      try {
        description = broker.describeTopic(topic.name);
      } catch {
        continue; // deleted between the list and now
      }
      for (const partition of description.partitions) {
        const labels = [topic.name, String(partition.partition)];
        if (partition.earliestOffset !== null) startOffset.labels(...labels).set(partition.earliestOffset);
        if (partition.nextOffset !== null) endOffset.labels(...labels).set(partition.nextOffset);
        if (partition.sizeBytes !== null) size.labels(...labels).set(partition.sizeBytes);
      }
    }
    offline.set(broker.unhealthyPartitions().length);
    waitingPolls.set(broker.waitingPollCount);
  });
}

import type { GroupCoordinator, GroupStatus } from "../groups/coordinator.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * Consumer-group positions and lag, computed by the broker at scrape time
 * from the coordinator's status (the same figures as
 * GET /api/v1/consumer-groups/{group}/status), so no outside exporter is needed.
 */
export function watchGroups(registry: MetricsRegistry, groups: GroupCoordinator): void {
  const partitionLabels = ["group", "topic", "partition"];
  const committed = registry.gauge({
    name: "gafka_group_committed_offset",
    help: "Next offset a consumer group will consume from a partition (its committed offset).",
    labelNames: partitionLabels,
  });
  const lag = registry.gauge({
    name: "gafka_group_lag",
    help: "Records of a partition a consumer group has not committed yet: log end offset minus committed offset.",
    labelNames: partitionLabels,
  });
  const members = registry.gauge({
    name: "gafka_group_members",
    help: "Live members of a consumer group.",
    labelNames: ["group"],
  });
  registry.onCollect(() => {
    committed.reset();
    lag.reset();
    members.reset();
    for (const summary of groups.list()) {
      let status: GroupStatus;
      try {
        status = groups.status(summary.groupId);
      } catch {
        continue; // deleted between the list and now
      }
      members.labels(summary.groupId).set(summary.members);
      for (const partition of status.partitions) {
        const labels = [summary.groupId, partition.topic, String(partition.partition)];
        if (partition.committedOffset !== null) committed.labels(...labels).set(partition.committedOffset);
        if (partition.lag !== null) lag.labels(...labels).set(partition.lag);
      }
    }
  });
}

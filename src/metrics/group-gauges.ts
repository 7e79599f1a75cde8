import type { GroupCoordinator } from "../groups/coordinator.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * Consumer-group positions and lag, computed by the broker at scrape time
 * from the coordinator's status (the same figures as
 * GET /api/v1/consumer-groups/{group}/status), so no outside exporter is needed.
 *
 * By default a scrape carries a few series per group (members, total lag,
 * partitions with a position): a broker with thousands of groups on
 * many-partition topics would otherwise answer tens of megabytes per scrape
 * (3,000 groups on a 100-partition topic: 600,000 series, 22 MB).
 * `groupPartitionSeries` (`--metrics-group-partitions`) adds the per
 * group-partition committed offset and lag.
 */
export function watchGroups(registry: MetricsRegistry, groups: GroupCoordinator, options: { groupPartitionSeries: boolean }): void {
  const members = registry.gauge({
    name: "gafka_group_members",
    help: "Live members of a consumer group.",
    labelNames: ["group"],
  });
  const lagTotal = registry.gauge({
    name: "gafka_group_lag_total",
    help: "Records a consumer group has not committed yet, summed over its partitions (gafka_group_lag's sum).",
    labelNames: ["group"],
  });
  const partitionCount = registry.gauge({
    name: "gafka_group_partitions",
    help: "Partitions a consumer group has a committed offset on or is assigned.",
    labelNames: ["group"],
  });
  const partitionLabels = ["group", "topic", "partition"];
  const committed = options.groupPartitionSeries
    ? registry.gauge({
        name: "gafka_group_committed_offset",
        help: "Next offset a consumer group will consume from a partition (its committed offset); with --metrics-group-partitions.",
        labelNames: partitionLabels,
      })
    : undefined;
  const lag = options.groupPartitionSeries
    ? registry.gauge({
        name: "gafka_group_lag",
        help: "Records of a partition a consumer group has not committed yet: log end offset minus committed offset; with --metrics-group-partitions.",
        labelNames: partitionLabels,
      })
    : undefined;
  registry.onCollect(() => {
    members.reset();
    lagTotal.reset();
    partitionCount.reset();
    committed?.reset();
    lag?.reset();
    if (committed === undefined || lag === undefined) {
      // The aggregates alone: no status per group-partition is built, which was most of a scrape at 1,000 groups of 100 partitions.
      for (const summary of groups.summaryAll()) {
        members.labels(summary.groupId).set(summary.members);
        partitionCount.labels(summary.groupId).set(summary.partitions);
        lagTotal.labels(summary.groupId).set(summary.lag);
      }
      return;
    }
    for (const status of groups.statusAll()) {
      const group = status.groupId;
      members.labels(group).set(status.members.length);
      partitionCount.labels(group).set(status.partitions.length);
      let groupLag = 0;
      for (const partition of status.partitions) {
        if (partition.lag !== null) groupLag += partition.lag;
        const labels = [group, partition.topic, String(partition.partition)];
        if (partition.committedOffset !== null) committed.labels(...labels).set(partition.committedOffset);
        if (partition.lag !== null) lag.labels(...labels).set(partition.lag);
      }
      lagTotal.labels(group).set(groupLag);
    }
  });
}

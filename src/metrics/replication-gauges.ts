import type { MetricsRegistry } from "./registry.ts";

/**
 * What the replication gauges read: the shape of ReplicaManager.status()
 * they need (src/replication/replica-manager.ts), so a test can hand in a
 * fake status.
 */
export interface ReplicationStatusSource {
  status(): {
    leaderEpoch: number;
    followers: readonly {
      id: number;
      connected: boolean;
      partitions: readonly { topic: string; partition: number; lag: number; lagMs: number | null; inSync: boolean }[];
    }[];
    partitions: readonly { topic: string; partition: number; highWatermark: number | null }[];
    /** The leader's lease; null on a follower. */
    lease?: { held: boolean } | null;
  };
}

/**
 * Replication lag per follower and partition, the in-sync set and every
 * partition's high watermark, read from the replica manager's status at
 * scrape time (the same figures as GET /api/v1/replication/status). On a
 * leader the follower series come from its followers' acknowledgements; a
 * follower has none of its own and shows its high watermarks only.
 */
export function watchReplication(registry: MetricsRegistry, replication: ReplicationStatusSource): void {
  const followerLabels = ["follower", "topic", "partition"];
  const lagRecords = registry.gauge({
    name: "gafka_replication_follower_lag_records",
    help: "Records of a partition the leader holds and a follower has not acknowledged yet, by follower broker id.",
    labelNames: followerLabels,
  });
  const lagSeconds = registry.gauge({
    name: "gafka_replication_follower_lag_seconds",
    help: "How long a follower has been behind on a partition (0 while it holds the leader's log end): time since it last held all the leader held durably.",
    labelNames: followerLabels,
  });
  const inSync = registry.gauge({
    name: "gafka_replication_follower_in_sync",
    help: "1 while a follower is in a partition's in-sync set, else 0.",
    labelNames: followerLabels,
  });
  const connected = registry.gauge({
    name: "gafka_replication_follower_connected",
    help: "1 while a follower's replication stream is open, else 0.",
    labelNames: ["follower"],
  });
  const highWatermark = registry.gauge({
    name: "gafka_replication_high_watermark",
    help: "A partition's high watermark: records below it are held by every in-sync replica and visible to consumers.",
    labelNames: ["topic", "partition"],
  });
  const leaderEpoch = registry.gauge({
    name: "gafka_replication_leader_epoch",
    help: "The leader epoch this broker leads or follows under.",
  });
  const leaseHeld = registry.gauge({
    name: "gafka_replication_leader_lease_held",
    help: "On a leader: 1 while it holds its lease (heard from enough followers for --min-insync-replicas within --replica-lag-max), else 0. Absent on a follower.",
  });
  registry.onCollect(() => {
    for (const gauge of [lagRecords, lagSeconds, inSync, connected, highWatermark, leaseHeld]) gauge.reset();
    const status = replication.status();
    leaderEpoch.set(status.leaderEpoch);
    if (status.lease !== undefined && status.lease !== null) leaseHeld.set(status.lease.held ? 1 : 0);
    for (const follower of status.followers) {
      const id = String(follower.id);
      connected.labels(id).set(follower.connected ? 1 : 0);
      for (const partition of follower.partitions) {
        const labels = [id, partition.topic, String(partition.partition)];
        lagRecords.labels(...labels).set(partition.lag);
        inSync.labels(...labels).set(partition.inSync ? 1 : 0);
        if (partition.lagMs !== null) lagSeconds.labels(...labels).set(partition.lagMs / 1000);
      }
    }
    for (const partition of status.partitions) {
      if (partition.highWatermark !== null) highWatermark.labels(partition.topic, String(partition.partition)).set(partition.highWatermark);
    }
  });
}

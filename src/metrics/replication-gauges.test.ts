import { expect, test } from "bun:test";
import { MetricsRegistry } from "./registry.ts";
import { watchReplication, type ReplicationStatusSource } from "./replication-gauges.ts";

type Status = ReturnType<ReplicationStatusSource["status"]>;

test("follower lag, in-sync state and high watermarks come from the status read at each scrape", () => {
  let status: Status = {
    leaderEpoch: 3,
    followers: [
      {
        id: 2,
        connected: true,
        partitions: [
          { topic: "t", partition: 0, lag: 0, lagMs: 0, inSync: true },
          { topic: "t", partition: 1, lag: 120, lagMs: 250, inSync: false },
        ],
      },
      { id: 3, connected: false, partitions: [{ topic: "t", partition: 0, lag: 40, lagMs: null, inSync: false }] },
    ],
    partitions: [
      { topic: "t", partition: 0, highWatermark: 500 },
      { topic: "t", partition: 1, highWatermark: null },
    ],
  };
  const registry = new MetricsRegistry();
  watchReplication(registry, { status: () => status });
  const text = registry.expose();
  expect(text).toContain('gafka_replication_follower_lag_records{follower="2",topic="t",partition="0"} 0\n');
  expect(text).toContain('gafka_replication_follower_lag_records{follower="2",topic="t",partition="1"} 120\n');
  expect(text).toContain('gafka_replication_follower_lag_seconds{follower="2",topic="t",partition="1"} 0.25\n');
  expect(text).not.toContain('gafka_replication_follower_lag_seconds{follower="3"');
  expect(text).toContain('gafka_replication_follower_in_sync{follower="2",topic="t",partition="0"} 1\n');
  expect(text).toContain('gafka_replication_follower_in_sync{follower="3",topic="t",partition="0"} 0\n');
  expect(text).toContain('gafka_replication_follower_connected{follower="3"} 0\n');
  expect(text).toContain('gafka_replication_high_watermark{topic="t",partition="0"} 500\n');
  expect(text).not.toContain('gafka_replication_high_watermark{topic="t",partition="1"}');
  expect(text).toContain("gafka_replication_leader_epoch 3\n");

  // A follower that went away takes its series with it.
  status = { ...status, followers: [] };
  expect(registry.expose()).not.toContain("gafka_replication_follower_lag_records{");
});

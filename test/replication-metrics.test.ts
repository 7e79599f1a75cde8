import { afterAll, expect, test } from "bun:test";
import { cleanupAll } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, waitCaughtUp } from "./helpers/cluster.ts";

afterAll(cleanupAll);

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

test("a leader with a follower exposes the follower's lag, in-sync state and the high watermarks", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "r", 2);
  const records = Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `v${i}` }));
  expect((await produce(leader, "r", records)).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  const onLeader = await scrape(leader.url);
  for (const partition of ["0", "1"]) {
    const labels = `{follower="2",topic="r",partition="${partition}"}`;
    expect(onLeader).toContain(`gafka_replication_follower_lag_records${labels} 0\n`);
    expect(onLeader).toContain(`gafka_replication_follower_in_sync${labels} 1\n`);
    expect(onLeader).toContain(`gafka_replication_follower_lag_seconds${labels} 0\n`);
    expect(onLeader).toContain(`gafka_replication_high_watermark{topic="r",partition="${partition}"} 5\n`);
  }
  expect(onLeader).toContain('gafka_replication_follower_connected{follower="2"} 1\n');

  const onFollower = await scrape(follower.url);
  expect(onFollower).not.toContain("gafka_replication_follower_lag_records{");
  expect(onFollower).toContain('gafka_replication_high_watermark{topic="r",partition="0"} 5\n');
});

import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { limits } from "../src/core/limits.ts";
import { cleanupAll } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

function savedFollowerIds(dataDir: string): number[] {
  const state = JSON.parse(readFileSync(path.join(dataDir, "replication.json"), "utf8"));
  return state.followers.map((follower: { id: number }) => follower.id);
}

/**
 * Made-up follower registrations used to fill the leader's slots for good
 * (persisted in replication.json, so a restart kept them): a real follower
 * was refused for ever. Registrations unheard from for --follower-expiry, in
 * no in-sync set, now expire, and a refused follower is told to retry (429).
 */
test("fake follower registrations fill the slots and survive a restart, then expire: the real follower streams", async () => {
  const leader = await startLeader(["--follower-expiry=2s", "--replica-lag-max=500ms"]);
  await createTopic(leader, "t", 1);
  for (let i = 0; i < limits.followersMax; i++) {
    const answer = await fetch(`${leader.url}/api/v1/replication/stream`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ follower_id: 100 + i, address: `127.0.0.1:${20_000 + i}`, leader_epoch: 0, partitions: [] }),
    });
    expect(answer.status).toBe(200);
    await answer.body?.cancel();
    await waitFor(() => savedFollowerIds(leader.dataDir).includes(100 + i), `registration ${i} to be persisted`);
  }

  await leader.restart();
  expect(savedFollowerIds(leader.dataDir)).toHaveLength(limits.followersMax);
  const follower = await startFollower(leader, 2);
  // Refused while the slots are taken, with a retriable error it shows, not silently.
  await waitFor(async () => String((await status(follower)).replication?.error ?? "").includes("429"), "the follower to be told to retry", 20_000);

  expect((await produce(leader, "t", [{ value: "v" }])).status).toBe(200);
  await waitCaughtUp(leader, [follower], 20_000);
  expect(savedFollowerIds(leader.dataDir)).toEqual([2]);
  const replicas = JSON.parse(readFileSync(path.join(leader.dataDir, "replication.json"), "utf8")).replicas;
  expect(replicas).toBe(1 + limits.followersMax); // R is not lowered by an expiry
});

import { afterAll, expect, test } from "bun:test";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { startFollower, startLeader, status } from "./helpers/cluster.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";

/**
 * The caps on what one broker holds: partitions (--partitions-max,
 * by default 10,000) and consumer groups (--groups-max).
 * Past them a create is refused with 409 limit_reached and its figures;
 * before, topic creation ran into EMFILE (a 500) at 19,900 partitions, and
 * groups had no bound at all.
 */

afterAll(cleanupAll);

test("a topic that would take the broker past --partitions-max is refused with 409 limit_reached; deleting one makes room", async () => {
  const broker = await startBrokerProcess({ args: ["--partitions-max=5"] });
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "a", partitions: 3 })).status).toBe(201);
  const refused = await postJson(`${broker.url}/api/v1/topics`, { name: "b", partitions: 3 });
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe("limit_reached");
  expect(refused.body.error.retriable).toBe(false);
  expect(refused.body.error.limit).toBe(5);
  expect(refused.body.error.partitions).toBe(3);
  expect(refused.body.error.message).toContain("--partitions-max");
  expect((await getJson(`${broker.url}/api/v1/topics/b`)).status).toBe(404);
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "b", partitions: 2 })).status).toBe(201);
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "c", partitions: 1 })).body.error.code).toBe("limit_reached");
  expect((await fetch(`${broker.url}/api/v1/topics/a`, { method: "DELETE" })).status).toBe(200);
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "c", partitions: 3 })).status).toBe(201);
  // The cap refuses new topics only: a restart loads every topic it holds.
  await broker.restart();
  expect((await getJson(`${broker.url}/api/v1/topics`)).body.topics.map((t: any) => t.name)).toEqual(["b", "c"]);
});

test("a new consumer group past --groups-max is refused with 409 limit_reached; known groups carry on", async () => {
  const broker = await startBrokerProcess({ args: ["--groups-max=2"] });
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "t", partitions: 1 })).status).toBe(201);
  const commit = (group: string) => postJson(`${broker.url}/api/v1/consumer-groups/${group}/offsets`, { offsets: [{ topic: "t", partition: 0, offset: 0 }] });
  expect((await commit("g1")).status).toBe(200);
  expect((await getJson(`${broker.url}/api/v1/consume?topic=t&group_id=g2&consumer_id=m&timeout=0`)).status).toBe(200);
  const refusedCommit = await commit("g3");
  expect(refusedCommit.status).toBe(409);
  expect(refusedCommit.body.error).toMatchObject({ code: "limit_reached", limit: 2, groups: 2, group: "g3" });
  const refusedJoin = await getJson(`${broker.url}/api/v1/consume?topic=t&group_id=g4&consumer_id=m&timeout=0`);
  expect(refusedJoin.status).toBe(409);
  expect(refusedJoin.body.error.code).toBe("limit_reached");
  expect((await commit("g1")).status).toBe(200);
  expect((await getJson(`${broker.url}/api/v1/consume?topic=t&group_id=g2&consumer_id=m2&timeout=0`)).status).toBe(200);
  expect((await getJson(`${broker.url}/api/v1/consumer-groups`)).body.groups.map((g: any) => g.group_id)).toEqual(["g1", "g2"]);
});

test("a follower that may not hold its leader's topic says so and keeps running, and takes it once it fits", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2, ["--partitions-max=2"]);
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: "small", partitions: 1 })).status).toBe(201);
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: "wide", partitions: 4 })).status).toBe(201);
  await waitFor(async () => String((await status(follower)).replication?.error ?? "").includes("--partitions-max"), "the follower to report the cap");
  expect(follower.process.exitCode).toBeNull();
  expect((await getJson(`${follower.url}/healthz`)).status).toBe(200);
  expect(follower.stderr()).toContain("limit");
  // Once the leader's topics fit, the follower takes them.
  expect((await fetch(`${leader.url}/api/v1/topics/wide`, { method: "DELETE" })).status).toBe(200);
  await waitFor(async () => {
    const view = await status(follower);
    return view.replication?.connected === true && view.partitions.length === 1 && view.partitions[0].topic === "small";
  }, "the follower to hold the leader's topics");
});

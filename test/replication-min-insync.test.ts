import { afterAll, expect, test } from "bun:test";
import { type BrokerProcess, cleanupAll } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

/**
 * Issue 13 with --min-insync-replicas=2 and one follower, which is made
 * unresponsive with SIGSTOP (its connections stay open, as on a cut link):
 * rule 1 (nothing visible or acknowledged past what 2 replicas hold), the
 * leader's lease (no group coordination without it), and the follower
 * rejoining once it answers again.
 */

const LAG_MAX = "--replica-lag-max=2s";

function values(read: { body: any }): string[] {
  return read.body.records.map((record: any) => record.value);
}

async function readAll(broker: BrokerProcess): Promise<{ status: number; body: any }> {
  return getJson(`${broker.url}/api/v1/consume?topic=t&partition=0&offset=0&count=100`);
}

async function join(broker: BrokerProcess, member: string): Promise<{ status: number; body: any }> {
  return postJson(`${broker.url}/api/v1/consumer-groups/g/members/${member}`, { topics: ["t"] });
}

/** SIGSTOPs `follower` for the length of `body`; it always gets SIGCONT (or is killed by cleanupAll). */
async function whileStopped<T>(follower: BrokerProcess, body: () => Promise<T>): Promise<T> {
  follower.process.kill("SIGSTOP");
  try {
    return await body();
  } finally {
    follower.process.kill("SIGCONT");
  }
}

test("a follower that stops answering: the acks=all write waiting for it fails, acks=1 writes stay invisible, groups are refused; all is back once it answers", async () => {
  const leader = await startLeader(["--min-insync-replicas=2", LAG_MAX]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1, [follower]);
  expect((await produce(leader, "t", [{ value: "a" }], "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);
  expect((await join(leader, "m1")).status).toBe(200);

  await whileStopped(follower, async () => {
    // Taken while the follower is still in sync, so it waits for the second copy, which never comes.
    const waiting = await produce(leader, "t", [{ value: "b" }], "all");
    expect(waiting.status).toBe(503);
    expect(waiting.body.error).toMatchObject({ code: "not_enough_replicas_after_append", retriable: true, in_sync_replicas: 1, min_insync_replicas: 2 });

    // acks=1 is taken (the in-sync set may shrink) but not shown: one copy is not enough.
    const single = await produce(leader, "t", [{ value: "c" }]);
    expect(single.status).toBe(200);
    const read = await readAll(leader);
    expect(values(read)).toEqual(["a"]);
    expect(read.body.high_watermark).toBe(1);

    await waitFor(async () => (await status(leader)).lease.held === false, "the leader to lose its lease");
    const refused = await join(leader, "m2");
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: "not_leader_lease", retriable: true });
    expect((await postJson(`${leader.url}/api/v1/consumer-groups/g/members/m1/heartbeat`, {})).status).toBe(503);
    const view = await status(leader);
    expect(view.followers[0].partitions[0].in_sync).toBe(false);
    expect(values(await readAll(leader))).toEqual(["a"]);
  });

  // Answering again, it catches up and rejoins; what 2 replicas now hold becomes visible.
  await waitCaughtUp(leader, [follower]);
  await waitFor(async () => values(await readAll(leader)).length === 3, "the records to become visible");
  expect(values(await readAll(leader))).toEqual(["a", "b", "c"]);
  expect(values(await readAll(follower))).toEqual(["a", "b", "c"]);
  await waitFor(async () => (await status(leader)).lease.held === true, "the leader to hold its lease again");
  expect((await status(leader)).lease).toMatchObject({ held: true, followers_needed: 1, followers_heard: 1 });
  expect((await join(leader, "m2")).status).toBe(200);
  expect((await produce(leader, "t", [{ value: "d" }], "all")).status).toBe(200);
});

test("an idle cluster keeps its lease: the follower answers the leader's heartbeats", async () => {
  const leader = await startLeader(["--min-insync-replicas=2", "--replica-lag-max=1s"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1, [follower]);
  await waitFor(async () => (await status(leader)).lease.held === true, "the leader to hold its lease");
  // Many lease periods with no data: every look finds the lease held and the follower in sync.
  for (let look = 0; look < 10; look++) {
    const view = await status(leader);
    expect(view.lease.held).toBe(true);
    expect(view.followers[0].in_sync_partitions).toBe(1);
    expect(view.followers[0].lease_renewed_ms_ago).not.toBeNull();
    expect((await join(leader, "idle")).status).toBe(200);
    await Bun.sleep(300);
  }
  expect((await produce(leader, "t", [{ value: "x" }], "all")).status).toBe(200);
});

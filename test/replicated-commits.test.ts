import { afterAll, afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { FRAME_HEADER_BYTES, readFrameHeader } from "../src/storage/frame.ts";
import { type BrokerProcess, cleanupAll } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";

/**
 * Issue 13, rule 3: a group commit is acknowledged only once
 * min.insync.replicas replicas hold it, and one refused for want of copies is
 * never reported as committed, not even by a follower promoted afterwards.
 * The follower is held with SIGSTOP (its stream stays open, it just stops
 * reading and reporting), always continued or killed before the test ends.
 */

afterAll(cleanupAll);

const stopped = new Set<BrokerProcess>();
afterEach(() => {
  for (const broker of stopped) resume(broker);
});

function pause(broker: BrokerProcess): void {
  stopped.add(broker);
  broker.process.kill("SIGSTOP");
}

function resume(broker: BrokerProcess): void {
  stopped.delete(broker);
  if (broker.process.exitCode === null && broker.process.signalCode === null) broker.process.kill("SIGCONT");
}

/** The group's offset for t/0 as the broker's offset file holds it now (last entry wins), read without opening the store. */
function offsetOnDisk(broker: BrokerProcess, group: string): number | undefined {
  const bytes = new Uint8Array(readFileSync(path.join(broker.dataDir, "consumer-offsets.log")));
  let offset: number | undefined;
  for (let position = 0; position + FRAME_HEADER_BYTES <= bytes.length; ) {
    const { batchBytes } = readFrameHeader(bytes, position);
    const end = position + FRAME_HEADER_BYTES + batchBytes;
    if (batchBytes === 0 || end > bytes.length) break;
    const entry = JSON.parse(new TextDecoder().decode(bytes.subarray(position + FRAME_HEADER_BYTES, end)));
    if (entry.g === group && entry.t === "t" && entry.p === 0) offset = entry.o === -1 ? undefined : entry.o;
    position = end;
  }
  return offset;
}

const commit = (broker: BrokerProcess, offset: number) =>
  postJson(`${broker.url}/api/v1/consumer-groups/g/offsets`, { offsets: [{ topic: "t", partition: 0, offset }] });

async function committedOffset(broker: BrokerProcess): Promise<number | null> {
  const answer = await getJson(`${broker.url}/api/v1/consumer-groups/g/status`);
  expect(answer.status).toBe(200);
  return answer.body.partitions.find((p: any) => p.topic === "t" && p.partition === 0)?.committed_offset ?? null;
}

async function pair(replicaLagMax: string): Promise<{ leader: BrokerProcess; follower: BrokerProcess }> {
  const args = ["--min-insync-replicas=2", `--replica-lag-max=${replicaLagMax}`];
  const leader = await startLeader(args);
  const follower = await startFollower(leader, 2, args);
  await createTopic(leader, "t", 1);
  expect((await produce(leader, "t", Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })), 1)).status).toBe(200);
  await waitCaughtUp(leader, [follower]);
  return { leader, follower };
}

test("min.insync.replicas=2: a commit is acknowledged only once the follower holds it durably", async () => {
  const { leader, follower } = await pair("30s");
  const first = await commit(leader, 3);
  expect(first.status).toBe(200);
  expect(offsetOnDisk(follower, "g")).toBe(3);

  pause(follower);
  // What the follower's file holds at the moment the commit is answered.
  const answered = commit(leader, 6).then((answer) => ({ answer, onFollower: offsetOnDisk(follower, "g") }));
  let settled = false;
  void answered.then(() => (settled = true));
  // Long enough for an fsync on the leader: a commit acknowledged by the leader alone would be answered by now.
  await Bun.sleep(1000);
  expect(settled).toBe(false);
  resume(follower);
  const { answer, onFollower } = await answered;
  expect(answer.status).toBe(200);
  expect(onFollower).toBe(6);
  expect(await committedOffset(leader)).toBe(6);
});

test("min.insync.replicas=2: a commit the follower cannot confirm answers 503 not_enough_replicas_after_append and is never reported as committed, not even after a failover", async () => {
  const { leader, follower } = await pair("1s");
  expect((await commit(leader, 3)).status).toBe(200);
  // A member of another group is handed records; its next consume call would commit them.
  const groupConsume = () => getJson(`${leader.url}/api/v1/consume?topic=t&group_id=h&consumer_id=m1&count=5`);
  expect((await groupConsume()).body.records).toHaveLength(5);

  pause(follower);
  const refused = await commit(leader, 6);
  expect(refused.status).toBe(503);
  expect(refused.body.error.code).toBe("not_enough_replicas_after_append");
  expect(refused.body.error.retriable).toBe(true);
  // The follower is out of sync now: the next commit is refused before anything is written.
  const refusedAtOnce = await commit(leader, 7);
  expect(refusedAtOnce.status).toBe(503);
  expect(await committedOffset(leader)).toBe(3);
  // The group consume's implicit commit follows the same rule: no records, an error, nothing committed.
  const poll = await groupConsume();
  expect(poll.status).toBe(503);
  // Or the lease's refusal, once the leader has not heard the follower for --replica-lag-max: nothing is committed either way.
  expect(poll.body.error.code).toMatch(/^(not_enough_replicas|not_leader_lease)/);
  const other = await getJson(`${leader.url}/api/v1/consumer-groups/h/status`);
  expect(other.body.partitions.map((p: any) => p.committed_offset)).toEqual([null]);

  // The leader hangs; the follower, killed before it could read anything more, comes back and is promoted.
  pause(leader);
  await follower.kill();
  stopped.delete(follower);
  expect(offsetOnDisk(follower, "g")).toBe(3);
  await follower.restart();
  const promoted = await postJson(`${follower.url}/api/v1/replication/promote`, {});
  expect(promoted.status).toBe(200);
  await waitFor(async () => (await getJson(`${follower.url}/api/v1/consumer-groups/g/status`)).status === 200, "the promoted follower to serve groups");
  expect(await committedOffset(follower)).toBe(3);

  // The old leader wakes up, hears it was deposed, and takes the new leader's offsets: its refused commit is gone.
  resume(leader);
  await waitFor(async () => {
    const view = await getJson(`${leader.url}/api/v1/replication/status`).catch(() => undefined);
    return view?.body.role === "follower" && offsetOnDisk(leader, "g") === 3;
  }, "the deposed leader to follow and hold the new leader's committed offset");
  expect(await committedOffset(follower)).toBe(3);
});

import { afterAll, expect, test } from "bun:test";
import { Producer } from "../src/client/index.ts";
import { cleanupAll, runCli } from "./helpers/broker-process.ts";
import { clusterSecretArgs, createTopic, partitionFiles, produce, segmentFiles, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, postJson, readPartition, waitFor, type WireRecord } from "./helpers/http.ts";

afterAll(cleanupAll);

const PARTITIONS = 2;
const CLIENTS = 4;

interface Ack {
  partition: number;
  offset: number;
}

test("kill -9 the leader under acks=all load, promote the follower, keep producing: every acknowledged record is there exactly once, in order, and groups resume", async () => {
  // Two copies of every acknowledged record (the promoted follower runs alone, with the default 1).
  const leader = await startLeader(["--min-insync-replicas=2"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "orders", PARTITIONS, [follower]);

  // A consumer group commits offsets on the leader: two group consumes (the second commits the first's records).
  const seed = Array.from({ length: 40 }, (_, i) => ({ key: `seed${i}`, value: `seed-${i}` }));
  expect((await produce(leader, "orders", seed, "all")).status).toBe(200);
  const groupConsume = (broker: { url: string }, member: string) =>
    getJson(`${broker.url}/api/v1/consume?topic=orders&group_id=billing&consumer_id=${member}&count=7`);
  expect((await groupConsume(leader, "c1")).body.records).toHaveLength(7);
  expect((await groupConsume(leader, "c1")).body.records).toHaveLength(7);
  const committedOnLeader = (await getJson(`${leader.url}/api/v1/consumer-groups/billing/status`)).body.partitions.map((p: any) => [
    p.partition,
    p.committed_offset,
  ]);
  expect(committedOnLeader.reduce((sum: number, [, offset]: number[]) => sum + (offset ?? 0), 0)).toBe(7);
  await waitCaughtUp(leader, [follower]);

  let target = leader.url;
  let stopped = false;
  const acked = new Map<string, Ack>();
  const ackedAfterPromotion = { count: 0 };
  let promoted = false;
  // Each client sends batches of 10 with acks=all and waits for the answer before the next, so
  // its records keep their order within a partition; a batch without an answer is never resent.
  const client = async (id: number) => {
    for (let seq = 0; !stopped; seq += 10) {
      const values = Array.from({ length: 10 }, (_, i) => `c${id}-${seq + i}`);
      try {
        const answer = await postJson(`${target}/api/v1/produce`, {
          topic: "orders",
          acks: "all",
          records: values.map((value, i) => ({ key: `k${id}-${(seq + i) % 7}`, value })),
        });
        if (answer.status !== 200) throw new Error(`answered ${answer.status}`);
        answer.body.results.forEach((result: Ack, i: number) => acked.set(values[i]!, { partition: result.partition, offset: result.offset }));
        if (promoted) ackedAfterPromotion.count += values.length;
      } catch {
        await Bun.sleep(20); // the leader is gone or not yet replaced: these values stay unacknowledged
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, id) => client(id));
  await waitFor(() => acked.size >= 2000, "2000 acknowledged records");
  await leader.kill();
  // The operator killed it: no lease to wait out. Clean by construction (N=2, two replicas).
  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`, "--leader-dead"]);
  expect(promote.exitCode).toBe(0);
  expect(promote.stdout).toContain("is the leader under leader epoch 1");
  expect(promote.stdout).not.toContain("UNCLEAN");
  target = follower.url;
  promoted = true;
  await waitFor(() => ackedAfterPromotion.count >= 1000, "1000 more acknowledged by the new leader");
  stopped = true;
  await Promise.all(clients);

  const seen = new Map<string, Ack>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const records: WireRecord[] = await readPartition(follower.url, "orders", partition);
    const lastSeq = new Map<string, number>();
    records.forEach((record, index) => {
      expect(record.offset).toBe(index); // no gap, no repeat
      expect(seen.has(record.value)).toBe(false); // exactly once
      seen.set(record.value, { partition, offset: record.offset });
      if (record.value.startsWith("seed-")) return;
      const [clientId, seq] = record.value.split("-") as [string, string];
      expect(Number(seq)).toBeGreaterThan(lastSeq.get(clientId) ?? -1); // each client's order
      lastSeq.set(clientId, Number(seq));
    });
  }
  for (const [value, ack] of acked) expect(seen.get(value)).toEqual(ack);

  // The group's committed offsets were replicated: the new leader resumes the group there.
  const statusAfter = await getJson(`${follower.url}/api/v1/consumer-groups/billing/status`);
  expect(statusAfter.status).toBe(200);
  expect(statusAfter.body.partitions.map((p: any) => [p.partition, p.committed_offset])).toEqual(committedOnLeader);
  const resumed = await getJson(`${follower.url}/api/v1/consume?topic=orders&group_id=billing&consumer_id=c2&count=1000`);
  for (const record of resumed.body.records) {
    const committed = committedOnLeader.find(([partition]: number[]) => partition === record.partition)[1] ?? 0;
    expect(record.offset).toBeGreaterThanOrEqual(committed);
  }
  for (const [partition, committed] of committedOnLeader) {
    const first = resumed.body.records.find((record: any) => record.partition === partition);
    expect(first.offset).toBe(committed ?? 0);
  }
});

// Run again with a cluster secret: every call between the brokers (stream, acks, the restarted leader's questions, the announcement) carries a proof.
for (const secured of [false, true]) test(`the old leader, restarted, becomes a follower, drops its acks=1 tail (never visible) and ends identical${secured ? " (with a cluster secret)" : ""}`, async () => {
  const secretArgs = secured ? await clusterSecretArgs() : [];
  const leader = await startLeader(["--replica-lag-max=60s", "--segment-bytes=4KiB", "--min-insync-replicas=2", ...secretArgs]);
  const follower = await startFollower(leader, 2, secretArgs);
  await createTopic(leader, "t", 2, [follower]);
  const both = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `both-${i}` }));
  expect((await produce(leader, "t", both, "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);
  const before = (await status(leader)).partitions.map((p: any) => p.log_end_offset);

  // Only the leader gets these: the follower is down, but still in sync for 60 s, so the high
  // watermark stays where the follower was and no consumer sees the tail.
  await follower.kill();
  const tail = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `tail-${i}` }));
  expect((await produce(leader, "t", tail)).status).toBe(200);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const read = await getJson(`${leader.url}/api/v1/consume?topic=t&partition=${partition}&offset=0&count=1000`);
    expect(read.body.high_watermark).toBe(before[partition]);
    expect(read.body.records.some((r: any) => r.value.startsWith("tail-"))).toBe(false);
  }
  await leader.kill();

  // A follower of a dead leader, restarted: what it last heard of the leader (N=2, two replicas) was persisted.
  await follower.restart();
  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`, "--leader-dead"]);
  expect(promote.exitCode).toBe(0);
  expect(promote.stdout).not.toContain("UNCLEAN");
  expect(promote.stdout).toContain("could not be reached");
  const after = Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `after-${i}` }));
  expect((await produce(follower, "t", after)).status).toBe(200);

  // Restarted with its original command: it asks its former follower, learns of epoch 1 and follows.
  await leader.restart();
  const view = await status(leader);
  expect(view).toMatchObject({ role: "follower", leader: follower.hostPort, leader_epoch: 1 });
  expect(leader.stderr()).toContain("becoming its follower");
  await waitCaughtUp(follower, [leader]);
  expect(leader.stderr()).toMatch(/dropping offsets \d+\.\.\d+, which the leader does not have/);
  expect(partitionFiles(leader.dataDir)).toEqual(partitionFiles(follower.dataDir));
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const records = await readPartition(leader.url, "t", partition);
    expect(records.some((r) => r.value.startsWith("tail-"))).toBe(false);
    expect(records.filter((r) => r.value.startsWith("after-")).length).toBeGreaterThan(0);
    records.forEach((record, index) => expect(record.offset).toBe(index));
  }
  const written = await postJson(`${leader.url}/api/v1/produce`, { topic: "t", value: "x" });
  expect(written.status).toBe(421);
  expect(written.body.error.leader).toBe(follower.hostPort);
});

test("a deposed leader still running answers every write after the promotion with an error", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1);
  expect((await produce(leader, "t", [{ value: "before" }], "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  // Told at once: promote reaches it.
  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
  expect(promote.stdout).toContain(`former leader ${leader.hostPort} was told`);
  for (const acks of [0, 1, "all"] as const) {
    const answer = await produce(leader, "t", [{ value: `stale-${acks}` }], acks);
    expect(answer.status).toBe(421);
    expect(answer.body.error).toMatchObject({ code: "not_leader", leader: follower.hostPort, leader_epoch: 1 });
  }
  await waitCaughtUp(follower, [leader]);
  const records = await readPartition(leader.url, "t", 0);
  expect(records.map((r) => r.value)).toEqual(["before"]);
});

test("a deposed leader that missed the promotion is fenced by a client carrying the new epoch, then follows", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1, [follower]);

  leader.process.kill("SIGSTOP"); // unreachable while the follower is promoted
  try {
    // min.insync.replicas=1: it cannot know what the leader acknowledged alone since. Forced, it says so.
    const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`, "--force"]);
    expect(promote.exitCode).toBe(0);
    expect(promote.stdout).toContain("UNCLEAN election");
    expect(promote.stdout).toContain("could not be reached");
  } finally {
    leader.process.kill("SIGCONT");
  }
  // A client that talked to the new leader carries epoch 1: the old leader refuses it.
  const answer = await fetch(`${leader.url}/api/v1/produce`, {
    method: "POST",
    headers: { "content-type": "application/json", "gafka-leader-epoch": "1" },
    body: JSON.stringify({ topic: "t", value: "stale" }),
  });
  expect(answer.status).toBe(421);
  // The new leader keeps telling it; it follows, and ends with nothing the new leader lacks.
  await waitFor(async () => (await status(leader)).role === "follower", "the old leader to follow");
  await waitCaughtUp(follower, [leader]);
  expect((await readPartition(leader.url, "t", 0)).map((r) => r.value)).toEqual([]);
  const cluster = await runCli(["admin", "cluster", `--broker=${leader.hostPort}`]);
  expect(cluster.stdout).toMatch(new RegExp(`^2\\s+${follower.hostPort}\\s+leader\\s+1\\s+leading`, "m"));
  expect(cluster.stdout).toMatch(new RegExp(`^1\\s+${leader.hostPort}\\s+follower\\s+1\\s+in sync\\s+0$`, "m"));
});

test("with two followers, the promoted one tells the other, which follows it and ends identical", async () => {
  // Every acknowledged record on all three: either follower holds them all.
  const leader = await startLeader(["--min-insync-replicas=3"]);
  const second = await startFollower(leader, 2);
  const third = await startFollower(leader, 3);
  await createTopic(leader, "t", 2, [second, third]);
  const records = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: `r${i}` }));
  expect((await produce(leader, "t", records, "all")).status).toBe(200);
  await waitCaughtUp(leader, [second, third]);
  await leader.kill();

  const promote = await runCli(["admin", "promote", `--broker=${second.hostPort}`, "--leader-dead"]);
  expect(promote.stdout).not.toContain("UNCLEAN");
  expect(promote.stdout).toContain(`follower ${third.hostPort} follows the new leader`);
  expect((await status(third)).leader).toBe(second.hostPort);
  expect((await produce(second, "t", [{ value: "after" }], "all")).status).toBe(200);
  await waitCaughtUp(second, [third]);
  // The logs are the same bytes. (The epoch caches may differ: the new leader records where epoch 1
  // began in every partition when promoted; a follower learns it from the first batch of epoch 1.)
  expect(segmentFiles(third.dataDir)).toEqual(segmentFiles(second.dataDir));
});

test("a planned switchover under acks=all load loses no acknowledged record; SDK producers follow the 421 to the new leader", async () => {
  const leader = await startLeader(["--replica-lag-max=30s"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", PARTITIONS, [follower]);

  const acked = new Map<string, Ack>();
  const failed = new Set<string>();
  let stopped = false;
  const producers = Array.from({ length: CLIENTS }, () => new Producer({ broker: leader.hostPort, acks: "all", lingerMs: 1 }));
  const sending = producers.map(async (producer, id) => {
    for (let seq = 0; !stopped; seq++) {
      const value = `p${id}-${seq}`;
      await producer
        .send({ topic: "t", key: `k${seq % 9}`, value })
        .then((metadata) => acked.set(value, { partition: metadata.partition, offset: metadata.offset }))
        .catch(() => failed.add(value));
    }
  });
  await waitFor(() => acked.size >= 500, "500 acknowledged records");
  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
  expect(promote.stdout).toContain("was told");
  const atPromotion = acked.size;
  await waitFor(() => acked.size >= atPromotion + 500, "500 more acknowledged, by the new leader");
  stopped = true;
  await Promise.all(sending);
  await Promise.all(producers.map((producer) => producer.close()));

  await waitCaughtUp(follower, [leader]);
  const copies = new Map<string, Ack[]>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const records = await readPartition(follower.url, "t", partition);
    records.forEach((record, index) => {
      expect(record.offset).toBe(index);
      copies.set(record.value, [...(copies.get(record.value) ?? []), { partition, offset: record.offset }]);
    });
  }
  // Every acknowledged record is where it was acknowledged. A write the old leader had shipped
  // before it was told was answered 421, never acknowledged, and the SDK sent it again to the
  // new leader: at-least-once, so an earlier unacknowledged copy may precede the acknowledged one.
  for (const [value, ack] of acked) {
    const found = copies.get(value) ?? [];
    expect(found).toContainEqual(ack);
    for (const copy of found) if (copy.offset !== ack.offset) expect(copy.offset).toBeLessThan(ack.offset);
  }
  for (const [value, found] of copies) if (!acked.has(value)) expect(found).toHaveLength(1);
  expect(segmentFiles(leader.dataDir)).toEqual(segmentFiles(follower.dataDir));
});

import { afterAll, expect, test } from "bun:test";
import { Producer } from "../src/client/index.ts";
import { encodeRecordBatch } from "../src/protocol/record-batch.ts";
import { cleanupAll, runCli } from "./helpers/broker-process.ts";
import { createTopic, partitionFiles, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, postJson, readPartition, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

const RECORDS = 100_000;
const BINARY_BATCHES = 3;
const RECORDS_PER_REQUEST = 5_000;

test("the seed's follower mirrors topics and 100,000 records byte for byte (client-encoded batches too), segment rolls included", async () => {
  // Small segments on the leader: the follower (with its default size) rolls where the leader did.
  const leader = await startLeader(["--segment-bytes=1MiB"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "test-topic", 2);
  await createTopic(leader, "scratch", 1);
  for (let sent = 0; sent < RECORDS; sent += RECORDS_PER_REQUEST) {
    const records = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => ({
      key: `user${(sent + i) % 977}`,
      value: `message ${sent + i} ${"x".repeat(64)}`,
    }));
    const answer = await produce(leader, "test-topic", records);
    expect(answer.status).toBe(200);
  }
  // Batches a client encoded (binary produce) replicate byte for byte too.
  for (let batch = 0; batch < BINARY_BATCHES; batch++) {
    const body = encodeRecordBatch({
      baseOffset: 0,
      records: Array.from({ length: 100 }, (_, i) => ({ key: null, value: `binary ${batch}-${i}`, headers: [], timestampMs: 1_764_000_000_000 + i })),
    });
    const answer = await fetch(`${leader.url}/api/v1/produce?topic=test-topic&partition=${batch % 2}`, {
      method: "POST",
      headers: { "content-type": "application/vnd.kafka.record-batch" },
      body,
    });
    expect(answer.status).toBe(200);
  }
  expect((await fetch(`${leader.url}/api/v1/topics/scratch`, { method: "DELETE" })).status).toBe(200);
  await createTopic(leader, "later", 3, [follower]);

  const leaderFiles = partitionFiles(leader.dataDir);
  expect([...leaderFiles.keys()].filter((name) => name.startsWith("test-topic-0/") && name.endsWith(".log")).length).toBeGreaterThan(2);
  expect(partitionFiles(follower.dataDir)).toEqual(leaderFiles);
  const topics = await getJson(`${follower.url}/api/v1/topics`);
  expect(topics.body.topics).toEqual([
    { name: "later", partitions: 3 },
    { name: "test-topic", partitions: 2 },
  ]);
  // The follower serves explicit reads of what it replicated.
  let total = 0;
  for (const partition of [0, 1]) {
    const fromFollower = await readPartition(follower.url, "test-topic", partition);
    fromFollower.forEach((record, index) => expect(record.offset).toBe(index));
    total += fromFollower.length;
  }
  expect(total).toBe(RECORDS + BINARY_BATCHES * 100);
});

test("a follower killed mid-stream and restarted catches up with no gap and no duplicate", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 2);
  let produced = 0;
  let stop = false;
  const producing = (async () => {
    for (let batch = 0; !stop; batch++) {
      const records = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 13}`, value: `b${batch}-${i}` }));
      const answer = await produce(leader, "t", records);
      expect(answer.status).toBe(200);
      produced += records.length;
    }
  })();
  await waitFor(async () => (await status(follower)).partitions.some((p: any) => p.log_end_offset > 1000), "the follower to be replicating");
  await follower.kill();
  const atKill = produced;
  await waitFor(() => produced > atKill + 2000, "more records while the follower is down");
  await follower.restart();
  const atRestart = produced;
  await waitFor(() => produced > atRestart + 2000, "more records after the restart");
  stop = true;
  await producing;
  await waitCaughtUp(leader, [follower]);

  for (const partition of [0, 1]) {
    const fromLeader = await readPartition(leader.url, "t", partition);
    const fromFollower = await readPartition(follower.url, "t", partition);
    fromFollower.forEach((record, index) => expect(record.offset).toBe(index)); // no gap, no repeat
    expect(fromFollower.map((r) => r.value)).toEqual(fromLeader.map((r) => r.value));
  }
  expect(partitionFiles(follower.dataDir)).toEqual(partitionFiles(leader.dataDir));
});

test("readers of leader and followers see nothing past the high watermark while an in-sync follower lacks it", async () => {
  const leader = await startLeader(["--replica-lag-max=60s"]);
  const first = await startFollower(leader, 2);
  const second = await startFollower(leader, 3);
  await createTopic(leader, "t", 1);
  const committed = await produce(leader, "t", Array.from({ length: 10 }, (_, i) => ({ value: `c${i}` })), "all");
  expect(committed.status).toBe(200);
  await waitCaughtUp(leader, [first, second]);

  await second.kill(); // still in sync for 60 s: the high watermark waits for it
  const tail = await produce(leader, "t", Array.from({ length: 10 }, (_, i) => ({ value: `t${i}` })));
  expect(tail.status).toBe(200);
  await waitFor(async () => (await status(first)).partitions[0].log_end_offset === 20, "the first follower to hold the tail");
  for (const broker of [leader, first]) {
    const read = await getJson(`${broker.url}/api/v1/consume?topic=t&partition=0&offset=0&count=100`);
    expect(read.body.records.map((r: any) => r.value)).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
    expect(read.body.high_watermark).toBe(10);
    const beyond = await getJson(`${broker.url}/api/v1/consume?topic=t&partition=0&offset=11`);
    expect(beyond.status).toBe(416);
  }

  await second.restart();
  await waitCaughtUp(leader, [first, second]);
  const all = await getJson(`${first.url}/api/v1/consume?topic=t&partition=0&offset=0&count=100`);
  expect(all.body.records).toHaveLength(20);
});

test("acks 0/1/all; a follower refuses writes with 421 naming the leader, and the SDK and CLI follow it once", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 2, [follower]);

  const fireAndForget = await postJson(`${leader.url}/api/v1/produce?acks=0`, { topic: "t", value: "zero", partition: 0 });
  expect(fireAndForget.status).toBe(202);
  expect(fireAndForget.body).toMatchObject({ partition: 0, offset: -1 });
  const all = await postJson(`${leader.url}/api/v1/produce`, { topic: "t", value: "everyone", partition: 0, acks: "all" });
  expect(all.status).toBe(200);
  expect(all.body.offset).toBe(1);
  // Acknowledged with acks=all: the follower already holds it durably.
  expect((await status(follower)).partitions.find((p: any) => p.partition === 0).log_end_offset).toBeGreaterThanOrEqual(2);
  const bad = await postJson(`${leader.url}/api/v1/produce`, { topic: "t", value: "x", acks: 2 });
  expect(bad.status).toBe(400);

  const refused = await postJson(`${follower.url}/api/v1/produce`, { topic: "t", value: "x" });
  expect(refused.status).toBe(421);
  expect(refused.body.error).toMatchObject({ code: "not_leader", leader: leader.hostPort, retriable: true });
  expect((await postJson(`${follower.url}/api/v1/topics`, { name: "nope" })).status).toBe(421);
  expect((await getJson(`${follower.url}/api/v1/consumer-groups/g/status`)).status).toBe(421);
  expect((await getJson(`${follower.url}/api/v1/consume?topic=t&group_id=g&consumer_id=c`)).status).toBe(421);

  const cli = await runCli(["produce", "--topic=t", "--partition=1", "--message=via follower", "--acks=all", `--broker=${follower.hostPort}`]);
  expect(cli.stderr).toBe("");
  expect(cli.stdout).toBe("partition=1 offset=0\n");
  const producer = new Producer({ broker: follower.hostPort, acks: "all" });
  const landed = await producer.send({ topic: "t", partition: 1, value: "sdk via follower" });
  await producer.close();
  expect(landed.offset).toBe(1);

  const cluster = await runCli(["admin", "cluster", `--broker=${follower.hostPort}`]);
  expect(cluster.exitCode).toBe(0);
  expect(cluster.stdout).toMatch(/^BROKER\s+ADDRESS\s+ROLE\s+EPOCH\s+STATE\s+LAG$/m);
  expect(cluster.stdout).toMatch(new RegExp(`^1\\s+${leader.hostPort}\\s+leader\\s+0\\s+leading\\s+-$`, "m"));
  expect(cluster.stdout).toMatch(new RegExp(`^2\\s+${follower.hostPort}\\s+follower\\s+0\\s+in sync\\s+\\d+$`, "m"));
});

test("with --min-insync-replicas=2, acks=all is refused once the follower drops out; acks=1 goes on, visible only once 2 replicas hold it", async () => {
  const leader = await startLeader(["--replica-lag-max=300ms", "--min-insync-replicas=2"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1, [follower]);
  expect((await produce(leader, "t", [{ value: "a" }], "all")).status).toBe(200);
  await follower.kill();
  await produce(leader, "t", [{ value: "pending" }]);
  await waitFor(async () => (await status(leader)).followers[0].in_sync_partitions === 0, "the follower to leave the in-sync set");
  const refused = await produce(leader, "t", [{ value: "b" }], "all");
  expect(refused.status).toBe(503);
  expect(refused.body.error).toMatchObject({ code: "not_enough_replicas", retriable: true, in_sync_replicas: 1 });
  expect((await produce(leader, "t", [{ value: "c" }])).status).toBe(200);
  // Alone in the in-sync set, the leader holds the only copy: nothing past "a" becomes visible (issue 13, rule 1).
  const read = await getJson(`${leader.url}/api/v1/consume?topic=t&partition=0&offset=0&count=100`);
  expect(read.body.records.map((r: any) => r.value)).toEqual(["a"]);
  expect(read.body.high_watermark).toBe(1);
  await follower.restart();
  await waitCaughtUp(leader, [follower]);
  const after = await getJson(`${leader.url}/api/v1/consume?topic=t&partition=0&offset=0&count=100`);
  // "b" was refused before its append: nothing of it was stored, so a retry would store it once.
  expect(after.body.records.map((r: any) => r.value)).toEqual(["a", "pending", "c"]);
});

test("a leader stopped cleanly with a follower connected exits at once; restarted, it holds the high watermark until the follower is back", async () => {
  const leader = await startLeader(["--replica-lag-max=60s"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1);
  expect((await produce(leader, "t", [{ value: "a" }, { value: "b" }], "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);
  expect(await leader.stop()).toBe(0);

  await follower.stop(); // down while the leader restarts: it was in sync, so the leader waits for it
  await leader.restart();
  expect((await status(leader)).role).toBe("leader");
  expect((await produce(leader, "t", [{ value: "c" }])).status).toBe(200);
  const held = await getJson(`${leader.url}/api/v1/consume?topic=t&partition=0&offset=0&count=10`);
  expect(held.body.high_watermark).toBe(2);
  expect(held.body.records.map((r: any) => r.value)).toEqual(["a", "b"]);

  await follower.restart();
  await waitCaughtUp(leader, [follower]);
  const all = await getJson(`${leader.url}/api/v1/consume?topic=t&partition=0&offset=0&count=10`);
  expect(all.body.records.map((r: any) => r.value)).toEqual(["a", "b", "c"]);
});

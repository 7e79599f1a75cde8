import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, runCli, startBrokerProcess, type BrokerProcess } from "./helpers/broker-process.ts";
import { createTopic, produce, segmentFiles, startFollower, startLeader, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";

// The log start offset with real broker processes: DeleteRecords (HTTP and
// CLI), a consume and a group below it, its checkpoint across restarts and a
// kill -9 between a segment's rename and its removal, delete retention by
// time, and its replication to a follower byte for byte.

afterAll(cleanupAll);

const SMALL_SEGMENTS = ["--segment-bytes=1KiB"];
const DAY_MS = 24 * 3600 * 1000;

/** Produces `count` records of ~200 bytes, ten per request (one batch each: several batches to a 1 KiB segment... or one). */
async function fill(broker: BrokerProcess, topic: string, count: number, timestamp?: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 2) {
    const records = [0, 1].map((i) => ({ value: `record ${sent + i} ${"x".repeat(200)}`, ...(timestamp === undefined ? {} : { timestamp }) }));
    const answer = await produce(broker, topic, records);
    expect(answer.status).toBe(200);
  }
}

const describe = async (broker: BrokerProcess, topic: string) => (await getJson(`${broker.url}/api/v1/topics/${topic}`)).body.partitions[0];
const consumeAt = (broker: BrokerProcess, topic: string, offset: number) => getJson(`${broker.url}/api/v1/consume?topic=${topic}&partition=0&offset=${offset}&count=1`);
const logFiles = (broker: BrokerProcess, topic: string) => readdirSync(path.join(broker.dataDir, `${topic}-0`)).filter((name) => name.endsWith(".log")).sort();
const deletedFiles = (broker: BrokerProcess, topic: string) => readdirSync(path.join(broker.dataDir, `${topic}-0`)).filter((name) => name.endsWith(".deleted"));

test("DeleteRecords moves the log start mid-segment: reads below answer 416 with earliest, a group below resumes at the log start, a restart keeps it", async () => {
  const broker = await startBrokerProcess({ args: SMALL_SEGMENTS });
  await createTopic(broker, "t", 1);
  await fill(broker, "t", 40);
  const segmentsBefore = logFiles(broker, "t").length;
  expect(segmentsBefore).toBeGreaterThan(4);
  // A group committed at 3, before the records go.
  expect((await postJson(`${broker.url}/api/v1/consumer-groups/g/offsets`, { offsets: [{ topic: "t", partition: 0, offset: 3 }] })).status).toBe(200);

  const answer = await postJson(`${broker.url}/api/v1/topics/t/delete-records`, { partitions: [{ partition: 0, before: 21 }] });
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({ topic: "t", partitions: [{ partition: 0, log_start_offset: 21 }] });
  expect((await describe(broker, "t")).earliest_offset).toBe(21);
  expect(logFiles(broker, "t").length).toBeLessThan(segmentsBefore);
  expect(Number(logFiles(broker, "t")[0]!.slice(0, 20))).toBeLessThanOrEqual(21); // 21 lies inside the first segment kept... or starts it
  expect(broker.stderr()).toContain("DeleteRecords: deleted");

  const below = await consumeAt(broker, "t", 20);
  expect(below.status).toBe(416);
  expect(below.body.error.code).toBe("offset_out_of_range");
  expect(below.body.error).toMatchObject({ earliest: 21, latest: 40 });
  const atStart = await consumeAt(broker, "t", 21);
  expect(atStart.body.records[0].offset).toBe(21);

  const status = (await getJson(`${broker.url}/api/v1/consumer-groups/g/status`)).body.partitions[0];
  expect(status).toMatchObject({ committed_offset: 3, log_start_offset: 21, below_log_start: true, log_end_offset: 40, lag: 19 });
  const member = await getJson(`${broker.url}/api/v1/consume?topic=t&group_id=g&consumer_id=m1&timeout=0&count=1`);
  expect(member.status).toBe(200);
  expect(member.body.records[0].offset).toBe(21);

  // Past the high watermark is refused; moving back changes nothing.
  expect((await postJson(`${broker.url}/api/v1/topics/t/delete-records`, { partitions: [{ partition: 0, before: 41 }] })).status).toBe(416);
  expect((await postJson(`${broker.url}/api/v1/topics/t/delete-records`, { partitions: [{ partition: 0, before: 5 }] })).body.partitions[0].log_start_offset).toBe(21);

  await broker.restart();
  expect(readFileSync(path.join(broker.dataDir, "t-0", "log-start-offset-checkpoint"), "utf8")).toBe("0\n21\n");
  expect((await describe(broker, "t")).earliest_offset).toBe(21);
  expect((await consumeAt(broker, "t", 20)).status).toBe(416);
  expect(deletedFiles(broker, "t")).toEqual([]); // a clean stop removed the renamed files
});

test("admin delete-records moves the log start; a kill -9 between the rename and the removal restarts clean", async () => {
  const broker = await startBrokerProcess({ args: SMALL_SEGMENTS });
  await createTopic(broker, "c", 1);
  await fill(broker, "c", 30);
  const cli = await runCli(["admin", "delete-records", "--topic=c", "--partition=0", "--before=16", `--broker=${broker.hostPort}`]);
  expect(cli.exitCode).toBe(0);
  expect(cli.stdout).toContain("c-0: log start offset 16");
  // The segments below lie renamed `.deleted` until the delay (a minute) passes: a crash now leaves them.
  expect(deletedFiles(broker, "c").length).toBeGreaterThan(0);
  const kept = logFiles(broker, "c");
  await broker.kill();
  expect(deletedFiles(broker, "c").length).toBeGreaterThan(0);
  await broker.restart();
  expect(deletedFiles(broker, "c")).toEqual([]);
  expect(logFiles(broker, "c")).toEqual(kept);
  expect((await describe(broker, "c")).earliest_offset).toBe(16);
  expect((await consumeAt(broker, "c", 15)).status).toBe(416);
  expect((await consumeAt(broker, "c", 16)).body.records[0].offset).toBe(16);
  expect(broker.stderr()).toContain("removed");
});

test("delete retention by time removes the sealed segments older than retention.ms and keeps the active one", async () => {
  const broker = await startBrokerProcess({ args: [...SMALL_SEGMENTS, "--retention-check-interval=100ms"] });
  await createTopic(broker, "old", 1);
  // Records stamped eight days ago: past the default retention.ms (seven days).
  await fill(broker, "old", 20, Date.now() - 8 * DAY_MS);
  const end = (await describe(broker, "old")).next_offset;
  await waitFor(() => logFiles(broker, "old").length === 1, "retention to delete every sealed segment");
  const partition = await describe(broker, "old");
  // The active segment stays even though its records are as old.
  expect(partition.earliest_offset).toBe(Number(logFiles(broker, "old")[0]!.slice(0, 20)));
  expect(partition.earliest_offset).toBeGreaterThan(0);
  expect(partition.next_offset).toBe(end);
  expect(broker.stderr()).toContain("retention: deleted");
  const metrics = await (await fetch(`${broker.url}/metrics`)).text();
  expect(metrics).toMatch(/gafka_retention_deleted_segments_total\{topic="old",partition="0"\} [1-9]/);
  expect(metrics).toContain(`gafka_log_start_offset{topic="old",partition="0"} ${partition.earliest_offset}`);
});

test("the log start replicates: the follower deletes the same segments and holds the same files; a follower that joins later starts at the leader's first segment", async () => {
  const leader = await startLeader(SMALL_SEGMENTS);
  const follower = await startFollower(leader, 2, SMALL_SEGMENTS);
  await createTopic(leader, "r", 1);
  await fill(leader, "r", 40);
  await waitCaughtUp(leader, [follower]);
  expect((await postJson(`${leader.url}/api/v1/topics/r/delete-records`, { partitions: [{ partition: 0, before: 25 }] })).status).toBe(200);
  await waitFor(async () => (await describe(follower, "r")).earliest_offset === 25, "the follower to follow the log start");
  expect(segmentFiles(follower.dataDir)).toEqual(segmentFiles(leader.dataDir));
  expect((await consumeAt(follower, "r", 24)).status).toBe(416);

  // A follower that was away while the segments went starts again at the leader's first segment.
  const late = await startFollower(leader, 3, SMALL_SEGMENTS);
  await fill(leader, "r", 4);
  await waitCaughtUp(leader, [follower, late]);
  await waitFor(async () => (await describe(late, "r")).earliest_offset === 25, "the late follower to take the log start");
  expect(segmentFiles(late.dataDir)).toEqual(segmentFiles(leader.dataDir));
});

test("retention by size with a topic's own retention.bytes: the partition stays under retention.bytes plus one segment, the active segment stays, the follower deletes the same segments", async () => {
  const leader = await startLeader([...SMALL_SEGMENTS, "--retention-check-interval=100ms"]);
  const follower = await startFollower(leader, 2, [...SMALL_SEGMENTS, "--retention-check-interval=100ms"]);
  const created = await postJson(`${leader.url}/api/v1/topics`, { name: "sized", partitions: 1, configs: { "retention.bytes": 4096, "retention.ms": -1 } });
  expect(created.status).toBe(201);
  await fill(leader, "sized", 60);
  const partitionBytes = (broker: BrokerProcess) =>
    logFiles(broker, "sized").reduce((sum, name) => sum + readFileSync(path.join(broker.dataDir, "sized-0", name)).length, 0);
  await waitFor(async () => (await describe(leader, "sized")).earliest_offset > 0 && partitionBytes(leader) <= 4096 + 1024, "retention by size on the leader");
  expect(partitionBytes(leader)).toBeLessThanOrEqual(4096 + 1024);
  expect(logFiles(leader, "sized").length).toBeGreaterThanOrEqual(1);
  // The newest records are all still there: only whole segments from the front went.
  // next_offset is the high watermark, which waits for the in-sync follower.
  await waitFor(async () => (await describe(leader, "sized")).next_offset === 60, "the high watermark to reach the log end");
  const newest = await consumeAt(leader, "sized", 59);
  expect(newest.body.records[0].offset).toBe(59);
  // The follower holds the same segments, byte for byte.
  await waitCaughtUp(leader, [follower]);
  await waitFor(async () => (await describe(follower, "sized")).earliest_offset === (await describe(leader, "sized")).earliest_offset, "the follower's log start");
  await waitFor(() => logFiles(follower, "sized").join() === logFiles(leader, "sized").join(), "the follower to delete the same segments");
  for (const name of logFiles(leader, "sized").slice(0, -1)) {
    expect(readFileSync(path.join(follower.dataDir, "sized-0", name)).equals(readFileSync(path.join(leader.dataDir, "sized-0", name)))).toBe(true);
  }
});

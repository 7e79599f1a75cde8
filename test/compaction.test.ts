import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";
import { parseSamples } from "./helpers/metrics.ts";
import { startFollower, startLeader, waitCaughtUp } from "./helpers/cluster.ts";

afterAll(cleanupAll);


interface WireRecord {
  offset: number;
  key: string | null;
  value: string | null;
}

/** The whole partition, page by page; a page may hold no record yet move on (offsets compacted away). */
async function readAll(url: string, topic: string): Promise<WireRecord[]> {
  const records: WireRecord[] = [];
  let next = 0;
  for (;;) {
    const { status, body } = await getJson(`${url}/api/v1/consume?topic=${topic}&partition=0&offset=${next}&count=50&timeout=0`);
    if (status !== 200) throw new Error(`consume answered ${status}: ${JSON.stringify(body)}`);
    records.push(...body.records);
    if (body.next_offset >= body.high_watermark) return records;
    expect(body.next_offset).toBeGreaterThan(next);
    next = body.next_offset;
  }
}

async function cleanerRuns(url: string, topic: string): Promise<number> {
  return parseSamples(await (await fetch(`${url}/metrics`)).text()).get(`gafka_log_cleaner_runs_total{topic="${topic}",partition="0"}`) ?? 0;
}

test("a compacted topic's sealed segments are compacted in the background: one value per key, tombstones kept, offsets kept", async () => {
  const broker = await startBrokerProcess({ args: ["--segment-bytes", "1024", "--cleaner-backoff", "100ms"] });
  const created = await postJson(`${broker.url}/api/v1/topics`, { name: "compacted", partitions: 1, configs: { "cleanup.policy": "compact" } });
  expect(created.status).toBe(201);
  const expected = new Map<string, string | null>();
  for (let round = 0; round < 20; round++) {
    const records = Array.from({ length: 10 }, (_, k) => ({ partition: 0, key: `k${k}`, value: `round-${round}-`.padEnd(60, "x") }));
    expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "compacted", records })).status).toBe(200);
    for (const r of records) expected.set(r.key, r.value);
  }
  const tombstones = [{ partition: 0, key: "k8", value: null }, { partition: 0, key: "k9", value: null }];
  expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "compacted", records: tombstones })).status).toBe(200);
  expected.set("k8", null);
  expected.set("k9", null);
  // Enough after the tombstones that they end up in sealed segments too.
  for (let i = 0; i < 30; i++) {
    expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "compacted", records: [{ partition: 0, key: `late-${i}`, value: "x".repeat(60) }] })).status).toBe(200);
    expected.set(`late-${i}`, "x".repeat(60));
  }

  await waitFor(async () => (await cleanerRuns(broker.url, "compacted")) >= 1, "a compaction pass");

  const records = await readAll(broker.url, "compacted");
  expect(records.length).toBeLessThan(200);
  const newest = new Map<string, string | null>();
  for (const r of records) newest.set(r.key!, r.value);
  expect(newest).toEqual(expected);
  // Offsets only grow, and the records after the last produce's are where they were.
  for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
  expect(records.at(-1)!.offset).toBe(231);

  expect(await broker.stop()).toBe(0);
  const verify = await runCli(["admin", "verify", "--data-dir", broker.dataDir]);
  expect(verify.exitCode).toBe(0);
});

test("leader and follower each compact their copy: same newest value per key, same segments, replication goes on after", async () => {
  const args = ["--segment-bytes", "1024", "--cleaner-backoff", "100ms"];
  const leader = await startLeader(args);
  const follower = await startFollower(leader, 2, args);
  const created = await postJson(`${leader.url}/api/v1/topics`, { name: "compacted-r", partitions: 1, configs: { "cleanup.policy": "compact" } });
  expect(created.status).toBe(201);
  const produceRounds = async (from: number, to: number) => {
    for (let round = from; round < to; round++) {
      const records = Array.from({ length: 8 }, (_, k) => ({ partition: 0, key: `k${k}`, value: `round-${round}-`.padEnd(60, "x") }));
      expect((await postJson(`${leader.url}/api/v1/produce`, { topic: "compacted-r", records, acks: "all" })).status).toBe(200);
    }
  };
  await produceRounds(0, 20);
  await waitCaughtUp(leader, [follower]);
  await waitFor(async () => (await cleanerRuns(leader.url, "compacted-r")) >= 1 && (await cleanerRuns(follower.url, "compacted-r")) >= 1, "a pass on both");
  // Replication carries on over compacted logs.
  await produceRounds(20, 30);
  await waitCaughtUp(leader, [follower]);

  const newest = (records: WireRecord[]) => new Map(records.map((r) => [r.key, r.value]));
  const onLeader = await readAll(leader.url, "compacted-r");
  const onFollower = await readAll(follower.url, "compacted-r");
  expect(newest(onFollower)).toEqual(newest(onLeader));
  expect(newest(onLeader).get("k7")).toBe("round-29-".padEnd(60, "x"));
  expect(onLeader.length).toBeLessThan(240);
  // Segment boundaries are the same on both (compaction never moves them).
  const segmentNames = (dataDir: string) => readdirSync(path.join(dataDir, "compacted-r-0")).filter((name) => name.endsWith(".log")).sort();
  expect(segmentNames(follower.dataDir)).toEqual(segmentNames(leader.dataDir));
});

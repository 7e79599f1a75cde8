import { afterAll, expect, test } from "bun:test";
import { Broker } from "../src/broker/broker.ts";
import { cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";
import { parseSamples } from "./helpers/metrics.ts";

afterAll(cleanupAll);

/**
 * Topics carry configurations once the Broker is their TopicConfigSource;
 * until then every topic is `cleanup.policy=delete` and the cleaner has
 * nothing to do (src/run-broker.ts, startCleaner's stand-in).
 */
const topicsCarryConfigs = "configOf" in Broker.prototype;

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

test.skipIf(!topicsCarryConfigs)("a compacted topic's sealed segments are compacted in the background: one value per key, tombstones kept, offsets kept", async () => {
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

  const runs = async () => parseSamples(await (await fetch(`${broker.url}/metrics`)).text()).get('gafka_log_cleaner_runs_total{topic="compacted",partition="0"}') ?? 0;
  await waitFor(async () => (await runs()) >= 1, "a compaction pass");

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

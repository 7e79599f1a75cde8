import { afterEach, expect, test } from "bun:test";
import { testRunConfig } from "../test/helpers/broker-config.ts";
import { makeTempDir } from "../test/helpers/temp-dir.ts";
import { runBroker, type RunningBroker } from "./run-broker.ts";
import { parseSamples } from "../test/helpers/metrics.ts";

const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function started(overrides: Parameters<typeof testRunConfig>[1] = {}): Promise<RunningBroker> {
  const temp = makeTempDir("gafka-run-broker-");
  cleanups.push(temp.remove);
  const running = await runBroker(testRunConfig(temp.dir, overrides));
  cleanups.push(() => running.stop());
  return running;
}

/** `name{labels}` → value of every sample GET /metrics answers. */
async function scrape(running: RunningBroker): Promise<Map<string, number>> {
  const response = await fetch(`${running.url}/metrics`);
  expect(response.status).toBe(200);
  return parseSamples(await response.text());
}

async function produce(running: RunningBroker, topic: string, records: unknown[]): Promise<void> {
  const response = await fetch(`${running.url}/api/v1/produce`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ topic, records }),
  });
  expect(response.status).toBe(200);
}

test("GET /metrics counts the log's fsyncs, their time and the records each made durable", async () => {
  let hookCalls = 0;
  const running = await started({ onFsync: () => void hookCalls++ });
  await running.broker.createTopic("f", 1);
  const before = await scrape(running);
  expect(before.get("gafka_log_fsync_duration_seconds_count")).toBe(0);
  expect(before.get("gafka_log_records_per_fsync_count")).toBe(0);

  await produce(running, "f", [0, 1, 2].map((i) => ({ partition: 0, value: `v${i}` })));
  await Promise.all([0, 1, 2, 3].map((i) => produce(running, "f", [{ partition: 0, value: `w${i}` }])));
  const after = await scrape(running);
  const fsyncs = after.get("gafka_log_fsync_duration_seconds_count")!;
  expect(fsyncs).toBeGreaterThanOrEqual(2);
  expect(fsyncs).toBeLessThanOrEqual(5);
  expect(after.get("gafka_log_fsync_duration_seconds_sum")).toBeGreaterThan(0);
  expect(after.get('gafka_log_fsync_duration_seconds_bucket{le="+Inf"}')).toBe(fsyncs);
  // Every record produced was made durable by exactly one fsync.
  expect(after.get("gafka_log_records_per_fsync_sum")).toBe(7);
  expect(after.get("gafka_log_records_per_fsync_count")).toBe(fsyncs);
  expect(after.get('gafka_log_records_per_fsync_bucket{le="1"}')).toBeLessThan(fsyncs);
  expect(hookCalls).toBe(fsyncs);
});

test("a broker on a non-loopback address without TLS logs the exposure warning at start; on loopback it does not", async () => {
  const warnings: string[] = [];
  const logger = { error: () => {}, info: () => {}, debug: () => {}, warn: (message: unknown) => void warnings.push(String(message)) };
  const temp = makeTempDir("gafka-run-broker-");
  cleanups.push(temp.remove);
  const exposed = await runBroker({ ...testRunConfig(temp.dir, { logger }), host: "0.0.0.0" });
  cleanups.push(() => exposed.stop());
  const block = warnings.find((warning) => warning.includes("WARNING: listening on 0.0.0.0"));
  expect(block).toContain("no TLS");
  await exposed.stop();
  warnings.length = 0;
  await started({ logger });
  expect(warnings.filter((warning) => warning.includes("WARNING"))).toEqual([]);
});

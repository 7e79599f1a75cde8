import { afterAll, beforeAll, expect, test } from "bun:test";
import { runBroker, type RunningBroker } from "../../run-broker.ts";
import { testRunConfig } from "../../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../../test/helpers/temp-dir.ts";
import { parseSamples } from "../../../test/helpers/metrics.ts";

const temp = makeTempDir("gafka-metrics-http-");
let running: RunningBroker;

beforeAll(async () => {
  // The per group-partition series are asked for (--metrics-group-partitions); test/metrics-bounds.test.ts checks the default.
  running = await runBroker(testRunConfig(temp.dir, { metricsGroupPartitions: true }));
});

afterAll(async () => {
  await running.stop();
  temp.remove();
});

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${running.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Every sample of a scrape, `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const response = await call("GET", "/metrics");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseSamples(await response.text());
}

function sample(samples: Map<string, number>, series: string): number {
  const value = samples.get(series);
  if (value === undefined) throw new Error(`no sample ${series} in:\n${[...samples.keys()].join("\n")}`);
  return value;
}

test("the series exist and move with produce and consume traffic", async () => {
  expect((await call("POST", "/api/v1/topics", { name: "m", partitions: 2 })).status).toBe(201);
  const before = await scrape();
  expect(before.get('gafka_records_produced_total{topic="m"}')).toBeUndefined();
  expect(sample(before, 'gafka_log_end_offset{topic="m",partition="0"}')).toBe(0);
  expect(sample(before, "process_resident_memory_bytes")).toBeGreaterThan(0);
  expect(sample(before, "bun_heap_used_bytes")).toBeGreaterThan(0);
  expect(sample(before, "gafka_long_polls_waiting")).toBe(0);

  const records = [0, 1, 2, 3].map((i) => ({ partition: i % 2, key: "k", value: "12345" }));
  expect((await call("POST", "/api/v1/produce", { topic: "m", records })).status).toBe(200);
  expect((await call("POST", "/api/v1/produce", { topic: "m", value: "x" })).status).toBe(200);
  expect((await call("GET", "/api/v1/consume?topic=m&partition=0&offset=0")).status).toBe(200);
  expect((await call("GET", "/api/v1/consume?topic=m&group_id=g&consumer_id=c1&count=100")).status).toBe(200);
  expect((await call("GET", "/api/v1/consume?topic=m&group_id=g&consumer_id=c1&timeout=0")).status).toBe(200); // commits the first
  expect((await call("GET", "/api/v1/topics/nope")).status).toBe(404);
  expect((await call("PUT", "/api/v1/produce")).status).toBe(405);

  const after = await scrape();
  expect(sample(after, 'gafka_records_produced_total{topic="m"}')).toBe(5);
  expect(sample(after, 'gafka_bytes_produced_total{topic="m"}')).toBe(4 * 6 + 1);
  // Partition 0 read alone (2 records, or 3 with the round-robin one), then all 5 through the group.
  const consumed = sample(after, 'gafka_records_consumed_total{topic="m"}');
  expect(consumed).toBeGreaterThanOrEqual(7);
  expect(sample(after, 'gafka_bytes_consumed_total{topic="m"}')).toBeGreaterThan(0);
  const endOffsets = sample(after, 'gafka_log_end_offset{topic="m",partition="0"}') + sample(after, 'gafka_log_end_offset{topic="m",partition="1"}');
  expect(endOffsets).toBe(5);
  expect(sample(after, 'gafka_log_size_bytes{topic="m",partition="0"}')).toBeGreaterThan(0);
  expect(sample(after, 'gafka_log_start_offset{topic="m",partition="1"}')).toBe(0);
  expect(sample(after, 'gafka_group_members{group="g"}')).toBe(1);
  for (const partition of ["0", "1"]) {
    const labels = `{group="g",topic="m",partition="${partition}"}`;
    expect(sample(after, `gafka_group_lag${labels}`)).toBe(0);
    expect(sample(after, `gafka_group_committed_offset${labels}`)).toBe(sample(after, `gafka_log_end_offset{topic="m",partition="${partition}"}`));
  }
  expect(sample(after, 'gafka_http_requests_total{route="/api/v1/produce",method="POST",status="200"}')).toBe(2);
  expect(sample(after, 'gafka_http_requests_total{route="/api/v1/consume",method="GET",status="200"}')).toBe(3);
  expect(sample(after, 'gafka_http_requests_total{route="/api/v1/topics/{name}",method="GET",status="404"}')).toBe(1);
  expect(sample(after, 'gafka_http_requests_total{route="unmatched",method="PUT",status="405"}')).toBe(1);
  expect(sample(after, 'gafka_http_requests_total{route="/metrics",method="GET",status="200"}')).toBe(1);
  expect(sample(after, 'gafka_http_request_duration_seconds_count{route="/api/v1/produce",method="POST"}')).toBe(2);
  expect(sample(after, 'gafka_http_request_duration_seconds_bucket{route="/api/v1/produce",method="POST",le="+Inf"}')).toBe(2);
  expect(sample(after, 'gafka_http_request_duration_seconds_sum{route="/api/v1/produce",method="POST"}')).toBeGreaterThan(0);
  expect(sample(after, "process_cpu_seconds_total")).toBeGreaterThan(0);
});

test("a group's lag shows records it has not committed", async () => {
  expect((await call("POST", "/api/v1/topics", { name: "lagging", partitions: 1 })).status).toBe(201);
  expect((await call("POST", "/api/v1/consumer-groups/slow/offsets", { offsets: [{ topic: "lagging", partition: 0, offset: 0 }] })).status).toBe(200);
  const records = Array.from({ length: 7 }, (_, i) => ({ value: `v${i}` }));
  expect((await call("POST", "/api/v1/produce", { topic: "lagging", records })).status).toBe(200);
  const samples = await scrape();
  expect(sample(samples, 'gafka_group_lag{group="slow",topic="lagging",partition="0"}')).toBe(7);
  expect(sample(samples, 'gafka_group_committed_offset{group="slow",topic="lagging",partition="0"}')).toBe(0);
  expect(sample(samples, 'gafka_group_members{group="slow"}')).toBe(0);
  expect(sample(samples, 'gafka_group_lag_total{group="slow"}')).toBe(7);
  expect(sample(samples, 'gafka_group_partitions{group="slow"}')).toBe(1);
});

test("a long poll in wait is counted while it waits", async () => {
  expect((await call("POST", "/api/v1/topics", { name: "quiet", partitions: 1 })).status).toBe(201);
  const waiting = call("GET", "/api/v1/consume?topic=quiet&partition=0&offset=0&timeout=10s");
  const deadline = Date.now() + 10_000;
  let seen = 0;
  while (seen === 0 && Date.now() < deadline) {
    seen = sample(await scrape(), "gafka_long_polls_waiting");
    if (seen === 0) await Bun.sleep(10);
  }
  expect(seen).toBe(1);
  expect((await call("POST", "/api/v1/produce", { topic: "quiet", value: "wake" })).status).toBe(200);
  expect((await waiting).status).toBe(200);
});

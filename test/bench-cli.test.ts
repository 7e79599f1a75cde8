import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BrokerProcess, cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";

/**
 * `gafka bench` against a real broker: short bounded runs of each mode, whose
 * JSON figures must be consistent (counts add up, rates positive,
 * percentiles ordered). Never an assertion on speed.
 */

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBrokerProcess({ args: ["--fsync", "never"] });
});

afterAll(async () => {
  await cleanupAll();
});

interface LatencyJson {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

async function bench(args: string[]): Promise<{ exitCode: number; json: any; stderr: string }> {
  const result = await runCli(["bench", ...args, "--broker", broker.hostPort, "--json"], { timeoutMs: 60_000 });
  const line = result.stdout.trim().split("\n").at(-1) ?? "";
  let json: any;
  try {
    json = JSON.parse(line);
  } catch {
    throw new Error(`bench ${args.join(" ")} printed no JSON (exit ${result.exitCode})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  return { exitCode: result.exitCode, json, stderr: result.stderr };
}

function expectSaneLatency(latency: LatencyJson, count: number): void {
  expect(latency.count).toBe(count);
  expect(latency.min).toBeGreaterThanOrEqual(0);
  expect(latency.min).toBeLessThanOrEqual(latency.p50);
  expect(latency.p50).toBeLessThanOrEqual(latency.p95);
  expect(latency.p95).toBeLessThanOrEqual(latency.p99);
  expect(latency.p99).toBeLessThanOrEqual(latency.max);
  expect(latency.mean).toBeGreaterThanOrEqual(latency.min);
  expect(latency.mean).toBeLessThanOrEqual(latency.max);
}

function expectSaneRates(json: any, messageBytes: number): void {
  expect(json.errors).toBe(0);
  expect(json.first_error).toBeUndefined();
  expect(json.elapsed_ms).toBeGreaterThan(0);
  expect(json.messages_per_second).toBeGreaterThan(0);
  expect(json.bytes).toBe(json.messages * messageBytes);
  expect(json.bytes_per_second).toBeGreaterThan(0);
  expect(json.megabytes_per_second).toBeCloseTo(json.bytes_per_second / 1e6, 2);
}

test("produce, then consume the same messages through a new group", async () => {
  const produced = await bench(["produce", "--topic", "bench-a", "--partitions", "3", "--count", "3000", "--size", "200", "--producers", "2", "--batch-size", "50"]);
  expect(produced.exitCode).toBe(0);
  expect(produced.json).toMatchObject({ mode: "produce", topic: "bench-a", partitions: 3, messages: 3000, sent: 3000, latency_kind: "send_to_ack" });
  expect(produced.json.settings).toMatchObject({ message_bytes: 200, count: 3000, producers: 2, batch_size: 50, acks: null });
  expectSaneRates(produced.json, 200);
  expectSaneLatency(produced.json.latency_ms, 3000);
  // Not a terminal: no progress line.
  expect(produced.stderr).not.toContain("msg/s");

  const consumed = await bench(["consume", "--topic", "bench-a", "--count", "3000", "--max-poll-records", "400"]);
  expect(consumed.exitCode).toBe(0);
  expect(consumed.json).toMatchObject({ mode: "consume", topic: "bench-a", partitions: 3, messages: 3000, duplicates: 0, latency_kind: "poll" });
  expectSaneRates(consumed.json, 200);
  expectSaneLatency(consumed.json.latency_ms, consumed.json.latency_ms.count);
  expect(consumed.json.latency_ms.count).toBeGreaterThanOrEqual(Math.ceil(3000 / 400));
  // The run's own group is gone once it is done.
  expect(consumed.json.settings.group).toStartWith("gafka-bench-");
  expect(await groupIds()).not.toContain(consumed.json.settings.group);

  // A group named with --group is the user's: it stays.
  const named = await bench(["consume", "--topic", "bench-a", "--count", "3000", "--group", "bench-kept"]);
  expect(named.exitCode).toBe(0);
  expect(await groupIds()).toContain("bench-kept");
});

async function groupIds(): Promise<string[]> {
  const answer = (await (await fetch(`${broker.url}/api/v1/consumer-groups`)).json()) as { groups: { group_id: string }[] };
  return answer.groups.map((group) => group.group_id);
}

test("e2e at a fixed rate receives every message it sent, with send-to-receipt latencies", async () => {
  const run = await bench(["e2e", "--topic", "bench-e2e", "--count", "400", "--rate", "1000", "--size", "100", "--consumers", "2", "--acks", "all"]);
  expect(run.exitCode).toBe(0);
  expect(run.json).toMatchObject({ mode: "e2e", topic: "bench-e2e", partitions: 2, messages: 400, sent: 400, duplicates: 0, latency_kind: "send_to_receive" });
  expect(run.json.settings).toMatchObject({ rate: 1000, consumers: 2, linger_ms: 0, acks: "all", commit_interval_ms: null });
  expectSaneRates(run.json, 100);
  expectSaneLatency(run.json.latency_ms, 400);
  expectSaneLatency(run.json.produce_latency_ms, 400);
  expect(run.json.sent_per_second).toBeGreaterThan(0);
  expect(await groupIds()).not.toContain(run.json.settings.group);

  // A second run on the same topic counts only its own messages; its members commit in the background.
  // The whole run is inside its warm-up: every message counts, no latency is recorded.
  const again = await bench(["e2e", "--topic", "bench-e2e", "--count", "100", "--rate", "1000", "--size", "100", "--commit-interval", "50ms", "--warm-up", "1h"]);
  expect(again.exitCode).toBe(0);
  expect(again.json.messages).toBe(100);
  expect(again.json.duplicates).toBe(0);
  expect(again.json.settings).toMatchObject({ commit_interval_ms: 50, warm_up_ms: 3_600_000 });
  expect(again.json.latency_ms.count).toBe(0);
  expect(again.json.produce_latency_ms.count).toBe(0);
});

test("e2e says when the messages went out slower than --rate", async () => {
  // One message in flight at a time cannot go out at a hundred million a second.
  const run = await bench(["e2e", "--topic", "bench-slow", "--count", "200", "--rate", "100000000", "--max-pending", "1", "--size", "100"]);
  expect(run.exitCode).toBe(0);
  expect(run.json.messages).toBe(200);
  expect(run.json.sent_per_second).toBeLessThan(100_000_000 * 0.9);
  expect(run.stderr).toMatch(/^warning: sent [\d,]+ msg\/s, short of --rate 100,000,000 msg\/s \(\d+%\): the producers could not keep up/m);
  expect(await groupIds()).not.toContain(run.json.settings.group);
});

test("--duration bounds a run without a count", async () => {
  const run = await bench(["produce", "--topic", "bench-d", "--duration", "500ms", "--size", "10", "--rate", "2000"]);
  expect(run.exitCode).toBe(0);
  expect(run.json.settings).toMatchObject({ count: null, duration_ms: 500, rate: 2000 });
  expect(run.json.messages).toBeGreaterThan(0);
  expect(run.json.messages).toBe(run.json.sent);
  expectSaneRates(run.json, 10);
  expectSaneLatency(run.json.latency_ms, run.json.messages);
});

test("a consume that finds fewer messages than asked reports the shortfall and exits 1", async () => {
  const produced = await bench(["produce", "--topic", "bench-short", "--count", "10", "--size", "10"]);
  expect(produced.exitCode).toBe(0);
  const consumed = await bench(["consume", "--topic", "bench-short", "--count", "20", "--idle-timeout", "300ms"]);
  expect(consumed.exitCode).toBe(1);
  expect(consumed.json.messages).toBe(10);
  expect(consumed.json.errors).toBe(1);
  expect(consumed.json.first_error).toContain("received 10 of 20");
  expect(consumed.stderr).toContain("error: 1 error during the run");
});

test("bad arguments are refused before anything is sent", async () => {
  const result = await runCli(["bench", "produce", "--broker", broker.hostPort, "--acks", "2"]);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toContain("--acks must be 0, 1 or all");
  const tooSmall = await runCli(["bench", "e2e", "--broker", broker.hostPort, "--size", "8"]);
  expect(tooSmall.exitCode).toBe(1);
  expect(tooSmall.stderr).toContain("--size must be at least");
  const badInterval = await runCli(["bench", "consume", "--broker", broker.hostPort, "--commit-interval", "soon"]);
  expect(badInterval.exitCode).toBe(1);
  expect(badInterval.stderr).toContain("--commit-interval must be a duration");
});

test("gafka produce and consume speak either form (--format), and refuse any other", async () => {
  expect((await runCli(["admin", "create-topic", "--name", "formats", "--partitions", "2", "--broker", broker.hostPort])).exitCode).toBe(0);
  const produced = await runCli(["produce", "--topic", "formats", "--broker", broker.hostPort, "--format", "json"], { stdin: "a\nb\n" });
  expect(produced.exitCode).toBe(0);
  const producedBatch = await runCli(["produce", "--topic", "formats", "--broker", broker.hostPort, "--format", "batch", "--partition", "0"], {
    stdin: "c\n",
  });
  expect(producedBatch.exitCode).toBe(0);
  const values = async (format: string) => {
    const lines: string[] = [];
    for (const partition of ["0", "1"]) {
      const read = await runCli(["consume", "--topic", "formats", "--partition", partition, "--count", "10", "--timeout", "300ms", "--json", "--format", format, "--broker", broker.hostPort]);
      expect(read.exitCode).toBe(0);
      for (const line of read.stdout.trim().split("\n").filter(Boolean)) lines.push(JSON.parse(line).value);
    }
    return lines.sort();
  };
  expect(await values("json")).toEqual(["a", "b", "c"]);
  expect(await values("batch")).toEqual(["a", "b", "c"]);
  const refused = await runCli(["consume", "--topic", "formats", "--format", "avro", "--broker", broker.hostPort]);
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toContain("--format must be batch or json");
});

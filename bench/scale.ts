/**
 * How gafka's cost grows with partitions, topics and groups on one broker: three curves, each
 * point on a fresh broker with `--fsync=always` (the metrics curve adds groups to one broker).
 *
 * - produce: batched produce throughput and p50/p99 latency against partitions (default 2, 16,
 *   64, 256, 1000), P2's command at each point: `gafka bench produce --size 1024 --producers 4
 *   --batch-size 1000 --linger-ms 5`, --count messages in all. `gafka bench produce` sends to
 *   one topic, and one topic holds at most 100 partitions: past 100 the partitions are spread
 *   over topics of up to 100, one `gafka bench produce` process per topic, all at once (each
 *   with --producers 4 and its share of --count). Throughput is then the sum of the processes'
 *   msg/s, p50 the median of their p50s and p99 the largest of their p99s. With --rounds=N the
 *   points run N times, the order reversed every other round (so a drift of the machine does
 *   not fall on one end of the curve), and each figure is the median of its rounds. The
 *   latency is send to acknowledgement with `gafka bench produce`'s default window of four
 *   batches per producer unacknowledged (4 × 4,000 records), whatever the partitions, within
 *   the Producer's own bounds (5 requests in flight, 32 MiB); at saturation p50 is about that
 *   window's drain time (Little's law), so the p50 ratio follows the throughput ratio.
 *   --max-pending=N passes another window per producer. (Before the window was fixed, the
 *   default was two batches per partition per producer: 4 × 128,000 records at 64 partitions.)
 * - start: for each --start-partitions count (default 1000, 10000), topics of 100 empty
 *   partitions are created one by one over HTTP (timed); then the broker's RSS (VmRSS of
 *   /proc/PID/status) and open descriptors (entries of /proc/PID/fd); then a clean stop
 *   (SIGTERM) and a start, timed from spawn to its `listening on` line, and RSS and descriptors
 *   again, --settle-ms after that line. The broker caps its partitions (`--partitions-max`,
 *   10,000 by default, docs/operations.md "Sizing"): a point past the cap is reported as
 *   refused with the cap; pass --partitions-max=N to measure it.
 * - metrics: `/metrics` size and scrape time against groups (default 10, 100, 1000), each group
 *   with committed offsets (offset 0) on every partition of one 100-partition topic, committed
 *   over HTTP without members; the scrape time is the median of --scrapes GETs, body read. Twice:
 *   on a broker with the default metrics, and on one with --metrics-group-partitions (a series
 *   per group and partition).
 *
 * Prints Markdown tables; --write appends a section to bench/RESULTS.md and writes the curves to
 * bench/scale.svg, which the section shows.
 *
 *   bun bench/scale.ts [--only=produce,start,metrics] [--partitions=2,16,64,256,1000] [--count=600000] [--rounds=1] [--max-pending=N]
 *     [--start-partitions=1000,10000] [--groups=10,100,1000] [--scrapes=5] [--settle-ms=1000]
 *     [--partitions-max=N] [--broker-arg=--flag=value ...] [--write]
 */
import { readdir, readFile } from "node:fs/promises";
import { cleanupAll, runCli, startBrokerProcess, type BrokerProcess } from "../test/helpers/broker-process.ts";
import { type MetricsPoint, type ProducePoint, type StartPoint, scaleReport } from "./scale-report.ts";

export interface Options {
  only: Set<string>;
  partitions: number[];
  count: number;
  rounds: number;
  pendingMax: number | undefined;
  startPartitions: number[];
  groups: number[];
  scrapes: number;
  settleMs: number;
  partitionsMax: number | undefined;
  /** More broker flags (--broker-arg=--commit-journal=off, repeatable): to compare a setting on and off. */
  brokerArgs: string[];
  write: boolean;
}

const CURVES = ["produce", "start", "metrics"];
/** One topic's partition limit (limits.partitionsPerTopicMax): wider points spread over topics of this size. */
const PARTITIONS_PER_TOPIC = 100;
const PRODUCE_TIMEOUT_MS = 900_000;
const COMMITS_IN_FLIGHT = 8;

function numbers(value: string): number[] {
  const list = value.split(",").map(Number);
  if (list.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`bad list ${value}`);
  return list;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    only: new Set(CURVES),
    partitions: [2, 16, 64, 256, 1000],
    count: 600_000,
    rounds: 1,
    pendingMax: undefined,
    startPartitions: [1000, 10_000],
    groups: [10, 100, 1000],
    scrapes: 5,
    settleMs: 1000,
    partitionsMax: undefined,
    brokerArgs: [],
    write: false,
  };
  for (const arg of argv) {
    const bare = arg.replace(/^--/, "");
    const equals = bare.indexOf("=");
    const [name, value] = equals < 0 ? [bare, ""] : [bare.slice(0, equals), bare.slice(equals + 1)];
    const number = Number(value);
    if (name === "only" && value.split(",").every((c) => CURVES.includes(c))) options.only = new Set(value.split(","));
    else if (name === "partitions") options.partitions = numbers(value);
    else if (name === "count" && number > 0) options.count = number;
    else if (name === "rounds" && Number.isInteger(number) && number > 0) options.rounds = number;
    else if (name === "max-pending" && Number.isInteger(number) && number > 0) options.pendingMax = number;
    else if (name === "start-partitions") options.startPartitions = numbers(value);
    else if (name === "groups") options.groups = numbers(value);
    else if (name === "scrapes" && number > 0) options.scrapes = number;
    else if (name === "settle-ms" && number >= 0) options.settleMs = number;
    else if (name === "partitions-max" && number > 0) options.partitionsMax = number;
    else if (name === "broker-arg" && value.startsWith("--")) options.brokerArgs.push(value);
    else if (name === "write" && value === "") options.write = true;
    else throw new Error(`unknown or bad option ${arg} (see the comment at the top of bench/scale.ts)`);
  }
  return options;
}

function brokerArgs(options: Options): string[] {
  return ["--fsync=always", ...(options.partitionsMax === undefined ? [] : [`--partitions-max=${options.partitionsMax}`]), ...options.brokerArgs];
}

/** Partitions of each topic for a point: topics of 100, the last one holding the rest. */
function topicSizes(partitions: number): number[] {
  const sizes: number[] = [];
  for (let left = partitions; left > 0; left -= PARTITIONS_PER_TOPIC) sizes.push(Math.min(PARTITIONS_PER_TOPIC, left));
  return sizes;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface BenchJson {
  messages_per_second: number;
  errors: number;
  latency_ms: { p50: number; p99: number };
}

/** One run of one point: the sum over its topics' processes. */
interface ProduceRun {
  topics: number;
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

async function produceRun(options: Options, partitions: number): Promise<ProduceRun> {
  const broker = await startBrokerProcess({ args: brokerArgs(options) });
  try {
    const sizes = topicSizes(partitions);
    const runs = await Promise.all(
      sizes.map(async (size, index) => {
        const count = Math.round((options.count * size) / partitions);
        const args = ["bench", "produce", "--broker", broker.hostPort, "--topic", `scale-${index}`, "--partitions", String(size), "--size", "1024",
          "--count", String(count), "--producers", "4", "--batch-size", "1000", "--linger-ms", "5", "--quiet", "--json",
          ...(options.pendingMax === undefined ? [] : ["--max-pending", String(options.pendingMax)])];
        const run = await runCli(args, { timeoutMs: PRODUCE_TIMEOUT_MS });
        if (run.exitCode !== 0) throw new Error(`bench produce failed (${partitions} partitions): ${run.stderr}`);
        return JSON.parse(run.stdout.trim().split("\n").at(-1)!) as BenchJson;
      }),
    );
    return {
      topics: sizes.length,
      messagesPerSecond: runs.reduce((sum, run) => sum + run.messages_per_second, 0),
      p50Ms: median(runs.map((run) => run.latency_ms.p50)),
      p99Ms: Math.max(...runs.map((run) => run.latency_ms.p99)),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
    };
  } finally {
    await broker.cleanup();
  }
}

async function produceCurve(options: Options): Promise<ProducePoint[]> {
  const runs = new Map<number, ProduceRun[]>(options.partitions.map((partitions) => [partitions, []]));
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? options.partitions : [...options.partitions].reverse();
    for (const partitions of order) {
      const run = await produceRun(options, partitions);
      console.error(`produce round ${round}: ${partitions} partitions, ${Math.round(run.messagesPerSecond)} msg/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms`);
      runs.get(partitions)!.push(run);
    }
  }
  return options.partitions.map((partitions) => {
    const rounds = runs.get(partitions)!;
    return {
      partitions,
      topics: rounds[0]!.topics,
      messagesPerSecond: median(rounds.map((run) => run.messagesPerSecond)),
      messagesPerSecondPerRound: rounds.map((run) => run.messagesPerSecond),
      p50Ms: median(rounds.map((run) => run.p50Ms)),
      p99Ms: median(rounds.map((run) => run.p99Ms)),
      errors: rounds.reduce((sum, run) => sum + run.errors, 0),
    };
  });
}

/** VmRSS in bytes and the count of open descriptors of a running process. */
async function footprint(pid: number): Promise<{ rssBytes: number; descriptors: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rssKilobytes = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return { rssBytes: rssKilobytes * 1024, descriptors: (await readdir(`/proc/${pid}/fd`)).length };
}

async function post(broker: BrokerProcess, path: string, body: unknown): Promise<Response> {
  return fetch(`${broker.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function startPoint(options: Options, partitions: number): Promise<StartPoint> {
  const spawnedAt = performance.now();
  const broker = await startBrokerProcess({ args: brokerArgs(options) });
  const emptyStartMs = performance.now() - spawnedAt;
  try {
    const createStartedAt = performance.now();
    for (const [index, size] of topicSizes(partitions).entries()) {
      const answer = await post(broker, "/api/v1/topics", { name: `scale-${index}`, partitions: size });
      if (answer.status < 300) continue;
      const text = await answer.text();
      const error = (JSON.parse(text) as { error?: { code?: string; limit?: number } }).error;
      if (error?.code === "limit_reached") return { partitions, refusedAtLimit: error.limit ?? index * PARTITIONS_PER_TOPIC, emptyStartMs };
      throw new Error(`creating topic ${index} answered ${answer.status}: ${text}`);
    }
    const createMs = performance.now() - createStartedAt;
    await Bun.sleep(options.settleMs);
    const created = await footprint(broker.process.pid);
    await broker.stop();
    const restartedAt = performance.now();
    await broker.restart();
    const restartMs = performance.now() - restartedAt;
    await Bun.sleep(options.settleMs);
    const restarted = await footprint(broker.process.pid);
    return { partitions, emptyStartMs, createMs, created, restartMs, restarted };
  } finally {
    await broker.cleanup();
  }
}

/** Commits offset 0 on every partition of `topic` for groups [from, to), a few requests at a time. */
async function commitGroups(broker: BrokerProcess, topic: string, partitions: number, from: number, to: number): Promise<void> {
  const offsets = Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 }));
  let next = from;
  const worker = async () => {
    while (next < to) {
      const group = `scale-group-${next++}`;
      const answer = await post(broker, `/api/v1/consumer-groups/${group}/offsets`, { offsets });
      if (answer.status >= 300) throw new Error(`commit for ${group} answered ${answer.status}: ${await answer.text()}`);
    }
  };
  await Promise.all(Array.from({ length: COMMITS_IN_FLIGHT }, worker));
}

/** `perPartitionSeries`: the broker runs with --metrics-group-partitions (series per group and partition, off by default). */
async function metricsCurve(options: Options, perPartitionSeries: boolean): Promise<MetricsPoint[]> {
  const args = [...brokerArgs(options), ...(perPartitionSeries ? ["--metrics-group-partitions"] : [])];
  const broker = await startBrokerProcess({ args });
  const points: MetricsPoint[] = [];
  try {
    const answer = await post(broker, "/api/v1/topics", { name: "scale-metrics", partitions: PARTITIONS_PER_TOPIC });
    if (answer.status >= 300) throw new Error(`creating the topic answered ${answer.status}: ${await answer.text()}`);
    let groups = 0;
    for (const target of [...options.groups].sort((a, b) => a - b)) {
      await commitGroups(broker, "scale-metrics", PARTITIONS_PER_TOPIC, groups, target);
      groups = target;
      const timesMs: number[] = [];
      let bytes = 0;
      for (let scrape = 0; scrape < options.scrapes; scrape++) {
        const startedAt = performance.now();
        const body = await (await fetch(`${broker.url}/metrics`)).arrayBuffer();
        timesMs.push(performance.now() - startedAt);
        bytes = body.byteLength;
      }
      points.push({ groups, perPartitionSeries, bytes, scrapeMs: median(timesMs) });
      console.error(`metrics${perPartitionSeries ? " (--metrics-group-partitions)" : ""}: ${groups} groups, ${bytes} bytes, ${median(timesMs).toFixed(1)} ms`);
    }
    return points;
  } finally {
    await broker.cleanup();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const produce: ProducePoint[] = [];
  const start: StartPoint[] = [];
  let metrics: MetricsPoint[] = [];
  if (options.only.has("produce")) produce.push(...(await produceCurve(options)));
  if (options.only.has("start")) {
    for (const partitions of options.startPartitions) {
      const point = await startPoint(options, partitions);
      console.error(`start: ${partitions} partitions: ${JSON.stringify(point)}`);
      start.push(point);
    }
  }
  if (options.only.has("metrics")) metrics = [...(await metricsCurve(options, false)), ...(await metricsCurve(options, true))];
  await scaleReport({ argv: process.argv.slice(2), startedAt, finishedAt: new Date(), produce, start, metrics, write: options.write });
}

try {
  await main();
} finally {
  await cleanupAll();
}

/**
 * P7: a follower under P2 load. Starts a leader and a follower (real broker
 * processes on loopback, temporary data dirs), creates the 2-partition
 * topic, runs P2's `gafka bench produce` against the leader, and every
 * --sample-ms scrapes the leader's /metrics for the follower's lag
 * (gafka_replication_follower_lag_records and _lag_seconds, summed and
 * maxed over the partitions). Prints p50/p99/max of the lag in records and
 * in milliseconds while the load ran, and the time the follower took to
 * catch up once it stopped.
 *
 *   bun bench/p7-follower-lag.ts [--count=1000000] [--producers=4] [--batch-size=1000] [--acks=1]
 *                                [--fsync=always] [--sample-ms=100] [--json]
 */
import { cleanupAll, runCli, startBrokerProcess, type BrokerProcess } from "../test/helpers/broker-process.ts";

interface Options {
  count: number;
  producers: number;
  batchSize: number;
  acks: string;
  fsync: string;
  sampleMs: number;
  json: boolean;
}

interface LagSample {
  /** Records the follower lacks, all partitions together. */
  records: number;
  /** The longest a partition has been behind. */
  ms: number;
}

const TOPIC = "test-topic";
const PARTITIONS = 2;
const CATCH_UP_WAIT_MS = 60_000;

function parseOptions(argv: string[]): Options {
  const options: Options = { count: 1_000_000, producers: 4, batchSize: 1000, acks: "1", fsync: "always", sampleMs: 100, json: false };
  for (const arg of argv) {
    const [name, value = ""] = arg.replace(/^--/, "").split("=") as [string, string | undefined];
    if (name === "json") options.json = true;
    else if (name === "acks" || name === "fsync") options[name] = value;
    else if (name === "count" || name === "producers" || name === "sample-ms" || name === "batch-size") {
      const number = Number(value);
      if (!(number > 0)) throw new Error(`--${name} takes a positive number`);
      options[name === "sample-ms" ? "sampleMs" : name === "batch-size" ? "batchSize" : name] = number;
    } else throw new Error(`unknown option ${arg} (see the comment at the top of bench/p7-follower-lag.ts)`);
  }
  return options;
}

/** The follower's lag now, from the leader's metrics. */
async function sampleLag(leader: BrokerProcess): Promise<LagSample | undefined> {
  const response = await fetch(`${leader.url}/metrics`).catch(() => undefined);
  if (response?.status !== 200) return undefined;
  let records = 0;
  let ms = 0;
  let seen = false;
  for (const line of (await response.text()).split("\n")) {
    if (line.startsWith("gafka_replication_follower_lag_records{")) {
      records += Number(line.slice(line.lastIndexOf(" ") + 1));
      seen = true;
    } else if (line.startsWith("gafka_replication_follower_lag_seconds{")) {
      ms = Math.max(ms, Number(line.slice(line.lastIndexOf(" ") + 1)) * 1000);
    }
  }
  return seen ? { records, ms } : undefined;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const brokerArgs = ["--fsync", options.fsync, "--log-level", "warn"];
  const leader = await startBrokerProcess({ args: ["--id=1", "--role=leader", ...brokerArgs] });
  await startBrokerProcess({ args: ["--id=2", "--role=follower", `--leader=${leader.hostPort}`, ...brokerArgs] });
  const created = await runCli(["admin", "create-topic", "--name", TOPIC, "--partitions", String(PARTITIONS), "--broker", leader.hostPort]);
  if (created.exitCode !== 0) throw new Error(`create-topic failed: ${created.stderr}`);
  // The follower has joined once the leader reports it (in sync, with nothing to lag behind).
  const joinedBy = Date.now() + CATCH_UP_WAIT_MS;
  while ((await sampleLag(leader)) === undefined) {
    if (Date.now() > joinedBy) throw new Error("the follower never showed up in the leader's metrics");
    await Bun.sleep(50);
  }

  const samples: LagSample[] = [];
  let producing = true;
  const sampler = (async () => {
    while (producing) {
      const started = performance.now();
      const sample = await sampleLag(leader);
      if (sample !== undefined && producing) samples.push(sample);
      await Bun.sleep(Math.max(0, options.sampleMs - (performance.now() - started)));
    }
  })();
  const produced = await runCli(
    [
      "bench", "produce", "--broker", leader.hostPort, "--topic", TOPIC, "--partitions", String(PARTITIONS), "--size", "1024",
      "--count", String(options.count), "--producers", String(options.producers), "--batch-size", String(options.batchSize),
      "--linger-ms", "5", "--acks", options.acks, "--quiet", "--json",
    ],
    { timeoutMs: 600_000 },
  );
  const loadEndedMs = performance.now();
  producing = false;
  await sampler;
  if (produced.exitCode !== 0) throw new Error(`bench produce failed: ${produced.stderr}`);
  const load = JSON.parse(produced.stdout) as { messages_per_second: number; errors: number };

  let catchUpMs = Number.NaN;
  while (performance.now() - loadEndedMs < CATCH_UP_WAIT_MS) {
    const sample = await sampleLag(leader);
    if (sample !== undefined && sample.records === 0) {
      catchUpMs = performance.now() - loadEndedMs;
      break;
    }
    await Bun.sleep(10);
  }

  const result = {
    load_messages_per_second: Math.round(load.messages_per_second),
    load_errors: load.errors,
    samples: samples.length,
    lag_records: summary(samples.map((sample) => sample.records)),
    lag_ms: summary(samples.map((sample) => sample.ms)),
    catch_up_after_load_ms: Math.round(catchUpMs),
  };
  if (options.json) console.log(JSON.stringify(result));
  else {
    console.log(`P2 load: ${result.load_messages_per_second} msg/s, ${result.load_errors} errors; ${result.samples} lag samples every ${options.sampleMs} ms`);
    console.log(`follower lag, records: p50 ${result.lag_records.p50}, p99 ${result.lag_records.p99}, max ${result.lag_records.max}`);
    console.log(`follower lag, ms:      p50 ${result.lag_ms.p50}, p99 ${result.lag_ms.p99}, max ${result.lag_ms.max}`);
    console.log(`caught up ${result.catch_up_after_load_ms} ms after the load ended`);
  }
}

try {
  await main();
} finally {
  await cleanupAll();
}

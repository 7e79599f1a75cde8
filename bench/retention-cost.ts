/**
 * What delete retention and the log cleaner cost P2 (issue 16), in alternating pairs, and the
 * cleaner's own throughput.
 *
 * Each round starts two fresh brokers in turn (the order flips each round), each with the same
 * data: a 1-partition topic `changelog` filled with --dirty-mb of 1 KiB records over 1,000 keys
 * (every key overwritten many times), then P2 (`gafka bench produce --partitions 2 --size 1024
 * --count --count --producers 4 --batch-size 1000 --linger-ms 5`) into `test-topic`:
 * - "working": `changelog` is `cleanup.policy=compact` (the cleaner compacts it while P2 runs,
 *   at its default --cleaner-io-mb-per-s) and `test-topic` has `retention.bytes` of
 *   --retention-mb per partition, which P2 passes, so retention deletes while P2 runs;
 * - "idle": `changelog` is `cleanup.policy=delete` and `test-topic` keeps everything: neither
 *   has anything to do.
 * Prints per run P2's msg/s, and for "working" the bytes the cleaner read (its pass began during
 * P2; the counter moves when a pass ends) and retention deleted (from /metrics), to show they
 * were at work.
 *
 * The cleaner's own throughput: bench/cleaner-throughput.ts.
 *
 *   bun bench/retention-cost.ts [--rounds=5] [--count=1000000] [--dirty-mb=150] [--retention-mb=150]
 */
import { cleanupAll, runCli, startBrokerProcess, type BrokerProcess } from "../test/helpers/broker-process.ts";

interface Options {
  rounds: number;
  count: number;
  dirtyMb: number;
  retentionMb: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rounds: 5, count: 1_000_000, dirtyMb: 150, retentionMb: 150 };
  for (const arg of argv) {
    const [name, value = ""] = arg.replace(/^--/, "").split("=") as [string, string | undefined];
    const number = Number(value);
    if (name === "rounds" && number > 0) options.rounds = number;
    else if (name === "count" && number > 0) options.count = number;
    else if (name === "dirty-mb" && number > 0) options.dirtyMb = number;
    else if (name === "retention-mb" && number > 0) options.retentionMb = number;
    else throw new Error(`unknown or bad option ${arg} (see the comment at the top of bench/retention-cost.ts)`);
  }
  return options;
}

const BROKER_ARGS = ["--fsync=always", "--segment-bytes=32MiB", "--cleaner-backoff=1s", "--retention-check-interval=1s"];

async function post(broker: BrokerProcess, path: string, body: unknown): Promise<void> {
  const answer = await fetch(`${broker.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (answer.status >= 300) throw new Error(`POST ${path} answered ${answer.status}: ${await answer.text()}`);
}

/** `changelog`: --dirty-mb of 1 KiB values over 1,000 keys, in requests of 500 records. */
async function fillChangelog(broker: BrokerProcess, dirtyMb: number, compact: boolean): Promise<void> {
  // min.compaction.lag.ms of an hour while it fills: the cleaner leaves it alone until it is set to 0.
  const configs = { "cleanup.policy": compact ? "compact" : "delete", "min.compaction.lag.ms": 3_600_000, "segment.bytes": 16 * 1024 * 1024 };
  await post(broker, "/api/v1/topics", { name: "changelog", partitions: 1, configs });
  const value = "v".repeat(1000);
  const records = Math.round((dirtyMb * 1e6) / 1100);
  for (let sent = 0; sent < records; sent += 500) {
    await post(broker, "/api/v1/produce", { topic: "changelog", records: Array.from({ length: 500 }, (_, i) => ({ partition: 0, key: `key-${(sent + i) % 1000}`, value })) });
  }
}

async function metric(broker: BrokerProcess, prefix: string): Promise<number> {
  const text = await (await fetch(`${broker.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(prefix)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  return sum;
}

async function p2(broker: BrokerProcess, count: number): Promise<number> {
  const run = await runCli(
    ["bench", "produce", "--broker", broker.hostPort, "--topic", "test-topic", "--partitions", "2", "--size", "1024", "--count", String(count),
      "--producers", "4", "--batch-size", "1000", "--linger-ms", "5", "--quiet", "--json"],
    { timeoutMs: 600_000 },
  );
  if (run.exitCode !== 0) throw new Error(`bench produce failed: ${run.stderr}`);
  return (JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { messages_per_second: number }).messages_per_second;
}

async function run(mode: "working" | "idle", options: Options): Promise<{ mode: string; messagesPerSecond: number; cleanerReadBytes: number; retentionDeletedBytes: number }> {
  const broker = await startBrokerProcess({ args: BROKER_ARGS });
  try {
    await fillChangelog(broker, options.dirtyMb, mode === "working");
    const configs = mode === "working" ? { "retention.bytes": options.retentionMb * 1e6, "retention.ms": -1 } : { "retention.ms": -1 };
    await post(broker, "/api/v1/topics", { name: "test-topic", partitions: 2, configs });
    // The changelog becomes cleanable now: the cleaner works while P2 runs.
    await post(broker, "/api/v1/topics/changelog/configs", { set: { "min.compaction.lag.ms": 0 } });
    const readBefore = await metric(broker, "gafka_log_cleaner_bytes_read_total");
    const deletedBefore = await metric(broker, "gafka_retention_deleted_bytes_total");
    const messagesPerSecond = await p2(broker, options.count);
    // The cleaner counts a pass's bytes when the pass ends, which may be after P2: wait for it (it began during P2).
    const deadline = performance.now() + 30_000;
    while (mode === "working" && (await metric(broker, "gafka_log_cleaner_bytes_read_total")) === readBefore && performance.now() < deadline) await Bun.sleep(100);
    return {
      mode,
      messagesPerSecond,
      cleanerReadBytes: (await metric(broker, "gafka_log_cleaner_bytes_read_total")) - readBefore,
      retentionDeletedBytes: (await metric(broker, "gafka_retention_deleted_bytes_total")) - deletedBefore,
    };
  } finally {
    await broker.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  console.log("round\tmode\tP2 msg/s\tcleaner read MB\tretention deleted MB");
  const ratios: number[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const order: ("working" | "idle")[] = round % 2 === 1 ? ["idle", "working"] : ["working", "idle"];
    const results = [];
    for (const mode of order) {
      const result = await run(mode, options);
      results.push(result);
      console.log(`${round}\t${mode}\t${Math.round(result.messagesPerSecond)}\t${(result.cleanerReadBytes / 1e6).toFixed(1)}\t${(result.retentionDeletedBytes / 1e6).toFixed(1)}`);
    }
    const working = results.find((r) => r.mode === "working")!;
    const idle = results.find((r) => r.mode === "idle")!;
    ratios.push(working.messagesPerSecond / idle.messagesPerSecond);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  console.log(`working/idle per round: ${ratios.map((r) => r.toFixed(3)).join(" ")}; median ${median.toFixed(3)}`);
}

try {
  await main();
} finally {
  await cleanupAll();
}

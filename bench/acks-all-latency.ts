/**
 * acks=all produce latency through a leader and one follower, in alternating
 * pairs of builds (as bench/RESULTS.md compares a change with the code before
 * it). Per round and per build: starts a leader and a follower from that
 * build's source tree (real processes on loopback, temporary data dirs,
 * `--fsync always`), creates the topic, waits for the follower to be in sync,
 * then runs this tree's `gafka bench produce --acks all` at a fixed rate with
 * one record per request and prints its send-to-acknowledgement latency.
 *
 *   bun bench/acks-all-latency.ts [--builds=<root>,<root>] [--rounds=5] [--rate=2000]
 *                                 [--seconds=10] [--min-insync=1] [--json]
 *
 * --builds: source trees to compare (each with src/main.ts and node_modules),
 * e.g. a `git archive` of the commit before a change beside this tree;
 * default: this tree alone. The order alternates from round to round. Before
 * each run it waits (up to 30 s) for the machine to be at least 90% idle over
 * 2 s, and prints how busy it was (`busy_before`).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";

const HERE = path.resolve(import.meta.dir, "..");
const BUN = process.execPath;

interface Options {
  builds: string[];
  rounds: number;
  rate: number;
  seconds: number;
  minInsync: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { builds: [HERE], rounds: 5, rate: 2000, seconds: 10, minInsync: 1, json: false };
  for (const arg of argv) {
    const [name, value = ""] = arg.replace(/^--/, "").split("=") as [string, string | undefined];
    if (name === "json") options.json = true;
    else if (name === "builds") options.builds = value.split(",").map((root) => path.resolve(root));
    else if (name === "rounds" || name === "rate" || name === "seconds" || name === "min-insync") {
      const number = Number(value);
      if (!(number > 0)) throw new Error(`--${name} takes a positive number`);
      options[name === "min-insync" ? "minInsync" : name] = number;
    } else throw new Error(`unknown option ${arg} (see the comment at the top of bench/acks-all-latency.ts)`);
  }
  return options;
}

interface Broker {
  process: ReturnType<typeof Bun.spawn>;
  hostPort: string;
}

async function startBroker(root: string, dataDir: string, args: string[]): Promise<Broker> {
  const child = Bun.spawn(
    [BUN, path.join(root, "src/main.ts"), "broker", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--fsync", "always", "--log-level", "warn", ...args],
    { cwd: root, stdin: "ignore", stdout: "pipe", stderr: "ignore" },
  );
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    const match = /listening on http:\/\/(\S+)/.exec(text);
    if (match) {
      void (async () => {
        while (!(await reader.read()).done) {}
      })();
      return { process: child, hostPort: match[1]! };
    }
  }
  child.kill("SIGKILL");
  throw new Error(`a broker from ${root} did not start`);
}

async function waitInSync(leader: Broker): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const view = (await (await fetch(`http://${leader.hostPort}/api/v1/replication/status`)).json()) as any;
    const follower = view.followers?.[0];
    const leaseHeld = view.lease === undefined || view.lease === null || view.lease.held === true;
    if (follower?.connected && follower.in_sync_partitions === view.partitions.length && view.partitions.length > 0 && leaseHeld) return;
    await Bun.sleep(50);
  }
  throw new Error("the follower did not get in sync");
}

function cpuTimes(): { idle: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number) as number[];
  return { idle: fields[3]! + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
}

/** Percent of CPU busy over the 2 s before the run (waits for a quieter machine, up to 30 s). */
async function busyBefore(): Promise<number> {
  let busy = 100;
  for (let attempt = 0; attempt < 15; attempt++) {
    const before = cpuTimes();
    await Bun.sleep(2000);
    const after = cpuTimes();
    busy = Math.round(100 * (1 - (after.idle - before.idle) / Math.max(1, after.total - before.total)));
    if (busy <= 10) break;
  }
  return busy;
}

/** One run against one build: p50/p99/max latency of acks=all produce, in ms. */
async function run(root: string, options: Options): Promise<{ p50: number; p99: number; max: number; messages: number; errors: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), "gafka-acks-all-"));
  const flags = [`--min-insync-replicas=${options.minInsync}`];
  const brokers: Broker[] = [];
  try {
    const leader = await startBroker(root, path.join(dir, "leader"), ["--id=1", "--role=leader", ...flags]);
    brokers.push(leader);
    brokers.push(await startBroker(root, path.join(dir, "follower"), ["--id=2", "--role=follower", `--leader=${leader.hostPort}`, ...flags]));
    const created = await fetch(`http://${leader.hostPort}/api/v1/topics`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "acks-all", partitions: 2 }),
    });
    if (created.status !== 201) throw new Error(`create-topic answered ${created.status}`);
    await waitInSync(leader);
    const bench = Bun.spawn(
      [
        BUN, path.join(HERE, "src/main.ts"), "bench", "produce", "--broker", leader.hostPort, "--topic", "acks-all",
        "--acks", "all", "--rate", String(options.rate), "--duration", `${options.seconds + 1}s`, "--warm-up", "1s",
        "--batch-size", "1", "--linger-ms", "0", "--size", "1024", "--quiet", "--json",
      ],
      { cwd: HERE, stdout: "pipe", stderr: "pipe" },
    );
    const [out, code] = [await new Response(bench.stdout).text(), await bench.exited];
    if (code !== 0) throw new Error(`gafka bench produce exited ${code}: ${await new Response(bench.stderr).text()}`);
    const summary = JSON.parse(out) as any;
    return { ...summary.latency_ms, messages: summary.messages, errors: summary.errors };
  } finally {
    for (const broker of brokers) broker.process.kill("SIGKILL");
    await Promise.all(brokers.map((broker) => broker.process.exited));
    await rm(dir, { recursive: true, force: true });
  }
}

const options = parseOptions(process.argv.slice(2));
const results: { round: number; build: string; busyBefore: number; p50: number; p99: number; max: number; messages: number; errors: number }[] = [];
for (let round = 1; round <= options.rounds; round++) {
  const order = round % 2 === 1 ? options.builds : [...options.builds].reverse();
  for (const build of order) {
    const busy = await busyBefore();
    const result = await run(build, options);
    results.push({ round, build, busyBefore: busy, ...result });
    if (!options.json) {
      console.log(
        `round ${round} ${build} (busy_before ${busy}%): p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(1)} ms ` +
          `(${result.messages} messages, ${result.errors} errors)`,
      );
    }
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const summary = options.builds.map((build) => {
  const mine = results.filter((result) => result.build === build);
  return { build, p50: median(mine.map((r) => r.p50)), p99: median(mine.map((r) => r.p99)) };
});
if (options.json) console.log(JSON.stringify({ options, results, summary }));
else for (const line of summary) console.log(`median over ${options.rounds} rounds, ${line.build}: p50 ${line.p50.toFixed(2)} ms, p99 ${line.p99.toFixed(2)} ms`);

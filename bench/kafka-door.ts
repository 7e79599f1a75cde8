/**
 * The Kafka door's targets (K1–K4), with the HTTP door measured in the same run, on one broker
 * per workload (`--fsync=always`, 1 KiB records, topics of 2 partitions). Every figure names the
 * client behind it:
 *
 * - K1, batched produce: kcat (librdkafka) reading --count lines of 1,023 bytes from a file
 *   (`linger.ms=5`, batches up to 1 MB, acks=1); @platformatic/kafka sending 1,000 records per
 *   `send` with 4 sends in flight; HTTP: P2's `gafka bench produce`.
 * - K2, one record per produce request, linger 0, 50 requests in flight: kcat with
 *   `batch.num.messages=1 linger.ms=0 max.in.flight=50` (librdkafka sends one partition's batch
 *   per request, so one record per request); HTTP: P1's wrk script (50 connections); and the
 *   same kcat run against bench/kafka-durable-ceiling.ts, the least a server must do to
 *   acknowledge a produce durably (no gafka broker code on its produce path), with and without
 *   its fdatasync.
 * - K3, one group member catching up on --count stored records: `kcat -G` (librdkafka's
 *   KafkaConsumer) from the earliest offset to the end (`-e`), timed from start to exit, group
 *   join included; HTTP: P4's `gafka bench consume`.
 * - K4, end to end at --rate msg/s for --seconds: @platformatic/kafka, one record per `send`
 *   (acks=1, up to 64 sends in flight) and a group consumer; latency from the send call to the
 *   record's arrival in the consumer, per record (the send time travels in the value), and from
 *   the send call to its acknowledgement; HTTP: P3's `gafka bench e2e` in Kafka's commit model;
 *   and P3's durable ceiling without commits (bench/durable-ceiling.ts: the same pipeline over
 *   HTTP with no gafka code). Producer and consumer share this process (--k4-processes=1, the
 *   default); --k4-processes=2 runs the consumer in a process of its own (the two read the same
 *   clock, performance.timeOrigin + performance.now()). On this two-core machine the second
 *   process measured worse in three pairs of four (bench/RESULTS.md, "Kafka door: K4 latency"): a third
 *   busy process competes with the broker for the cores.
 *
 *   bun bench/kafka-door.ts [--only=k1,k2,k3,k4] [--rounds=3] [--count=1000000] [--rate=5000] [--seconds=10] [--k4-processes=1]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Consumer, Producer } from "@platformatic/kafka";
import { spawnServer } from "./ceiling-process.ts";
import { cleanupAll, runCli, startBrokerProcess, type BrokerProcess } from "../test/helpers/broker-process.ts";

interface Options {
  only: Set<string>;
  rounds: number;
  count: number;
  rate: number;
  seconds: number;
  k4Processes: 1 | 2;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { only: new Set(["k1", "k2", "k3", "k4"]), rounds: 3, count: 1_000_000, rate: 5000, seconds: 10, k4Processes: 1 };
  for (const arg of argv) {
    const [name, value = ""] = arg.replace(/^--/, "").split("=") as [string, string | undefined];
    const number = Number(value);
    if (name === "only") options.only = new Set(value.split(","));
    else if (name === "rounds" && number > 0) options.rounds = number;
    else if (name === "count" && number > 0) options.count = number;
    else if (name === "rate" && number > 0) options.rate = number;
    else if (name === "seconds" && number > 0) options.seconds = number;
    else if (name === "k4-processes" && (number === 1 || number === 2)) options.k4Processes = number;
    else throw new Error(`unknown or bad option ${arg} (see the comment at the top of bench/kafka-door.ts)`);
  }
  return options;
}

const RECORD_BYTES = 1024;
const kcat = Bun.which("kcat");

async function startBroker(): Promise<BrokerProcess> {
  return startBrokerProcess({ args: ["--fsync=always"] });
}

async function createTopic(broker: BrokerProcess, name: string, partitions = 2): Promise<void> {
  const answer = await fetch(`${broker.url}/api/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, partitions }) });
  if (answer.status >= 300) throw new Error(`creating ${name} answered ${answer.status}: ${await answer.text()}`);
}

async function highWatermarkSum(broker: BrokerProcess, topic: string): Promise<number> {
  const answer = (await (await fetch(`${broker.url}/api/v1/topics/${topic}`)).json()) as { partitions: { next_offset: number }[] };
  return answer.partitions.reduce((sum, partition) => sum + partition.next_offset, 0);
}

/** `count` lines of 1,023 printable bytes and a newline: kcat sends each line, without its newline, as a record of 1,023 bytes. */
async function linesFile(dir: string, count: number): Promise<string> {
  const file = path.join(dir, `lines-${count}.txt`);
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const lines: string[] = [];
  for (let index = 0; index < 1000; index++) {
    let line = `${index}-`;
    while (line.length < RECORD_BYTES - 1) line += alphabet[(line.length * 7 + index) % alphabet.length];
    lines.push(line);
  }
  const block = `${lines.join("\n")}\n`;
  const chunks: string[] = [];
  for (let written = 0; written < count; written += 1000) chunks.push(written + 1000 <= count ? block : `${lines.slice(0, count - written).join("\n")}\n`);
  await writeFile(file, chunks.join(""));
  return file;
}

/** Runs a command to its exit; returns the seconds it took. */
async function timed(command: string[], stdin?: "ignore"): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn(command, { stdout: "ignore", stderr: "pipe", stdin: stdin ?? "ignore" });
  const exitCode = await child.exited;
  const seconds = (performance.now() - started) / 1000;
  if (exitCode !== 0) throw new Error(`${command.join(" ")} exited ${exitCode}: ${await new Response(child.stderr).text()}`);
  return seconds;
}

function kcatProduce(broker: BrokerProcess, topic: string, file: string, settings: Record<string, string>): string[] {
  const flags = Object.entries(settings).flatMap(([name, value]) => ["-X", `${name}=${value}`]);
  return [kcat!, "-P", "-b", `127.0.0.1:${broker.kafkaPort}`, "-t", topic, "-X", "acks=1", ...flags, "-l", file];
}

const K1_KCAT = { "linger.ms": "5", "batch.num.messages": "10000", "batch.size": "1000000", "queue.buffering.max.messages": "1000000", "queue.buffering.max.kbytes": "1048576" };
const K2_KCAT = { "linger.ms": "0", "batch.num.messages": "1", "max.in.flight": "50", "queue.buffering.max.messages": "1000000" };

/** The durable ceiling (bench/kafka-durable-ceiling.ts) with `topic` of 2 partitions, on a fresh directory; stopped by the returned function. */
async function startCeiling(dir: string, topic: string, fsync: "always" | "never"): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const ceilingDir = path.join(dir, `ceiling-${port}`);
  const { server } = await spawnServer(path.join(import.meta.dir, "kafka-durable-ceiling.ts"), [`--port=${port}`, `--dir=${ceilingDir}`, `--topic=${topic}:2`, `--fsync=${fsync}`]);
  return {
    port,
    stop: async () => {
      server.kill("SIGTERM");
      await server.exited;
      await rm(ceilingDir, { recursive: true, force: true });
    },
  };
}

/** kcat's run against the durable ceiling, in msg/s. */
async function ceilingRun(
  dir: string,
  topic: string,
  file: string,
  count: number,
  settings: Record<string, string>,
  fsync: "always" | "never" = "always",
): Promise<number> {
  const ceiling = await startCeiling(dir, topic, fsync);
  try {
    const flags = Object.entries(settings).flatMap(([name, value]) => ["-X", `${name}=${value}`]);
    const seconds = await timed([kcat!, "-P", "-b", `127.0.0.1:${ceiling.port}`, "-t", topic, "-X", "acks=1", ...flags, "-l", file]);
    return count / seconds;
  } finally {
    await ceiling.stop();
  }
}

async function httpP2(broker: BrokerProcess, topic: string, count: number): Promise<number> {
  const run = await runCli(
    ["bench", "produce", "--broker", broker.hostPort, "--topic", topic, "--partitions", "2", "--size", String(RECORD_BYTES), "--count", String(count),
      "--producers", "4", "--batch-size", "1000", "--linger-ms", "5", "--quiet", "--json"],
    { timeoutMs: 600_000 },
  );
  if (run.exitCode !== 0) throw new Error(`bench produce failed: ${run.stderr}`);
  return (JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { messages_per_second: number }).messages_per_second;
}

/** @platformatic/kafka: `count` records in sends of 1,000, 4 sends in flight, acks=1. */
async function platformaticProduce(broker: BrokerProcess, topic: string, count: number): Promise<number> {
  const producer = new Producer({ clientId: "k1", bootstrapBrokers: [`127.0.0.1:${broker.kafkaPort}`], acks: 1 });
  const value = Buffer.alloc(RECORD_BYTES, "v");
  const batch = Array.from({ length: 1000 }, (_, index) => ({ topic, partition: index % 2, value }));
  try {
    await producer.send({ messages: batch.slice(0, 1) });
    const started = performance.now();
    let sent = 0;
    const sender = async () => {
      while (sent < count) {
        sent += batch.length;
        await producer.send({ messages: batch });
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
    return sent / ((performance.now() - started) / 1000);
  } finally {
    await producer.close();
  }
}

async function k1(options: Options, dir: string): Promise<void> {
  const broker = await startBroker();
  const file = await linesFile(dir, options.count);
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const topic = `k1-${round}`;
      await createTopic(broker, topic);
      const seconds = await timed(kcatProduce(broker, topic, file, K1_KCAT));
      const stored = await highWatermarkSum(broker, topic);
      await createTopic(broker, `k1-pk-${round}`);
      const platformatic = await platformaticProduce(broker, `k1-pk-${round}`, options.count);
      const http = await httpP2(broker, `k1-http-${round}`, options.count);
      console.log(
        `K1 round ${round}: kcat ${Math.round(options.count / seconds)} msg/s (${stored} stored) · @platformatic/kafka ${Math.round(platformatic)} msg/s · HTTP (gafka bench produce) ${Math.round(http)} msg/s`,
      );
    }
  } finally {
    await broker.cleanup();
  }
}

async function httpP1(broker: BrokerProcess, topic: string): Promise<string> {
  const child = Bun.spawn(["wrk", "-t2", "-c50", "-d10s", "-s", path.join(import.meta.dir, "produce.lua"), broker.url], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, GAFKA_TOPIC: topic },
  });
  const text = await new Response(child.stdout).text();
  await child.exited;
  return /Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? "(wrk missing or failed)";
}

async function k2(options: Options, dir: string): Promise<void> {
  const broker = await startBroker();
  const count = Math.min(options.count, 300_000);
  const file = await linesFile(dir, count);
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const topic = `k2-${round}`;
      await createTopic(broker, topic);
      const seconds = await timed(kcatProduce(broker, topic, file, K2_KCAT));
      await createTopic(broker, `k2-http-${round}`);
      const http = Bun.which("wrk") ? await httpP1(broker, `k2-http-${round}`) : "(wrk not installed)";
      const ceiling = await ceilingRun(dir, topic, file, count, K2_KCAT);
      const unsynced = await ceilingRun(dir, topic, file, count, K2_KCAT, "never");
      console.log(
        `K2 round ${round}: kcat one record per request ${Math.round(count / seconds)} msg/s (durable ceiling ${Math.round(ceiling)}; the ceiling without fdatasync ${Math.round(unsynced)}) · HTTP (wrk, P1's script) ${http} req/s`,
      );
    }
  } finally {
    await broker.cleanup();
  }
}

async function k3(options: Options, dir: string): Promise<void> {
  const broker = await startBroker();
  try {
    await createTopic(broker, "stored");
    await timed(kcatProduce(broker, "stored", await linesFile(dir, options.count), K1_KCAT));
    const stored = await highWatermarkSum(broker, "stored");
    for (let round = 1; round <= options.rounds; round++) {
      const seconds = await timed([kcat!, "-b", `127.0.0.1:${broker.kafkaPort}`, "-G", `k3-${round}`, "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%o\n", "stored"]);
      const run = await runCli(["bench", "consume", "--broker", broker.hostPort, "--topic", "stored", "--count", String(stored), "--max-poll-records", "10000", "--group", `k3-http-${round}`, "--quiet", "--json"], { timeoutMs: 600_000 });
      const http = run.exitCode === 0 ? Math.round((JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { messages_per_second: number }).messages_per_second) : `failed: ${run.stderr.slice(-300)}`;
      console.log(`K3 round ${round}: kcat -G ${Math.round(stored / seconds)} msg/s (${stored} records, join included) · HTTP (gafka bench consume) ${http} msg/s`);
    }
  } finally {
    await broker.cleanup();
  }
}

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/** The clock both K4 processes read: milliseconds, the same origin in every process of this machine. */
const sharedNowMs = () => performance.timeOrigin + performance.now();

interface ConsumerOptions {
  bootstrapBrokers: string[];
  topic: string;
}

/** A group consumer of `topic` from its end, recording each record's latency; `ready` once it has joined. */
async function latencyConsumer(options: ConsumerOptions): Promise<{ latencies: number[]; close: () => Promise<void> }> {
  const consumer = new Consumer({ clientId: "k4-consumer", groupId: `${options.topic}-group`, bootstrapBrokers: options.bootstrapBrokers, maxWaitTime: 500, minBytes: 1 });
  const latencies: number[] = [];
  const stream = await consumer.consume({ topics: [options.topic], mode: "latest", autocommit: 1000, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  stream.on("data", (message: { value: Buffer }) => {
    const sentAt = message.value.readDoubleLE(0);
    // The warm-up's records carry their send time negated: not counted.
    if (sentAt > 0) latencies.push(sharedNowMs() - sentAt);
  });
  return {
    latencies,
    close: async () => {
      await stream.close();
      await consumer.close();
    },
  };
}

const CONSUMER_ROLE = "--k4-consumer=";

/** The consumer's process (--k4-processes=2): prints "ready" once joined, then its latencies as JSON once `expected` arrived or the time is up. */
async function consumerProcess(encoded: string): Promise<void> {
  const { expected, waitMs, ...options } = JSON.parse(encoded) as ConsumerOptions & { expected: number; waitMs: number };
  const consumer = await latencyConsumer(options);
  console.log("ready");
  const deadline = performance.now() + waitMs;
  while (consumer.latencies.length < expected * 0.99 && performance.now() < deadline) await Bun.sleep(50);
  await consumer.close();
  console.log(JSON.stringify(consumer.latencies));
}

/** Where the latencies come from: this process, or a child that hands them over when it ends. */
async function startConsumer(options: ConsumerOptions, processes: 1 | 2, expected: number, waitMs: number): Promise<() => Promise<number[]>> {
  if (processes === 1) {
    const consumer = await latencyConsumer(options);
    return async () => {
      const deadline = performance.now() + 10_000;
      while (consumer.latencies.length < expected * 0.99 && performance.now() < deadline) await Bun.sleep(50);
      await consumer.close();
      return consumer.latencies;
    };
  }
  const child = Bun.spawn([process.execPath, import.meta.path, `${CONSUMER_ROLE}${JSON.stringify({ ...options, expected, waitMs })}`], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the K4 consumer process ended before joining its group");
    text += decoder.decode(value, { stream: true });
  }
  return async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await child.exited;
    return JSON.parse(text.trim().split("\n").at(-1)!) as number[];
  };
}

interface EndToEnd {
  p50: number;
  p99: number;
  received: number;
  ackP50: number;
  ackP99: number;
}

/**
 * One record per `send` at `rate` msg/s for `seconds` + 1 (acks=1, up to 64 sends in flight on
 * the connection; the client's default is 5, and each would queue behind five fsynced answers).
 * Each value carries its send time (negated in the first second, a warm-up counted by no one);
 * returns the send→acknowledgement latencies after the warm-up.
 */
async function pacedSends(bootstrapBrokers: string[], topic: string, rate: number, seconds: number): Promise<number[]> {
  const producer = new Producer({ clientId: "k4-producer", bootstrapBrokers, acks: 1, maxInflights: 64 });
  const acknowledged: number[] = [];
  const value = Buffer.alloc(RECORD_BYTES, "v");
  const intervalMs = 1000 / rate;
  const total = Math.round(rate * (seconds + 1));
  const started = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let index = 0; index < total; index++) {
    const due = started + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    const record = Buffer.from(value);
    const sentAt = sharedNowMs();
    const counted = index >= rate;
    record.writeDoubleLE(counted ? sentAt : -sentAt, 0);
    sends.push(
      producer.send({ messages: [{ topic, partition: index % 2, value: record }] }).then(() => {
        if (counted) acknowledged.push(sharedNowMs() - sentAt);
      }),
    );
  }
  await Promise.all(sends);
  await producer.close();
  return acknowledged;
}

/** @platformatic/kafka end to end at `rate` msg/s: p50/p99 from send to arrival and from send to acknowledgement, after a warm-up of `rate` records. */
async function platformaticEndToEnd(broker: BrokerProcess, topic: string, rate: number, seconds: number, processes: 1 | 2): Promise<EndToEnd> {
  const bootstrapBrokers = [`127.0.0.1:${broker.kafkaPort}`];
  const expected = Math.round(rate * seconds);
  const latencies = await startConsumer({ bootstrapBrokers, topic }, processes, expected, (seconds + 12) * 1000);
  await Bun.sleep(1000);
  const acknowledged = await pacedSends(bootstrapBrokers, topic, rate, seconds);
  const received = await latencies();
  const sorted = Float64Array.from(received).sort();
  const acks = Float64Array.from(acknowledged).sort();
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), received: received.length, ackP50: percentile(acks, 0.5), ackP99: percentile(acks, 0.99) };
}

/** The same paced sends against the Kafka durable ceiling (no gafka broker code): send→acknowledgement p50/p99. */
async function ceilingSendAck(dir: string, topic: string, rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const ceiling = await startCeiling(dir, topic, "always");
  try {
    const acks = Float64Array.from(await pacedSends([`127.0.0.1:${ceiling.port}`], topic, rate, seconds)).sort();
    return { p50: percentile(acks, 0.5), p99: percentile(acks, 0.99) };
  } finally {
    await ceiling.stop();
  }
}

async function k4(options: Options, dir: string): Promise<void> {
  const broker = await startBroker();
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const topic = `k4-${round}`;
      await createTopic(broker, topic);
      const kafka = await platformaticEndToEnd(broker, topic, options.rate, options.seconds, options.k4Processes);
      const run = await runCli(
        ["bench", "e2e", "--broker", broker.hostPort, "--topic", `k4-http-${round}`, "--partitions", "2", "--rate", String(options.rate), "--duration", `${options.seconds + 1}s`, "--warm-up", "1s", "--commit-interval", "1s", "--quiet"],
        { timeoutMs: 600_000 },
      );
      const http = run.stdout.split("\n").find((line) => /latency/.test(line))?.trim() ?? `failed: ${run.stderr.slice(-300)}`;
      const ceiling = Bun.spawnSync([process.execPath, path.join(import.meta.dir, "durable-ceiling.ts"), `--rate=${options.rate}`, `--seconds=${options.seconds}`, "--commit=no"]);
      const ceilingLine = new TextDecoder().decode(ceiling.stdout).trim().split("\n").at(-1)?.replace(/; send→ack.*/, "");
      const kafkaCeiling = await ceilingSendAck(dir, `k4-ceiling-${round}`, options.rate, options.seconds);
      console.log(`K4 round ${round}: @platformatic/kafka (${options.k4Processes === 2 ? "consumer in its own process" : "one process"}) p50 ${kafka.p50.toFixed(2)} ms, p99 ${kafka.p99.toFixed(2)} ms (${kafka.received} records; send→ack p50 ${kafka.ackP50.toFixed(2)} ms, p99 ${kafka.ackP99.toFixed(2)} ms) · the same sends to the Kafka durable ceiling: send→ack p50 ${kafkaCeiling.p50.toFixed(2)} ms, p99 ${kafkaCeiling.p99.toFixed(2)} ms · HTTP (gafka bench e2e, Kafka's commit model) ${http} · ${ceilingLine}`);
    }
  } finally {
    await broker.cleanup();
  }
}

const consumerRole = process.argv.find((arg) => arg.startsWith(CONSUMER_ROLE));
if (consumerRole !== undefined) {
  await consumerProcess(consumerRole.slice(CONSUMER_ROLE.length));
  process.exit(0);
}
const options = parseOptions(process.argv.slice(2));
if (kcat === null && (options.only.has("k1") || options.only.has("k2") || options.only.has("k3"))) throw new Error("kcat is not installed (Debian: apt-get install kcat)");
const dir = await mkdtemp(path.join(tmpdir(), "gafka-kafka-door-"));
try {
  if (options.only.has("k1")) await k1(options, dir);
  if (options.only.has("k2")) await k2(options, dir);
  if (options.only.has("k3")) await k3(options, dir);
  if (options.only.has("k4")) await k4(options, dir);
} finally {
  await rm(dir, { recursive: true, force: true });
  await cleanupAll();
}

import { defineCommand } from "citty";
import { limits } from "../core/limits.ts";
import { benchResultJson, type BenchResult, formatBenchResult, rateShortfallWarning } from "../bench/bench-result.ts";
import type { BenchProgress } from "../bench/progress.ts";
import { durationArg } from "./duration-arg.ts";
import { acksArg, brokerArgs, clientAuthArg, clientTlsArg, byteSizeArg, formatArg, formatArgs, integerArg, logLevelArgs, UsageError } from "./shared-args.ts";

/** Arguments every bench mode takes. */
const commonArgs = {
  topic: { type: "string", description: "Topic to use", default: "gafka-bench" },
  count: { type: "string", description: "Messages in all (--duration stops earlier)" },
  duration: { type: "string", description: "Run for this long (10s, 2m) instead of a count" },
  json: { type: "boolean", description: "Print the summary as one JSON object", default: false },
  quiet: { type: "boolean", description: "No progress line while running", default: false },
  ...formatArgs,
  ...brokerArgs,
  ...logLevelArgs("warn"),
} as const;

/** Arguments of the modes that produce. */
const producingArgs = {
  partitions: { type: "string", description: "Partitions of the topic when it has to be created", default: "2" },
  size: { type: "string", description: "Message value size (1024, 1KiB)", default: "1024" },
  producers: { type: "string", description: "Producers sending side by side", default: "1" },
  "batch-size": { type: "string", description: "Records per partition per request", default: "100" },
  "linger-ms": { type: "string", description: "Longest a record waits for its batch to fill" },
  rate: { type: "string", description: "Messages per second from all producers together (default: as fast as possible)" },
  acks: { type: "string", description: "0, 1 or all: when the broker answers (sent only when given)" },
  "max-pending": { type: "string", description: "Messages a producer may have unanswered (default: four batches, whatever the partitions)" },
  "warm-up": { type: "string", description: "Leave the latencies of messages sent in this first part of the run out of the percentiles", default: "0" },
} as const;

/** Arguments of the modes that consume through a group. */
const groupArgs = {
  group: { type: "string", description: "Consumer group (default: a new one)" },
  consumers: { type: "string", description: "Group members reading side by side", default: "1" },
  "max-poll-records": { type: "string", description: `Most records one consume call asks for (1-${limits.consumeCountMax})`, default: "1000" },
  "idle-timeout": { type: "string", description: "Stop when nothing arrives for this long", default: "10s" },
  "commit-interval": {
    type: "string",
    description: "Members commit in the background this often, their polls commit nothing (default: each poll commits the one before)",
  },
} as const;

type CommonArgs = { [K in keyof typeof commonArgs]: K extends "json" | "quiet" ? boolean : string | undefined };
type ProducingArgs = { [K in keyof typeof producingArgs]: string | undefined };
type GroupArgs = { [K in keyof typeof groupArgs]: string | undefined };

const produce = defineCommand({
  meta: { name: "produce", description: "Send messages as fast as they are acknowledged (or at --rate); latency is send to acknowledgement" },
  args: { ...commonArgs, ...producingArgs },
  async run({ args }) {
    const { runProduceBench } = await import("../bench/produce-bench.ts");
    await runMode(args, (signal, onProgress) => runProduceBench({ ...producingOptions(args, args, 100_000, 5), signal, onProgress }));
  },
});

const consume = defineCommand({
  meta: { name: "consume", description: "Read a topic's messages through a consumer group as fast as they come; latency is each consume call" },
  args: { ...commonArgs, ...groupArgs },
  async run({ args }) {
    const { runConsumeBench } = await import("../bench/consume-bench.ts");
    await runMode(args, (signal, onProgress) =>
      runConsumeBench({
        broker: args.broker,
        tls: clientTlsArg(args),
        auth: clientAuthArg(args),
        topic: args.topic,
        ...extent(args, 100_000),
        ...groupOptions(args),
        format: formatArg(args.format!),
        signal,
        onProgress,
      }),
    );
  },
});

const e2e = defineCommand({
  meta: { name: "e2e", description: "Send time-stamped messages (default 5000/s) and receive them through a consumer group; latency is send to receipt" },
  args: { ...commonArgs, ...producingArgs, ...groupArgs },
  async run({ args }) {
    const { runEndToEndBench } = await import("../bench/e2e-bench.ts");
    const { StampedValues, newRunId } = await import("../bench/payload.ts");
    const options = producingOptions(args, { ...args, rate: args.rate ?? "5000" }, 10_000, 0);
    const minimumBytes = StampedValues.minimumBytes(newRunId());
    if (options.messageBytes < minimumBytes) throw new UsageError(`--size must be at least ${minimumBytes} bytes in e2e mode (a message carries its send time)`);
    await runMode(args, (signal, onProgress) => runEndToEndBench({ ...options, ...groupOptions(args), signal, onProgress }));
  },
});

export default defineCommand({
  meta: { name: "bench", description: "Measure a broker: produce, consume or end-to-end throughput and latency" },
  subCommands: { produce, consume, e2e },
});

/**
 * Runs one mode with Ctrl-C stopping it early (a second Ctrl-C exits), a
 * progress line on stderr when it is a terminal, and the summary on stdout.
 * Exits 1 (through main.ts) when any message failed.
 */
async function runMode(
  args: CommonArgs,
  run: (signal: AbortSignal, onProgress: ((progress: BenchProgress) => void) | undefined) => Promise<BenchResult>,
): Promise<void> {
  const stopping = new AbortController();
  const onSignal = () => {
    if (stopping.signal.aborted) process.exit(130);
    stopping.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const showProgress = !args.quiet && process.stderr.isTTY === true;
  let result: BenchResult;
  try {
    result = await run(stopping.signal, showProgress ? (progress) => process.stderr.write(`\r\u001B[K${progressLine(progress)}`) : undefined);
  } finally {
    if (showProgress) process.stderr.write("\r\u001B[K");
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  console.log(args.json ? JSON.stringify(benchResultJson(result)) : formatBenchResult(result));
  const shortfall = rateShortfallWarning(result);
  if (shortfall !== undefined) console.error(shortfall);
  if (result.errors > 0) throw new Error(`${result.errors} error${result.errors === 1 ? "" : "s"} during the run (first: ${result.firstError})`);
}

function progressLine(progress: BenchProgress): string {
  const count = (value: number) => Math.round(value).toLocaleString("en-US");
  const sent = progress.sent === undefined || progress.mode === "produce" ? "" : `sent ${count(progress.sent)}  `;
  const done = progress.mode === "produce" ? "acknowledged" : "received";
  return (
    `${progress.mode}  ${(progress.elapsedMs / 1000).toFixed(1)} s  ${sent}${done} ${count(progress.messages)}  ` +
    `${count(progress.ratePerSecond)} msg/s  errors ${count(progress.errors)}`
  );
}

/** `--count` and `--duration`: with a duration alone the count is unbounded. */
function extent(args: CommonArgs, countDefault: number): { count: number; durationMs: number } {
  const durationMs = args.duration === undefined ? Number.POSITIVE_INFINITY : durationArg("duration", args.duration, 1);
  const count =
    args.count !== undefined ? integerArg("count", args.count, 1) : args.duration !== undefined ? Number.POSITIVE_INFINITY : countDefault;
  return { count, durationMs };
}

function producingOptions(common: CommonArgs, args: ProducingArgs, countDefault: number, lingerMsDefault: number) {
  return {
    broker: common.broker!,
    tls: clientTlsArg({ broker: common.broker!, "tls-ca": common["tls-ca"], "tls-cert": common["tls-cert"], "tls-key": common["tls-key"] }),
    auth: clientAuthArg({ broker: common.broker!, user: common.user, "password-file": common["password-file"], "token-file": common["token-file"] }),
    topic: common.topic!,
    ...extent(common, countDefault),
    partitions: integerArg("partitions", args.partitions!, 1, limits.partitionsPerTopicMax),
    messageBytes: byteSizeArg("size", args.size!, 0),
    producers: integerArg("producers", args.producers!, 1, 1000),
    batchSize: integerArg("batch-size", args["batch-size"]!, 1, limits.recordsPerRequestMax),
    lingerMs: args["linger-ms"] === undefined ? lingerMsDefault : integerArg("linger-ms", args["linger-ms"], 0),
    ratePerSecond: args.rate === undefined ? undefined : positiveNumberArg("rate", args.rate),
    acks: args.acks === undefined ? undefined : acksArg(args.acks),
    format: formatArg(common.format!),
    ...(args["max-pending"] === undefined ? {} : { pendingMax: integerArg("max-pending", args["max-pending"], 1) }),
    warmUpMs: durationArg("warm-up", args["warm-up"]!),
  };
}

function groupOptions(args: GroupArgs) {
  return {
    group: args.group,
    consumers: integerArg("consumers", args.consumers!, 1, limits.groupMembersMax),
    maxPollRecords: integerArg("max-poll-records", args["max-poll-records"]!, 1, limits.consumeCountMax),
    idleTimeoutMs: durationArg("idle-timeout", args["idle-timeout"]!, 1),
    autoCommitIntervalMs: args["commit-interval"] === undefined ? undefined : durationArg("commit-interval", args["commit-interval"], 1),
  };
}

function positiveNumberArg(name: string, text: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`--${name} must be a positive number, not '${text}'`);
  return value;
}


import type { LatencySummary } from "./latency-recorder.ts";

export type BenchMode = "produce" | "consume" | "e2e";

/** What a run measured. Rates are over `elapsedMs`; sizes count message values (and keys) only. */
export interface BenchResult {
  mode: BenchMode;
  broker: string;
  topic: string;
  partitions: number;
  /** The options the run was made with, for the record (mode-specific). */
  settings: Record<string, string | number | boolean | null>;
  /** Messages done: acknowledged (produce) or received once each (consume, e2e). */
  messages: number;
  /** Messages sent (produce, e2e). */
  sent?: number;
  /** The rate they went out at (SendStats.sendRatePerSecond), to hold against `settings.rate`. */
  sendRatePerSecond?: number;
  /** Messages received again (redelivered after a rebalance), not counted in `messages`. */
  duplicates?: number;
  bytes: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** What `latency` measures: `send_to_ack`, `poll` (a consume call's round trip) or `send_to_receive`. */
  latencyKind: "send_to_ack" | "poll" | "send_to_receive";
  latency: LatencySummary;
  /** e2e: from send to the producer's acknowledgement. */
  produceLatency?: LatencySummary;
}

/** The result as `--json` prints it: snake_case, units in the names. */
export function benchResultJson(result: BenchResult): Record<string, unknown> {
  const seconds = result.elapsedMs / 1000;
  return {
    mode: result.mode,
    broker: result.broker,
    topic: result.topic,
    partitions: result.partitions,
    settings: result.settings,
    messages: result.messages,
    ...(result.sent === undefined ? {} : { sent: result.sent }),
    ...(result.sendRatePerSecond === undefined ? {} : { sent_per_second: round(result.sendRatePerSecond) }),
    ...(result.duplicates === undefined ? {} : { duplicates: result.duplicates }),
    bytes: result.bytes,
    errors: result.errors,
    ...(result.firstError === undefined ? {} : { first_error: result.firstError }),
    elapsed_ms: round(result.elapsedMs),
    messages_per_second: round(seconds > 0 ? result.messages / seconds : 0),
    bytes_per_second: round(seconds > 0 ? result.bytes / seconds : 0),
    megabytes_per_second: round(seconds > 0 ? result.bytes / 1e6 / seconds : 0),
    latency_kind: result.latencyKind,
    latency_ms: latencyJson(result.latency),
    ...(result.produceLatency === undefined ? {} : { produce_latency_ms: latencyJson(result.produceLatency) }),
  };
}

/** The human summary: a few aligned lines. MB is 10^6 bytes. */
export function formatBenchResult(result: BenchResult): string {
  const seconds = result.elapsedMs / 1000;
  const rate = seconds > 0 ? result.messages / seconds : 0;
  const megabytesPerSecond = seconds > 0 ? result.bytes / 1e6 / seconds : 0;
  const lines = [
    `${result.mode} ${result.topic} (${result.partitions} partition${result.partitions === 1 ? "" : "s"}) on ${result.broker}`,
    `  messages   ${integer(result.messages)}${result.sent === undefined ? "" : ` of ${integer(result.sent)} sent`}` +
      `${result.duplicates ? `, ${integer(result.duplicates)} duplicates` : ""} in ${seconds.toFixed(2)} s`,
    `  throughput ${integer(Math.round(rate))} msg/s, ${megabytesPerSecond.toFixed(2)} MB/s`,
    `  latency    ${latencyText(result.latency)} (${LATENCY_NAMES[result.latencyKind]})`,
  ];
  if (result.produceLatency !== undefined) lines.push(`  produce    ${latencyText(result.produceLatency)} (send to acknowledgement)`);
  lines.push(`  errors     ${integer(result.errors)}${result.firstError === undefined ? "" : ` (first: ${result.firstError})`}`);
  return lines.join("\n");
}

/** Below this share of `--rate`, a run did not offer the load it was asked for. */
const RATE_REACHED_SHARE = 0.9;

/**
 * A warning line when the messages went out clearly slower than `--rate`
 * (the producers could not keep up: too few of them, too small a window, a
 * slow broker), so the figures are those of a lower load than asked.
 */
export function rateShortfallWarning(result: BenchResult): string | undefined {
  const rate = result.settings.rate;
  const reached = result.sendRatePerSecond;
  if (typeof rate !== "number" || reached === undefined || reached >= rate * RATE_REACHED_SHARE) return undefined;
  return (
    `warning: sent ${integer(Math.round(reached))} msg/s, short of --rate ${integer(rate)} msg/s (${Math.floor((reached / rate) * 100)}%): ` +
    "the producers could not keep up, so this run measured a lower load than asked (try more --producers or --max-pending)"
  );
}

const LATENCY_NAMES: Record<BenchResult["latencyKind"], string> = {
  send_to_ack: "send to acknowledgement",
  poll: "consume call round trip",
  send_to_receive: "send to receipt",
};

function latencyJson(summary: LatencySummary) {
  return {
    count: summary.count,
    min: round(summary.minMs),
    mean: round(summary.meanMs),
    p50: round(summary.p50Ms),
    p95: round(summary.p95Ms),
    p99: round(summary.p99Ms),
    max: round(summary.maxMs),
  };
}

function latencyText(summary: LatencySummary): string {
  const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  return `p50 ${ms(summary.p50Ms)} ms, p95 ${ms(summary.p95Ms)} ms, p99 ${ms(summary.p99Ms)} ms, max ${ms(summary.maxMs)} ms`;
}

function integer(value: number): string {
  return value.toLocaleString("en-US");
}

/** Three decimals: microseconds for milliseconds, enough for rates. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** An error as one line for the summary. */
export function errorText(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : String(error);
}

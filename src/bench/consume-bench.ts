import { type ClientAuth, type ClientTls, Admin, type RecordFormat } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { topicPartitions } from "./bench-topic.ts";
import { BenchGroup } from "./bench-group.ts";
import { newRunId } from "./payload.ts";
import { type BenchResult, errorText } from "./bench-result.ts";
import { type ProgressListener, reportProgress } from "./progress.ts";
import { benchGroupMembers, ReceiveStats, receiveLoop } from "./receive-loop.ts";

export interface ConsumeBenchOptions {
  broker: string;
  /** https to the broker with this CA and client certificate (--tls-ca, --tls-cert, --tls-key). */
  tls?: ClientTls;
  /** Credentials (--user with --password-file, or --token-file). */
  auth?: ClientAuth;
  topic: string;
  /** The consumer group; when undefined, a new one (reading from the earliest offset), deleted at the end. */
  group: string | undefined;
  /** Group members reading side by side. */
  consumers: number;
  /** Messages to read in all; the run may stop earlier at `durationMs`. */
  count: number;
  /** Stop after this long; Infinity to read `count`. */
  durationMs: number;
  /** Most records one consume call asks for. */
  maxPollRecords: number;
  /** Stop when nothing arrives for this long. */
  idleTimeoutMs: number;
  /** How records travel: Kafka record batches or JSON. */
  format: RecordFormat;
  /** Members commit in the background this often (GroupConsumerOptions.autoCommitIntervalMs); undefined: each poll commits the one before. */
  autoCommitIntervalMs?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** How often a run checks its deadline, its idle time and Ctrl-C. */
const WATCH_INTERVAL_MS = 100;

/**
 * `gafka bench consume`: members of a consumer group read a topic's stored
 * messages as fast as the broker hands them out, like Kafka's
 * consumer-perf-test (P4 catches up on a million messages). Latency is each
 * consume call's round trip. The clock starts once every member has joined.
 */
export async function runConsumeBench(options: ConsumeBenchOptions): Promise<BenchResult> {
  const admin = new Admin({ broker: options.broker, tls: options.tls, auth: options.auth });
  const partitions = await topicPartitions(admin, options.topic);
  const group = new BenchGroup(options.group, `gafka-bench-${newRunId()}`);
  const groupId = group.groupId;
  const consumers = benchGroupMembers(options, groupId);
  const stats = new ReceiveStats();
  try {
    await Promise.all(consumers.map((consumer) => consumer.join()));
    const startedMs = performance.now();
    const deadlineMs = startedMs + options.durationMs;
    let idle = false;
    const keepGoing = () => !options.signal?.aborted && !idle && stats.received < options.count && performance.now() < deadlineMs;
    const stopAll = () => Promise.all(consumers.map((consumer) => consumer.close({ commit: true })));
    const watch = setInterval(() => {
      idle = performance.now() - Math.max(startedMs, stats.lastReceivedMs) >= options.idleTimeoutMs;
      if (!keepGoing()) void stopAll();
    }, WATCH_INTERVAL_MS);
    const stopProgress = reportProgress(options.onProgress, () => ({ mode: "consume", messages: stats.received, errors: stats.errors }), startedMs);
    try {
      await Promise.all(
        consumers.map((consumer) =>
          receiveLoop({
            consumer,
            stats,
            maxPollRecords: () => Math.max(1, Math.min(options.maxPollRecords, limits.consumeCountMax, options.count - stats.received)),
            keepGoing,
            onRecord: (record) => stats.count(record),
          }),
        ),
      );
    } finally {
      clearInterval(watch);
      stopProgress();
    }
    const shortfall = Number.isFinite(options.count) && stats.received < options.count && !options.signal?.aborted && performance.now() < deadlineMs;
    const errors = stats.errors + (shortfall ? 1 : 0);
    const firstError = errorText(stats.firstError) ?? (shortfall ? `received ${stats.received} of ${options.count}: nothing arrived for ${options.idleTimeoutMs} ms` : undefined);
    return {
      mode: "consume",
      broker: options.broker,
      topic: options.topic,
      partitions,
      settings: {
        group: groupId,
        consumers: options.consumers,
        count: Number.isFinite(options.count) ? options.count : null,
        duration_ms: Number.isFinite(options.durationMs) ? options.durationMs : null,
        max_poll_records: options.maxPollRecords,
        format: options.format,
        commit_interval_ms: options.autoCommitIntervalMs ?? null,
      },
      messages: stats.received,
      duplicates: stats.duplicates,
      bytes: stats.bytes,
      errors,
      ...(firstError === undefined ? {} : { firstError }),
      elapsedMs: (stats.received > 0 ? stats.lastReceivedMs : performance.now()) - startedMs,
      latencyKind: "poll",
      latency: stats.pollLatency.summary(),
    };
  } finally {
    await Promise.all(consumers.map((consumer) => consumer.close({ commit: true })));
    await group.deleteIfCreated(admin);
  }
}

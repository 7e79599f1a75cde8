import { Admin, type GroupConsumer, isGafkaClientError } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { ensureTopic } from "./bench-topic.ts";
import { BenchGroup } from "./bench-group.ts";
import { type BenchResult, errorText } from "./bench-result.ts";
import { LatencyRecorder } from "./latency-recorder.ts";
import { epochNowMs, newRunId, StampedValues } from "./payload.ts";
import { type ProducingOptions, producingSettings, sendFromProducers } from "./produce-bench.ts";
import { reportProgress } from "./progress.ts";
import { benchGroupMembers, POLL_WAIT_MS, ReceiveStats, receiveLoop } from "./receive-loop.ts";
import { SendStats } from "./send-loop.ts";

export interface EndToEndBenchOptions extends ProducingOptions {
  /** The consumer group; when undefined, a new one, deleted at the end. */
  group: string | undefined;
  /** Group members receiving side by side. */
  consumers: number;
  maxPollRecords: number;
  /** Once sending is over, stop waiting for the rest when nothing arrives for this long. */
  idleTimeoutMs: number;
  /** Members commit in the background this often (GroupConsumerOptions.autoCommitIntervalMs); undefined: each poll commits the one before. */
  autoCommitIntervalMs?: number;
}

/** How long the members may take to share out every partition before the first send. */
const ASSIGNMENT_WAIT_MS = 10_000;
const WATCH_INTERVAL_MS = 100;

/**
 * `gafka bench e2e`: producers send messages stamped with their send time
 * (usually at a fixed `--rate`), members of a consumer group in the same
 * process receive them, and the latency is receipt time − send time. The
 * group starts at the log end and every member owns its partitions before
 * the first send, so neither old records nor a rebalance are measured.
 */
export async function runEndToEndBench(options: EndToEndBenchOptions): Promise<BenchResult> {
  const admin = new Admin({ broker: options.broker, tls: options.tls, auth: options.auth });
  const { partitions } = await ensureTopic(admin, options.topic, options.partitions);
  const runId = newRunId();
  const group = new BenchGroup(options.group, `gafka-bench-e2e-${runId}`);
  const groupId = group.groupId;
  await startAtLogEnd(admin, groupId, options.topic);
  const consumers = benchGroupMembers(options, groupId);
  try {
    await shareOutPartitions(consumers, partitions);
    const stamps = new StampedValues(runId, options.messageBytes);
    const sendStats = new SendStats();
    const receiveStats = new ReceiveStats();
    const latency = new LatencyRecorder();
    let sending = true;
    let idle = false;
    const startedMs = performance.now();
    const warmUpEndsEpochMs = epochNowMs() + (options.warmUpMs ?? 0);
    const keepGoing = () => !options.signal?.aborted && !idle && (sending || receiveStats.received < sendStats.acknowledged);
    const watch = setInterval(() => {
      idle = !sending && performance.now() - Math.max(receiveStats.lastReceivedMs, sendStats.lastAcknowledgedMs, startedMs) >= options.idleTimeoutMs;
      if (!keepGoing()) for (const consumer of consumers) void consumer.close({ commit: true });
    }, WATCH_INTERVAL_MS);
    const stopProgress = reportProgress(
      options.onProgress,
      () => ({ mode: "e2e", messages: receiveStats.received, sent: sendStats.sent, errors: sendStats.errors + receiveStats.errors }),
      startedMs,
    );
    try {
      const receiving = consumers.map((consumer) =>
        receiveLoop({
          consumer,
          stats: receiveStats,
          maxPollRecords: () => Math.min(options.maxPollRecords, limits.consumeCountMax),
          keepGoing,
          onRecord: (record) => {
            const sentAtMs = stamps.sentAtMs(record.value);
            if (sentAtMs !== undefined && receiveStats.count(record) && sentAtMs >= warmUpEndsEpochMs) latency.record(epochNowMs() - sentAtMs);
          },
        }),
      );
      await sendFromProducers(options, sendStats, () => stamps.next(), startedMs);
      sending = false;
      await Promise.all(receiving);
    } finally {
      sending = false;
      clearInterval(watch);
      stopProgress();
    }
    const missing = options.signal?.aborted ? 0 : sendStats.acknowledged - receiveStats.received;
    const errors = sendStats.errors + receiveStats.errors + (missing > 0 ? 1 : 0);
    const firstError =
      errorText(sendStats.firstError ?? receiveStats.firstError) ??
      (missing > 0 ? `${missing} acknowledged messages not received: nothing arrived for ${options.idleTimeoutMs} ms` : undefined);
    return {
      mode: "e2e",
      broker: options.broker,
      topic: options.topic,
      partitions,
      settings: {
        ...producingSettings(options),
        group: groupId,
        consumers: options.consumers,
        max_poll_records: options.maxPollRecords,
        commit_interval_ms: options.autoCommitIntervalMs ?? null,
      },
      messages: receiveStats.received,
      sent: sendStats.sent,
      sendRatePerSecond: sendStats.sendRatePerSecond(startedMs),
      duplicates: receiveStats.duplicates,
      bytes: receiveStats.bytes,
      errors,
      ...(firstError === undefined ? {} : { firstError }),
      elapsedMs: (receiveStats.received > 0 ? receiveStats.lastReceivedMs : performance.now()) - startedMs,
      latencyKind: "send_to_receive",
      latency: latency.summary(),
      produceLatency: sendStats.latency.summary(),
    };
  } finally {
    await Promise.all(consumers.map((consumer) => consumer.close({ commit: true })));
    await group.deleteIfCreated(admin);
  }
}

/**
 * Commits the log end of every partition for the group, so that its members
 * skip what the topic already holds. A group with live members keeps its
 * offsets; records of other runs are told apart by their stamp anyway.
 */
async function startAtLogEnd(admin: Admin, groupId: string, topic: string): Promise<void> {
  const description = await admin.describeTopic(topic);
  const offsets = description.partitions.map((partition) => ({ topic, partition: partition.partition, offset: partition.nextOffset }));
  try {
    await admin.commitOffsets(groupId, offsets);
  } catch (error) {
    if (!isGafkaClientError(error) || error.code !== "group_not_empty") throw error;
  }
}

/**
 * Joins every member and polls (without waiting) until their assignments
 * cover every partition: each poll takes up the newest generation.
 */
async function shareOutPartitions(consumers: GroupConsumer[], partitions: number): Promise<void> {
  await Promise.all(consumers.map((consumer) => consumer.join()));
  const deadlineMs = performance.now() + ASSIGNMENT_WAIT_MS;
  for (;;) {
    await Promise.all(consumers.map((consumer) => consumer.poll({ waitMs: 0 })));
    const owned = consumers.reduce((sum, consumer) => sum + (consumer.membership()?.assignment.length ?? 0), 0);
    if (owned >= partitions) return;
    if (performance.now() > deadlineMs) {
      throw new Error(`the group's ${consumers.length} members own ${owned} of ${partitions} partitions after ${ASSIGNMENT_WAIT_MS} ms`);
    }
    await Bun.sleep(Math.min(POLL_WAIT_MS, 50));
  }
}

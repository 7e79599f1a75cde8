import { type ClientAuth, type ClientTls, Admin, Producer, type ProducerAcks, type RecordFormat } from "../client/index.ts";
import { ensureTopic } from "./bench-topic.ts";
import { type BenchResult, errorText } from "./bench-result.ts";
import { Pacer } from "./pacer.ts";
import { fillerValue } from "./payload.ts";
import { type ProgressListener, reportProgress } from "./progress.ts";
import { SendStats, sendLoop } from "./send-loop.ts";

/** Options shared by the modes that produce (produce, e2e). */
export interface ProducingOptions {
  broker: string;
  /** https to the broker with this CA and client certificate (--tls-ca, --tls-cert, --tls-key). */
  tls?: ClientTls;
  /** Credentials (--user with --password-file, or --token-file). */
  auth?: ClientAuth;
  topic: string;
  /** Partitions of the topic when the run creates it. */
  partitions: number;
  messageBytes: number;
  /** Messages to send in all; the run may stop earlier at `durationMs`. */
  count: number;
  /** Stop sending after this long; Infinity to send `count`. */
  durationMs: number;
  /** Producer instances sending side by side (each batches per partition, one request per partition in flight). */
  producers: number;
  /** Records per partition per request. */
  batchSize: number;
  lingerMs: number;
  /** Messages per second offered by all producers together; undefined for as fast as possible. */
  ratePerSecond: number | undefined;
  /** Passed to the Producer only when given (it then travels with every request). */
  acks: ProducerAcks | undefined;
  /** How records travel, both ways: Kafka record batches or JSON. */
  format: RecordFormat;
  /** Messages a producer may have sent and not yet seen answered; default pendingMaxDefault(batchSize). */
  pendingMax?: number;
  /**
   * The latencies of messages sent in the run's first this many ms are left
   * out of the percentiles (both processes still compile their hot code, and
   * connections open then); every message still counts for throughput. 0 for none.
   */
  warmUpMs?: number;
  onProgress?: ProgressListener;
  /** Stops sending (Ctrl-C); what was sent is still awaited and reported. */
  signal?: AbortSignal;
}

/**
 * `gafka bench produce`: producers send `messageBytes`-byte messages as fast
 * as they are acknowledged (or at a fixed rate), like Kafka's
 * producer-perf-test; latency is from `send()` to the acknowledgement,
 * batching (linger) included.
 */
export async function runProduceBench(options: ProducingOptions): Promise<BenchResult> {
  const { partitions } = await ensureTopic(new Admin({ broker: options.broker, tls: options.tls, auth: options.auth }), options.topic, options.partitions);
  const stats = new SendStats();
  const value = fillerValue(options.messageBytes);
  const startedMs = performance.now();
  const stopProgress = reportProgress(
    options.onProgress,
    () => ({ mode: "produce", messages: stats.acknowledged, sent: stats.sent, errors: stats.errors }),
    startedMs,
  );
  try {
    await sendFromProducers(options, stats, () => value, startedMs);
  } finally {
    stopProgress();
  }
  return {
    mode: "produce",
    broker: options.broker,
    topic: options.topic,
    partitions,
    settings: producingSettings(options),
    messages: stats.acknowledged,
    sent: stats.sent,
    sendRatePerSecond: stats.sendRatePerSecond(startedMs),
    bytes: stats.bytes,
    errors: stats.errors,
    ...(stats.errors > 0 ? { firstError: errorText(stats.firstError) } : {}),
    elapsedMs: (stats.acknowledged > 0 ? stats.lastAcknowledgedMs : performance.now()) - startedMs,
    latencyKind: "send_to_ack",
    latency: stats.latency.summary(),
  };
}

/** Runs `options.producers` send loops side by side, splitting the count and the rate between them. */
export async function sendFromProducers(
  options: ProducingOptions,
  stats: SendStats,
  nextValue: () => string,
  startedMs: number,
): Promise<void> {
  const deadlineMs = startedMs + options.durationMs;
  const pendingMax = options.pendingMax ?? pendingMaxDefault(options.batchSize);
  const loops: Promise<void>[] = [];
  for (let index = 0; index < options.producers; index++) {
    const producer = new Producer({
      broker: options.broker,
      tls: options.tls, auth: options.auth,
      batchSize: options.batchSize,
      lingerMs: options.lingerMs,
      format: options.format,
      ...(options.acks === undefined ? {} : { acks: options.acks }),
    });
    const share = Math.floor(options.count / options.producers) + (index < options.count % options.producers ? 1 : 0);
    const pacer = options.ratePerSecond === undefined ? undefined : new Pacer(options.ratePerSecond / options.producers, startedMs);
    loops.push(
      sendLoop({
        producer,
        topic: options.topic,
        count: share,
        deadlineMs,
        latencyFromMs: startedMs + (options.warmUpMs ?? 0),
        pacer,
        pendingMax,
        nextValue,
        stats,
        signal: options.signal,
      }).finally(
        () => producer.close(),
      ),
    );
  }
  await Promise.all(loops);
}

/**
 * A producer's default window: four batches, whatever the topic's partition
 * count. It is the window P2 has been measured with on 2 partitions (two
 * batches per partition); a window that grew with the partitions (as it once
 * did) made the latency at many partitions the drain time of most of a run.
 * The Producer's own bounds (records, bytes, requests in flight, all
 * partitions together) apply within it.
 */
export function pendingMaxDefault(batchSize: number): number {
  return batchSize * 4;
}

export function producingSettings(options: ProducingOptions): BenchResult["settings"] {
  return {
    message_bytes: options.messageBytes,
    count: Number.isFinite(options.count) ? options.count : null,
    duration_ms: Number.isFinite(options.durationMs) ? options.durationMs : null,
    producers: options.producers,
    batch_size: options.batchSize,
    linger_ms: options.lingerMs,
    rate: options.ratePerSecond ?? null,
    acks: options.acks === undefined ? null : String(options.acks),
    format: options.format,
    warm_up_ms: options.warmUpMs ?? 0,
  };
}

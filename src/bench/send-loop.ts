import type { Producer } from "../client/index.ts";
import { LatencyRecorder } from "./latency-recorder.ts";
import type { Pacer } from "./pacer.ts";

/** What the senders of one run did; shared by all its producers. */
export class SendStats {
  sent = 0;
  acknowledged = 0;
  /** Value bytes of the acknowledged messages. */
  bytes = 0;
  errors = 0;
  firstError: unknown = undefined;
  /** From `send()` to the broker's acknowledgement. */
  readonly latency = new LatencyRecorder();
  /** performance.now() of the last acknowledgement. */
  lastAcknowledgedMs = 0;
  /** performance.now() of the last send. */
  lastSentMs = 0;

  /**
   * The rate the messages went out at: sends over the time from the start
   * to the last send (undefined for fewer than two). A run at `--rate` that
   * kept up comes out at about that rate (the pacer catches up in bursts).
   */
  sendRatePerSecond(startedMs: number): number | undefined {
    const spanMs = this.lastSentMs - startedMs;
    return this.sent < 2 || spanMs <= 0 ? undefined : (this.sent * 1000) / spanMs;
  }
}

export interface SendLoopOptions {
  producer: Producer;
  topic: string;
  /** Messages to send; stops earlier at `deadlineMs` or an abort. */
  count: number;
  /** performance.now() after which no message is sent; Infinity for none. */
  deadlineMs: number;
  /** performance.now() from which a message's latency is recorded (the warm-up ends); -Infinity for all. */
  latencyFromMs?: number;
  /** Paces the sends; as fast as the window allows without one. */
  pacer: Pacer | undefined;
  /** Messages sent but not answered yet, at most. */
  pendingMax: number;
  /** The value of the next message (called once per message). */
  nextValue: () => string;
  stats: SendStats;
  signal: AbortSignal | undefined;
}

/**
 * Sends messages through one Producer (which batches them per partition)
 * and resolves once every message sent is answered. A failed send is
 * counted, not thrown: a run reports its errors at the end.
 */
export async function sendLoop(options: SendLoopOptions): Promise<void> {
  const { producer, topic, stats, pacer, signal } = options;
  const latencyFromMs = options.latencyFromMs ?? Number.NEGATIVE_INFINITY;
  let pending = 0;
  let wake: (() => void) | undefined;
  const settled = () => {
    pending--;
    if (wake !== undefined) {
      const resume = wake;
      wake = undefined;
      resume();
    }
  };
  for (let index = 0; index < options.count; index++) {
    if (signal?.aborted || performance.now() >= options.deadlineMs) break;
    if (pacer !== undefined) {
      const delayMs = pacer.delayMs();
      if (delayMs > 0) {
        await Bun.sleep(delayMs);
        if (signal?.aborted || performance.now() >= options.deadlineMs) break;
      }
      pacer.markSent();
    }
    while (pending >= options.pendingMax) await new Promise<void>((resolve) => (wake = resolve));
    const value = options.nextValue();
    const sentAtMs = performance.now();
    pending++;
    stats.sent++;
    stats.lastSentMs = sentAtMs;
    producer.send({ topic, value }).then(
      () => {
        const nowMs = performance.now();
        if (sentAtMs >= latencyFromMs) stats.latency.record(nowMs - sentAtMs);
        stats.acknowledged++;
        stats.bytes += value.length;
        stats.lastAcknowledgedMs = nowMs;
        settled();
      },
      (error: unknown) => {
        stats.errors++;
        stats.firstError ??= error;
        settled();
      },
    );
  }
  await producer.flush();
  while (pending > 0) await new Promise<void>((resolve) => (wake = resolve));
}

import { type Clock, sleep } from "../core/clock.ts";

/**
 * A rate for background I/O (as Kafka's Throttler for its log cleaner): each
 * spend() of `bytes` waits, on the injected clock, until the bytes spent
 * since the window began fit the rate. A window starts afresh after a second
 * idle, so a pause is not saved up into a burst.
 */
export class IoThrottle {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private bytesInWindow = 0;

  constructor(
    private readonly clock: Clock,
    /** Infinity: no limit. */
    private readonly bytesPerSecond: number,
  ) {}

  readonly spend = async (bytes: number): Promise<void> => {
    if (this.bytesPerSecond === Number.POSITIVE_INFINITY) return;
    const nowMs = this.clock.monotonicMs();
    const dueMs = this.windowStartMs + (this.bytesInWindow * 1000) / this.bytesPerSecond;
    if (nowMs - Math.max(dueMs, this.windowStartMs) > 1000) {
      this.windowStartMs = nowMs;
      this.bytesInWindow = 0;
    }
    this.bytesInWindow += bytes;
    const waitMs = this.windowStartMs + (this.bytesInWindow * 1000) / this.bytesPerSecond - nowMs;
    if (waitMs > 0) await sleep(this.clock, waitMs);
  };
}

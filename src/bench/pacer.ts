/**
 * Paces sends at a fixed rate: message n is due `n / rate` seconds after the
 * start. A sender that falls behind catches up in a burst rather than
 * lowering the rate, so the offered load is the one asked for (latencies
 * are measured from the actual send, so a late send does not hide its wait).
 */
export class Pacer {
  private sent = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly startMs: number = performance.now(),
  ) {}

  /** Milliseconds until the next message is due; 0 or less when it is due now. */
  delayMs(nowMs: number = performance.now()): number {
    return this.startMs + (this.sent * 1000) / this.ratePerSecond - nowMs;
  }

  markSent(): void {
    this.sent++;
  }
}

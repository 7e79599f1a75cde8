import type { Clock } from "../core/clock.ts";

/**
 * When a partition's active segment rolls (Kafka's LogSegment.shouldRoll):
 * before it would grow past segment.bytes, or once it has held records for
 * segment.ms. Both limits are the topic's and change live (setLimits); the
 * next decision uses them, sealed segments stay as they are.
 */
export class SegmentRollPolicy {
  private segmentBytesMax: number;
  private segmentMs = Number.POSITIVE_INFINITY;
  /**
   * Wall-clock ms when the active segment took its first record here (after
   * an open or a reopen: when the log first asked about it), what segment.ms
   * counts from; undefined while it is empty or not yet asked about.
   */
  private activeSinceMs: number | undefined;

  constructor(
    segmentBytesMax: number,
    private readonly clock: Clock,
  ) {
    this.segmentBytesMax = segmentBytesMax;
  }

  setLimits(limits: { segmentBytesMax: number; segmentMs: number }): void {
    this.segmentBytesMax = limits.segmentBytesMax;
    this.segmentMs = limits.segmentMs;
  }

  /** Whether an active segment of `sizeBytes` rolls before taking `bytes` more. */
  shouldRoll(sizeBytes: number, bytes: number): boolean {
    return (sizeBytes > 0 && sizeBytes + bytes > this.segmentBytesMax) || this.isAged(sizeBytes);
  }

  /** Whether an active segment of `sizeBytes` has held records for segment.ms; starts timing one not timed yet. */
  isAged(sizeBytes: number): boolean {
    if (sizeBytes === 0) return false;
    const nowMs = this.clock.nowMs();
    this.activeSinceMs ??= nowMs;
    return nowMs - this.activeSinceMs >= this.segmentMs;
  }

  /** The active segment (of `sizeBytes`) is about to take frames: an empty one starts its clock. */
  appending(sizeBytes: number): void {
    if (sizeBytes === 0) this.activeSinceMs = this.clock.nowMs();
  }

  /** A new active segment (a roll), or one loaded from disk: not timed yet. */
  reset(): void {
    this.activeSinceMs = undefined;
  }
}

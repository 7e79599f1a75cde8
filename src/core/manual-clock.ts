import { assert } from "./assert.ts";
import type { Clock, Timer } from "./clock.ts";

interface ScheduledTimer extends Timer {
  dueMs: number;
  /** Ties on dueMs fire in the order they were scheduled, as the runtime's timers do. */
  sequence: number;
  /** 0 for a timeout; the period of an interval. */
  intervalMs: number;
  callback: () => void;
}

/**
 * A Clock that moves only when told (TigerBeetle's simulated time, Kafka's
 * MockTime): advance(ms) moves the wall and monotonic readings together and
 * fires every timer that falls due on the way, in time order, each with the
 * clock reading its own due time; an interval fires as many times as its
 * period fits. For tests: a session sweep or an interval fsync happens when
 * the test advances past it, not after a real wait.
 */
export class ManualClock implements Clock {
  private monotonic: number;
  private readonly wallMinusMonotonicMs: number;
  private timers: ScheduledTimer[] = [];
  private sequence = 0;
  private advancing = false;

  /** Defaults: monotonic 1 000 000 ms, the wall 1 764 000 000 000 ms (late 2025) ahead of it. */
  constructor(start: { monotonicMs?: number; nowMs?: number } = {}) {
    this.monotonic = start.monotonicMs ?? 1_000_000;
    this.wallMinusMonotonicMs = (start.nowMs ?? 1_764_000_000_000 + this.monotonic) - this.monotonic;
  }

  nowMs(): number {
    return this.wallMinusMonotonicMs + this.monotonic;
  }

  monotonicMs(): number {
    return this.monotonic;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    return this.schedule(callback, Math.max(0, delayMs), 0);
  }

  /** A period under 1 ms counts as 1 ms, as the runtime's setInterval does. */
  setInterval(callback: () => void, intervalMs: number): Timer {
    const period = Math.max(1, intervalMs);
    return this.schedule(callback, period, period);
  }

  /** Timers scheduled and not yet fired (timeouts) or cancelled. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order of due time (then
   * of scheduling). A callback runs with the clock at its due time; timers it
   * schedules fire in this same advance when due within it. A callback that
   * throws stops the advance there, the error passing to the caller.
   */
  advance(ms: number): void {
    assert(ms >= 0 && Number.isFinite(ms), `ManualClock.advance(${ms})`);
    assert(!this.advancing, "ManualClock.advance called from a timer callback");
    const targetMs = this.monotonic + ms;
    this.advancing = true;
    try {
      for (let timer = this.nextDue(targetMs); timer !== undefined; timer = this.nextDue(targetMs)) {
        this.monotonic = Math.max(this.monotonic, timer.dueMs);
        if (timer.intervalMs > 0) {
          timer.dueMs += timer.intervalMs;
          timer.sequence = this.sequence++;
        } else {
          this.remove(timer);
        }
        timer.callback();
      }
      this.monotonic = targetMs;
    } finally {
      this.advancing = false;
    }
  }

  private schedule(callback: () => void, delayMs: number, intervalMs: number): Timer {
    const timer: ScheduledTimer = {
      dueMs: this.monotonic + delayMs,
      sequence: this.sequence++,
      intervalMs,
      callback,
      cancel: () => this.remove(timer),
    };
    this.timers.push(timer);
    return timer;
  }

  private remove(timer: ScheduledTimer): void {
    const at = this.timers.indexOf(timer);
    if (at >= 0) this.timers.splice(at, 1);
  }

  /** The earliest timer due at or before `targetMs`, if any. */
  private nextDue(targetMs: number): ScheduledTimer | undefined {
    let next: ScheduledTimer | undefined;
    for (const timer of this.timers) {
      if (timer.dueMs > targetMs) continue;
      if (next === undefined || timer.dueMs < next.dueMs || (timer.dueMs === next.dueMs && timer.sequence < next.sequence)) next = timer;
    }
    return next;
  }
}

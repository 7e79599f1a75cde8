import { type Clock, systemClock, type Timer } from "../core/clock.ts";

/**
 * The long polls waiting on one partition: each for a record at its offset,
 * woken by the append that makes one visible (never by polling), or at its
 * timeout, or when any of its signals aborts. Several signals rather than
 * AbortSignal.any: each of those leaves the garbage collector weak
 * references to process, per poll.
 */
/** One long poll's interest in a partition: woken once a record at `offset` is visible. */
export interface ReadWaiter {
  readonly offset: number;
  /** Called once, after the waiter is removed; never called for a waiter removed by its owner. */
  wake(): void;
}

export class ReadWaiters {
  private waiters: ReadWaiter[] = [];

  /** `clock` times the waits out. */
  constructor(private readonly clock: Clock = systemClock) {}

  get size(): number {
    return this.waiters.length;
  }

  /** Registers a waiter; it stays until wake(), wakeAll() or remove() takes it out. */
  add(waiter: ReadWaiter): void {
    this.waiters.push(waiter);
  }

  /** Takes a waiter out without waking it (its long poll ended otherwise). */
  remove(waiter: ReadWaiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at >= 0) this.waiters.splice(at, 1);
  }

  /** Resolves once wake() is called with a high watermark past `offset`, after `waitMs`, or when a signal aborts. */
  wait(offset: number, waitMs: number, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: Timer | undefined;
      const finish = () => {
        timer?.cancel();
        for (const signal of signals) signal?.removeEventListener("abort", finish);
        this.remove(waiter);
        resolve();
      };
      const waiter: ReadWaiter = { offset, wake: finish };
      timer = this.clock.setTimeout(finish, waitMs);
      for (const signal of signals) signal?.addEventListener("abort", finish, { once: true });
      this.add(waiter);
    });
  }

  /** Wakes every waiter for an offset below the high watermark: there is a record for it now. */
  wake(highWatermark: number): void {
    if (this.waiters.length === 0) return;
    const woken: ReadWaiter[] = [];
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.offset >= highWatermark) return true;
      woken.push(waiter);
      return false;
    });
    for (const waiter of woken) waiter.wake();
  }

  /** Wakes every waiter (the log is closing). */
  wakeAll(): void {
    const woken = this.waiters;
    this.waiters = [];
    for (const waiter of woken) waiter.wake();
  }
}

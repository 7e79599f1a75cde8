import type { Clock } from "../core/clock.ts";
import { type ReadWaiter, ReadWaiters } from "./read-waiters.ts";

/**
 * A partition's high watermark: one past the last offset readers may see.
 * It is the durable end here (what the fsync policy acknowledged) bounded,
 * under replication, by what the in-sync followers hold durably (on a
 * follower: its leader's high watermark). Readers waiting for data and
 * replication's listeners are woken from here.
 *
 * In memory only: on a load or reopen the durable end is the log end found
 * in the files (reset), and the bound is cut back to it.
 */
export class HighWatermark {
  /** One past the last offset acknowledged locally (fsynced under `always`). */
  durableOffset = 0;
  /**
   * Replication's bound on what readers see: the leader's in-sync replicas'
   * durable position, or on a follower the leader's high watermark.
   * Undefined for a broker alone: then the high watermark is durableOffset.
   */
  limit: number | undefined = undefined;
  private durableListeners: (() => void)[] = [];
  private readonly waiters: ReadWaiters;

  /** `clock` times the read waiters' long polls. */
  constructor(clock: Clock) {
    this.waiters = new ReadWaiters(clock);
  }

  get value(): number {
    const limit = this.limit;
    return limit === undefined || limit >= this.durableOffset ? this.durableOffset : limit;
  }

  /** Records that everything below nextOffset is durable here; wakes replication and, when it moved, readers. */
  makeDurable(nextOffset: number): void {
    if (nextOffset <= this.durableOffset) return;
    const before = this.value;
    this.durableOffset = nextOffset;
    for (const listener of this.durableListeners) listener();
    if (this.value > before) this.wakeReaders();
  }

  /**
   * The log was (re)loaded and its files end at `durableOffset`: a reopen
   * after a failure may find less than was durable before, and readers
   * follow the files. Wakes replication and readers.
   */
  reset(durableOffset: number): void {
    this.durableOffset = durableOffset;
    if (this.limit !== undefined) this.limit = Math.min(this.limit, durableOffset);
    for (const listener of this.durableListeners) listener();
    this.wakeReaders();
  }

  /** The log was cut back to end at `offset` (truncation): nothing past it is durable or visible. */
  truncateTo(offset: number): void {
    this.durableOffset = Math.min(this.durableOffset, offset);
    if (this.limit !== undefined) this.limit = Math.min(this.limit, offset);
  }

  onDurable(listener: () => void): void {
    this.durableListeners.push(listener);
  }

  /** Raises the bound (never lowers what readers already see); undefined lifts it. */
  setLimit(limit: number | undefined): void {
    const before = this.value;
    this.limit = limit === undefined ? undefined : Math.max(limit, before);
    if (this.value > before) this.wakeReaders();
  }

  /** Sets the bound as given, even below what readers saw (a broker taking up a role). */
  resetLimit(limit: number | undefined): void {
    this.limit = limit;
    this.wakeReaders();
  }

  waitForData(offset: number, waitMs: number, closed: boolean, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
    if (this.value > offset || waitMs <= 0 || closed || signals.some((signal) => signal?.aborted)) return Promise.resolve();
    return this.waiters.wait(offset, waitMs, signals);
  }

  addReadWaiter(waiter: ReadWaiter, closed: boolean): boolean {
    if (this.value > waiter.offset || closed) return false;
    this.waiters.add(waiter);
    return true;
  }

  removeReadWaiter(waiter: ReadWaiter): void {
    this.waiters.remove(waiter);
  }

  /** The log is closing: no listener is called again and every waiter wakes. */
  close(): void {
    this.durableListeners = [];
  }

  wakeAll(): void {
    this.waiters.wakeAll();
  }

  private wakeReaders(): void {
    if (this.waiters.size > 0) this.waiters.wake(this.value);
  }
}

/**
 * The long polls waiting on one partition: each for a record at its offset,
 * woken by the append that makes one visible (never by polling), or at its
 * timeout, or when any of its signals aborts. Several signals rather than
 * AbortSignal.any: each of those leaves the garbage collector weak
 * references to process, per poll.
 */
export class ReadWaiters {
  private waiters: { offset: number; finish: () => void }[] = [];

  get size(): number {
    return this.waiters.length;
  }

  /** Resolves once wake() is called with a high watermark past `offset`, after `waitMs`, or when a signal aborts. */
  wait(offset: number, waitMs: number, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = { offset, finish: () => {} };
      const finish = () => {
        clearTimeout(timer);
        for (const signal of signals) signal?.removeEventListener("abort", finish);
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve();
      };
      waiter.finish = finish;
      timer = setTimeout(finish, waitMs);
      for (const signal of signals) signal?.addEventListener("abort", finish, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Wakes every wait for an offset below the high watermark: there is a record for it now. */
  wake(highWatermark: number): void {
    if (this.waiters.length === 0) return;
    for (const waiter of this.waiters.filter((each) => each.offset < highWatermark)) waiter.finish();
  }

  /** Ends every wait (the log is closing). */
  wakeAll(): void {
    for (const waiter of [...this.waiters]) waiter.finish();
  }
}

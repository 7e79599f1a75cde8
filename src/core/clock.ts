/** A pending callback from Clock.setTimeout or Clock.setInterval. */
export interface Timer {
  /** Stops it: a timeout that has not fired never will, an interval fires no more. Idempotent. */
  cancel(): void;
}

/**
 * Time, passed in so tests can drive it: readings and timers both, so a test
 * moves time forward (src/core/manual-clock.ts) instead of sleeping.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (record timestamps). */
  nowMs(): number;
  /** Monotonic milliseconds (timeouts, latencies). */
  monotonicMs(): number;
  /** Calls `callback` once, `delayMs` from now on the monotonic clock. */
  setTimeout(callback: () => void, delayMs: number): Timer;
  /** Calls `callback` every `intervalMs` until cancelled. */
  setInterval(callback: () => void, intervalMs: number): Timer;
}

/** Real time: Date.now, performance.now and the runtime's timers (which keep the process alive while pending, as before). */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (callback, delayMs) => {
    const handle = globalThis.setTimeout(callback, delayMs);
    return { cancel: () => globalThis.clearTimeout(handle) };
  },
  setInterval: (callback, intervalMs) => {
    const handle = globalThis.setInterval(callback, intervalMs);
    return { cancel: () => globalThis.clearInterval(handle) };
  },
};

/** Resolves once `ms` have passed on `clock` (a ManualClock's: when a test advances past them). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

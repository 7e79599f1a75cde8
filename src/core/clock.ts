/** Time, passed in so tests can drive it. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (record timestamps). */
  nowMs(): number;
  /** Monotonic milliseconds (timeouts, latencies). */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

/** Bucket width: each bucket's upper bound is 1% above its lower one, so a percentile is within 1%. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets count microseconds from 1 µs up to an hour; beyond, the last bucket holds the rest. */
const BUCKET_COUNT = Math.ceil(Math.log(3_600_000_000) / LOG_GROWTH) + 1;

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Latencies in milliseconds, counted in buckets that grow by 1% (as
 * HdrHistogram does, in spirit): memory is fixed however long a run is, a
 * percentile is within 1% of the true value, and min, max and mean are exact.
 */
export class LatencyRecorder {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private count = 0;
  private sumMs = 0;
  private minMs = Number.POSITIVE_INFINITY;
  private maxMs = 0;

  record(ms: number): void {
    const micros = ms * 1000;
    const index = micros <= 1 ? 0 : Math.min(BUCKET_COUNT - 1, Math.ceil(Math.log(micros) / LOG_GROWTH));
    this.counts[index]!++;
    this.count++;
    this.sumMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get recorded(): number {
    return this.count;
  }

  /** The latency below which `fraction` (0..1) of the recorded ones fall; 0 when none were recorded. */
  percentile(fraction: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.count));
    let seen = 0;
    for (let index = 0; index < BUCKET_COUNT; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) {
        // The bucket's upper bound (the last bucket has none), kept inside what was actually seen.
        if (index === BUCKET_COUNT - 1) return this.maxMs;
        const upperMs = GROWTH ** index / 1000;
        return Math.min(this.maxMs, Math.max(this.minMs, upperMs));
      }
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      minMs: this.count === 0 ? 0 : this.minMs,
      meanMs: this.count === 0 ? 0 : this.sumMs / this.count,
      p50Ms: this.percentile(0.5),
      p95Ms: this.percentile(0.95),
      p99Ms: this.percentile(0.99),
      maxMs: this.maxMs,
    };
  }
}

import { expect, test } from "bun:test";
import { LatencyRecorder } from "./latency-recorder.ts";

test("percentiles are within 1% of the exact ones, min, max and mean exact", () => {
  const recorder = new LatencyRecorder();
  const values: number[] = [];
  for (let i = 1; i <= 10_000; i++) values.push(i / 100); // 0.01 ms .. 100 ms
  for (const value of values) recorder.record(value);
  const summary = recorder.summary();
  expect(summary.count).toBe(10_000);
  expect(summary.minMs).toBe(0.01);
  expect(summary.maxMs).toBe(100);
  expect(summary.meanMs).toBeCloseTo(50.005, 6);
  for (const [fraction, exact] of [[0.5, 50], [0.95, 95], [0.99, 99]] as const) {
    const estimate = recorder.percentile(fraction);
    expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(0.01);
  }
  expect(summary.p50Ms).toBeLessThanOrEqual(summary.p95Ms);
  expect(summary.p95Ms).toBeLessThanOrEqual(summary.p99Ms);
  expect(summary.p99Ms).toBeLessThanOrEqual(summary.maxMs);
});

test("a single value is every percentile; nothing recorded gives zeros", () => {
  const one = new LatencyRecorder();
  one.record(3.7);
  expect(one.summary()).toEqual({ count: 1, minMs: 3.7, meanMs: 3.7, p50Ms: 3.7, p95Ms: 3.7, p99Ms: 3.7, maxMs: 3.7 });
  expect(new LatencyRecorder().summary()).toEqual({ count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 });
});

test("sub-microsecond and hour-long values land in the end buckets", () => {
  const recorder = new LatencyRecorder();
  recorder.record(0);
  recorder.record(10_000_000);
  expect(recorder.percentile(0.5)).toBeLessThanOrEqual(0.001);
  expect(recorder.percentile(1)).toBe(10_000_000);
});

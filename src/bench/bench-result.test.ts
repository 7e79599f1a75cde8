import { expect, test } from "bun:test";
import { type BenchResult, benchResultJson, rateShortfallWarning } from "./bench-result.ts";
import { LatencyRecorder } from "./latency-recorder.ts";

function result(rate: number | null, sendRatePerSecond: number | undefined): BenchResult {
  return {
    mode: "e2e",
    broker: "localhost:9001",
    topic: "t",
    partitions: 2,
    settings: { rate },
    messages: 100,
    sent: 100,
    ...(sendRatePerSecond === undefined ? {} : { sendRatePerSecond }),
    bytes: 1000,
    errors: 0,
    elapsedMs: 1000,
    latencyKind: "send_to_receive",
    latency: new LatencyRecorder().summary(),
  };
}

test("a run that went out at its --rate, or had none, is not warned about", () => {
  expect(rateShortfallWarning(result(5000, 5100))).toBeUndefined();
  expect(rateShortfallWarning(result(5000, 4600))).toBeUndefined(); // within 10%
  expect(rateShortfallWarning(result(null, 10))).toBeUndefined();
  expect(rateShortfallWarning(result(5000, undefined))).toBeUndefined(); // fewer than two sends
});

test("a run clearly below its --rate says so, with both rates", () => {
  expect(rateShortfallWarning(result(5000, 3912.4))).toStartWith("warning: sent 3,912 msg/s, short of --rate 5,000 msg/s (78%): ");
  expect(benchResultJson(result(5000, 3912.4)).sent_per_second).toBe(3912.4);
});

import { expect, test } from "bun:test";
import { type Clock, systemClock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { ProduceFailureLog } from "./produce-failure-log.ts";

test("a failed produce is logged naming its partition: the first at once, then once a second per partition with a count", () => {
  let nowMs = 1_000;
  const clock: Clock = { ...systemClock, nowMs: () => nowMs, monotonicMs: () => nowMs };
  const lines: string[] = [];
  const logger: Logger = { error: () => {}, warn: (message) => lines.push(String(message)), info: () => {}, debug: () => {} };
  const log = new ProduceFailureLog(logger, clock);
  const full = (partition: string) => new GafkaError("storage_full", `partition ${partition}: write failed (ENOSPC)`, { retriable: true });

  log.failed("t-0", full("t-0"));
  log.failed("t-0", full("t-0"));
  log.failed("t-1", full("t-1"));
  nowMs += 999;
  log.failed("t-0", full("t-0"));
  nowMs += 1;
  log.failed("t-0", full("t-0"));
  nowMs += 5_000;
  log.failed("t-0", full("t-0"));
  expect(lines).toEqual([
    "produce to t-0 failed, storage_full: partition t-0: write failed (ENOSPC)",
    "produce to t-1 failed, storage_full: partition t-1: write failed (ENOSPC)",
    "produce to t-0 failed, storage_full: partition t-0: write failed (ENOSPC) (and 2 more failed produces to t-0 since the last report)",
    "produce to t-0 failed, storage_full: partition t-0: write failed (ENOSPC)",
  ]);
});

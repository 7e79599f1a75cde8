import { describe, expect, test } from "bun:test";
import { GafkaClientError } from "./client-error.ts";
import { formatDurationMs, isRetriable, RetryPolicy, type RetryClock, type RetryEvent } from "./retry.ts";

/** Time that moves only when the policy sleeps, and jitter from a script. */
interface FakeClock extends RetryClock {
  nowMs: number;
  /** Every wait asked for, in order. */
  waits: number[];
}

function fakeClock(randoms: number[] = []): FakeClock {
  const clock: FakeClock = {
    nowMs: 0,
    waits: [] as number[],
    monotonicMs: () => clock.nowMs,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw new GafkaClientError("aborted", "request was aborted");
      clock.waits.push(ms);
      clock.nowMs += ms;
    },
    random: () => randoms.shift() ?? 1 - Number.EPSILON,
  };
  return clock;
}

const refused = () => new GafkaClientError("network_error", "cannot reach broker at http://127.0.0.1:9001 (ECONNREFUSED)");

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("RetryPolicy", () => {
  test("waits are capped exponential backoff with full jitter", async () => {
    // Jitter at the top of each range, then at its middle, then at nothing.
    const clock = fakeClock([0.999, 0.999, 0.999, 0.999, 0.999, 0.999, 0.5, 0]);
    const schedule = new RetryPolicy({ retryBackoffMs: 100, retryBackoffMaxMs: 1000, retryDeadlineMs: 60_000 }, clock).start();
    for (let failure = 0; failure < 8; failure++) await schedule.wait(refused());
    expect(clock.waits).toEqual([99, 199, 399, 799, 999, 999, 500, 0]);
  });

  test("gives up once the deadline has passed since the first failure, with the last error and how long it tried", async () => {
    const clock = fakeClock();
    clock.nowMs = 5_000; // the deadline counts from the first failure, not from the clock's zero
    const schedule = new RetryPolicy({ retryBackoffMs: 100, retryBackoffMaxMs: 400, retryDeadlineMs: 1_000 }, clock).start();
    const waits: number[] = [];
    let error: unknown;
    for (;;) {
      try {
        await schedule.wait(refused());
        waits.push(clock.nowMs);
      } catch (caught) {
        error = caught;
        break;
      }
    }
    // Waits of ~100, ~200, ~399, then the rest of the deadline: the last attempt is made at it.
    expect(clock.waits).toEqual([99, 199, 399, 303]);
    expect(clock.nowMs).toBe(6_000);
    expect(error).toBeInstanceOf(GafkaClientError);
    const gaveUp = error as GafkaClientError;
    expect(gaveUp.code).toBe("network_error");
    expect(gaveUp.message).toBe("gave up after 1s and 5 attempts: cannot reach broker at http://127.0.0.1:9001 (ECONNREFUSED)");
    expect(gaveUp.retriable).toBe(false);
    expect(gaveUp.cause).toBeInstanceOf(GafkaClientError);
    expect(isRetriable(gaveUp)).toBe(false);
  });

  test("a reset starts the count of failures again, but not the deadline's clock before the next failure", async () => {
    const clock = fakeClock([0.999, 0.999, 0.999, 0.999]);
    const schedule = new RetryPolicy({ retryBackoffMs: 100, retryDeadlineMs: 10_000 }, clock).start();
    await schedule.wait(refused());
    await schedule.wait(refused());
    schedule.reset();
    clock.nowMs += 60_000; // a long healthy stretch: the next outage gets a deadline of its own
    await schedule.wait(refused());
    await schedule.wait(refused());
    expect(clock.waits).toEqual([99, 199, 99, 199]);
  });

  test("retries bounds the attempts whatever the deadline; with retries 0 the failure comes back as it was", async () => {
    const clock = fakeClock();
    const twice = new RetryPolicy({ retries: 2, retryDeadlineMs: 60_000 }, clock).start();
    await twice.wait(refused());
    await twice.wait(refused());
    expect(((await thrown(twice.wait(refused()))) as Error).message).toStartWith("gave up after ");
    const first = refused();
    expect(await thrown(new RetryPolicy({ retries: 0 }, clock).start().wait(first))).toBe(first);
  });

  test("what is not retriable is thrown at once, without a wait", async () => {
    const clock = fakeClock();
    const schedule = new RetryPolicy({}, clock).start();
    const notFound = new GafkaClientError("topic_not_found", "topic 't' does not exist", { status: 404 });
    expect(await thrown(schedule.wait(notFound))).toBe(notFound);
    const corrupt = new GafkaClientError("log_corrupt", "bad frame", { status: 503 });
    expect(await thrown(schedule.wait(corrupt))).toBe(corrupt);
    const aborted = new GafkaClientError("aborted", "aborted", { retriable: true });
    expect(await thrown(schedule.wait(aborted))).toBe(aborted);
    const plain = new Error("a bug");
    expect(await thrown(schedule.wait(plain))).toBe(plain);
    expect(clock.waits).toEqual([]);
  });

  test("which failures are retriable: the broker's flag, else 503 (not a corrupt log), 429, 421, and no answer", () => {
    expect(isRetriable(refused())).toBe(true);
    expect(isRetriable(new GafkaClientError("timeout", "no answer"))).toBe(true);
    expect(isRetriable(new GafkaClientError("partition_offline", "offline", { status: 503 }))).toBe(true);
    expect(isRetriable(new GafkaClientError("too_many_requests", "later", { status: 429 }))).toBe(true);
    expect(isRetriable(new GafkaClientError("not_leader", "a follower", { status: 421 }))).toBe(true);
    expect(isRetriable(new GafkaClientError("storage_failed", "fsync failed", { status: 503, retriable: false }))).toBe(false);
    expect(isRetriable(new GafkaClientError("invalid_request", "bad", { status: 400 }))).toBe(false);
    expect(isRetriable(new GafkaClientError("client_closed", "closed", { retriable: true }))).toBe(false);
  });

  test("tells the caller before each wait", async () => {
    const events: RetryEvent[] = [];
    const clock = fakeClock([0.5]);
    const schedule = new RetryPolicy({ retryBackoffMs: 100, retryDeadlineMs: 1_000 }, clock, (event) => events.push(event)).start();
    const error = refused();
    await schedule.wait(error);
    expect(events).toEqual([{ error, failures: 1, waitMs: 50, remainingMs: 1_000 }]);
  });

  test("an abort during the wait ends it", async () => {
    const controller = new AbortController();
    controller.abort();
    const schedule = new RetryPolicy({}, fakeClock()).start();
    expect(((await thrown(schedule.wait(refused(), controller.signal))) as GafkaClientError).code).toBe("aborted");
  });

  test("refuses negative settings", () => {
    expect(() => new RetryPolicy({ retryBackoffMs: -1 })).toThrow("retryBackoffMs must be 0 or more");
    expect(() => new RetryPolicy({ retryDeadlineMs: Number.NaN })).toThrow("retryDeadlineMs must be 0 or more");
  });
});

test("formatDurationMs writes durations as the CLI's flags take them", () => {
  expect(formatDurationMs(0)).toBe("0ms");
  expect(formatDurationMs(850.4)).toBe("850ms");
  expect(formatDurationMs(12_300)).toBe("12s");
  expect(formatDurationMs(120_000)).toBe("2m");
  expect(formatDurationMs(125_000)).toBe("2m5s");
});

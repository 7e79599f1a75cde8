import { GafkaClientError } from "./client-error.ts";

/**
 * The SDK's one retry policy: which failures deserve another attempt, how
 * long to wait before it, and when to give up. Every client (producer,
 * consumers, admin) goes through it, by way of the HttpClient and the
 * GroupConsumer's rejoin loop.
 *
 * Waits are capped exponential backoff with full jitter (a uniformly random
 * wait between 0 and min(retryBackoffMaxMs, retryBackoffMs × 2^failures)):
 * clients that lost one broker at the same moment do not all come back at the
 * same instant. The client gives up once `retryDeadlineMs` has passed since
 * the first failure of the operation (Kafka's `delivery.timeout.ms` plays this
 * part for its producer), or after `retries` further attempts.
 */
export interface RetryOptions {
  /** The cap of the first wait, doubled for each further failure. Default 100 ms (Kafka's `retry.backoff.ms`). */
  retryBackoffMs?: number;
  /** No wait is longer than this. Default 1 s (Kafka's `retry.backoff.max.ms`). */
  retryBackoffMaxMs?: number;
  /**
   * How long an operation keeps retrying, counted from its first failure;
   * then it fails with the last error, saying it gave up. Default 2 min
   * (Kafka's `delivery.timeout.ms`).
   */
  retryDeadlineMs?: number;
  /** Most further attempts after failures, whatever the deadline. Default: no limit but the deadline. */
  retries?: number;
}

/** Time and chance for the policy, passed in so a test can drive them. */
export interface RetryClock {
  /** Monotonic milliseconds. */
  monotonicMs(): number;
  /** Resolves after `ms`; rejects with code `aborted` when the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1): the jitter. */
  random(): number;
}

export const RETRY_BACKOFF_MS_DEFAULT = 100;
export const RETRY_BACKOFF_MAX_MS_DEFAULT = 1_000;
export const RETRY_DEADLINE_MS_DEFAULT = 120_000;

export const systemRetryClock: RetryClock = {
  monotonicMs: () => performance.now(),
  sleep: abortableSleep,
  random: Math.random,
};

/** What a retry is about to do, for the caller's log (`ClientOptions.onRetry`). */
export interface RetryEvent {
  /** The failure being retried. */
  error: GafkaClientError;
  /** Failures of this operation so far (1 at the first). */
  failures: number;
  /** The wait before the next attempt. */
  waitMs: number;
  /** Time left before the operation gives up. */
  remainingMs: number;
}

export class RetryPolicy {
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  readonly deadlineMs: number;
  readonly retries: number;

  constructor(
    options: RetryOptions = {},
    readonly clock: RetryClock = systemRetryClock,
    private readonly onRetry: ((event: RetryEvent) => void) | undefined = undefined,
  ) {
    this.backoffMs = atLeastZero("retryBackoffMs", options.retryBackoffMs ?? RETRY_BACKOFF_MS_DEFAULT);
    this.backoffMaxMs = atLeastZero("retryBackoffMaxMs", options.retryBackoffMaxMs ?? RETRY_BACKOFF_MAX_MS_DEFAULT);
    this.deadlineMs = atLeastZero("retryDeadlineMs", options.retryDeadlineMs ?? RETRY_DEADLINE_MS_DEFAULT);
    this.retries = atLeastZero("retries", options.retries ?? Number.POSITIVE_INFINITY);
  }

  /** The bound of the wait after the `failures`-th failure (1-based), before jitter. */
  backoffCapMs(failures: number): number {
    return Math.min(this.backoffMaxMs, this.backoffMs * 2 ** Math.min(failures - 1, 52));
  }

  /** A schedule for one operation: its failures and its deadline. */
  start(): RetrySchedule {
    return new RetrySchedule(this, this.onRetry);
  }
}

/** One operation's retries: the deadline starts at its first failure. */
export class RetrySchedule {
  private failures = 0;
  private firstFailureMs = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly onRetry: ((event: RetryEvent) => void) | undefined,
  ) {}

  /**
   * After a failure the caller would retry: waits (with jitter) and
   * resolves, or throws when the failure may not be retried or the deadline
   * or the attempts are spent. A failure that is not retriable is thrown as
   * it is; a spent schedule throws `gaveUp` of the last failure (the failure
   * itself when no retry was allowed at all). The wait
   * never runs past the deadline, so the last attempt is made at it.
   */
  async wait(error: unknown, signal?: AbortSignal): Promise<void> {
    if (!isRetriable(error)) throw error;
    const clock = this.policy.clock;
    const nowMs = clock.monotonicMs();
    if (this.failures === 0) this.firstFailureMs = nowMs;
    this.failures++;
    const elapsedMs = nowMs - this.firstFailureMs;
    const remainingMs = this.policy.deadlineMs - elapsedMs;
    if (this.failures > this.policy.retries || remainingMs <= 0) {
      // Without a single retry (retries 0) there is nothing to add to the failure itself.
      throw this.failures === 1 ? error : gaveUp(error, elapsedMs, this.failures);
    }
    const waitMs = Math.min(remainingMs, Math.floor(clock.random() * this.policy.backoffCapMs(this.failures)));
    this.onRetry?.({ error, failures: this.failures, waitMs, remainingMs });
    await clock.sleep(waitMs, signal);
  }

  /** Back to no failures: the operation made progress (a consumer's poll answered). */
  reset(): void {
    this.failures = 0;
  }
}

/**
 * Whether trying again may succeed: the broker said so (`retriable` in its
 * error body: 503s but a corrupt log, 429, 421), or there was no answer (a
 * refused, reset or timed-out connection). Not an abort by the caller, not
 * a closed client, not a failure the client already gave up on.
 */
export function isRetriable(error: unknown): error is GafkaClientError {
  return error instanceof GafkaClientError && error.retriable && error.code !== "aborted" && error.code !== "client_closed";
}

/**
 * The failure that ended an operation after its retries: the last one's
 * code, status and details, a message that says how long the client kept
 * trying, and `retriable: false` (no caller up the stack retries it again).
 */
export function gaveUp(error: GafkaClientError, elapsedMs: number, failures: number): GafkaClientError {
  const attempts = `${failures} attempt${failures === 1 ? "" : "s"}`;
  return new GafkaClientError(error.code, `gave up after ${formatDurationMs(elapsedMs)} and ${attempts}: ${error.message}`, {
    status: error.status,
    details: error.details,
    retriable: false,
    cause: error,
  });
}

/** `850ms`, `12s`, `2m5s`: how the CLI's duration flags are written. */
export function formatDurationMs(ms: number): string {
  const rounded = Math.max(0, Math.round(ms));
  if (rounded < 1000) return `${rounded}ms`;
  const seconds = Math.round(rounded / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
}

/** Resolves after `ms`; rejects with code `aborted` as soon as the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GafkaClientError("aborted", "request was aborted"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new GafkaClientError("aborted", "request was aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function atLeastZero(name: string, value: number): number {
  if (!(value >= 0)) throw new GafkaClientError("invalid_request", `${name} must be 0 or more`);
  return value;
}

import type { ErrorCode } from "../core/errors.ts";

/**
 * Codes a client error may carry: the broker's own stable codes (docs/api.md),
 * plus the ones the client raises when there is no answer to report.
 */
export type ClientErrorCode =
  | ErrorCode
  /** The broker could not be reached, or the connection broke mid-request. */
  | "network_error"
  /** No answer within the request's time bound. */
  | "timeout"
  /** The caller aborted the request (e.g. `Consumer.close()` during a long poll). */
  | "aborted"
  /** The broker answered something that is not the documented JSON. */
  | "invalid_response"
  /** The producer or consumer was closed before the call. */
  | "client_closed";

export interface GafkaClientErrorOptions {
  /** HTTP status of the answer; 0 when there was none. */
  status?: number;
  details?: Record<string, unknown>;
  retriable?: boolean;
  cause?: unknown;
}

/**
 * Every failure the SDK reports. `code` is stable; `details` holds the extra
 * facts the broker put beside its message (for `offset_out_of_range`: `earliest`
 * and `latest`); `retriable` says whether the same call may succeed later.
 */
export class GafkaClientError extends Error {
  readonly status: number;
  readonly code: ClientErrorCode;
  readonly details: Record<string, unknown>;
  readonly retriable: boolean;

  constructor(code: ClientErrorCode, message: string, options: GafkaClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GafkaClientError";
    this.code = code;
    this.status = options.status ?? 0;
    this.details = options.details ?? {};
    this.retriable = options.retriable ?? retriableByDefault(code, this.status);
  }
}

/**
 * For an answer without the broker's own `retriable` flag (an older broker, a
 * proxy): the broker marks 503s retriable except a corrupt log; 429 means
 * "later"; 421 means "ask the leader". No answer at all (a refused or lost
 * connection, no answer in time) is worth another try.
 */
function retriableByDefault(code: ClientErrorCode, status: number): boolean {
  if (code === "network_error" || code === "timeout") return true;
  if (status === 503) return code !== "log_corrupt";
  return status === 429 || status === 421;
}

export function isGafkaClientError(error: unknown): error is GafkaClientError {
  return error instanceof GafkaClientError;
}

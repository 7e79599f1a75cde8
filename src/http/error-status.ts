import { type ErrorCode, type GafkaError, isGafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

/**
 * The one map from a GafkaError code to an HTTP status (docs/api.md's table).
 * Anything that is not a GafkaError is a bug: 500 `internal_error`, logged
 * loudly with its stack.
 */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_request: 400,
  not_found: 404,
  topic_not_found: 404,
  partition_not_found: 404,
  method_not_allowed: 405,
  topic_exists: 409,
  group_not_found: 404,
  unknown_member: 404,
  partition_not_owned: 409,
  stale_generation: 409,
  group_not_empty: 409,
  stale_leader_epoch: 409,
  replica_not_in_sync: 409,
  cluster_id_mismatch: 409,
  message_too_large: 413,
  unsupported_media_type: 415,
  offset_out_of_range: 416,
  not_leader: 421,
  too_many_requests: 429,
  storage_full: 503,
  storage_failed: 503,
  partition_offline: 503,
  log_corrupt: 503,
  not_enough_replicas: 503,
  not_enough_replicas_after_append: 503,
  not_leader_lease: 503,
  broker_unavailable: 503,
  shutting_down: 503,
};

export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

/**
 * The error body every failure answers with:
 * `{"error": {"code", "message", "retriable", ...details}}`.
 */
export function gafkaErrorResponse(error: GafkaError): Response {
  const status = STATUS_BY_CODE[error.code];
  const body = { error: { code: error.code, message: error.message, retriable: error.retriable, ...error.details } };
  if (status === 503 && error.retriable) return Response.json(body, { status, headers: { "retry-after": "1" } });
  return Response.json(body, { status });
}

/** Any error thrown while handling a request; one that is not a GafkaError is a bug, logged loudly. */
export function errorResponse(error: unknown, logger: Logger): Response {
  if (isGafkaError(error)) return gafkaErrorResponse(error);
  logger.error("internal error while handling a request (a bug in gafka)", error);
  const message = error instanceof Error ? error.message : String(error);
  return Response.json(
    { error: { code: "internal_error", message: `internal error: ${message}`, retriable: false } },
    { status: 500 },
  );
}

import { type ErrorCode, type GafkaError, isGafkaError } from "../core/errors.ts";
import type { DataDirText } from "../core/data-dir-text.ts";
import type { Logger } from "../core/logger.ts";

/**
 * The one map from a GafkaError code to an HTTP status (docs/api.md's table).
 * Anything that is not a GafkaError is a bug: 500 `internal_error` with an
 * incident id, logged loudly with its stack under the same id.
 */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  topic_not_found: 404,
  partition_not_found: 404,
  method_not_allowed: 405,
  topic_exists: 409,
  user_not_found: 404,
  user_exists: 409,
  token_not_found: 404,
  group_not_found: 404,
  unknown_member: 404,
  partition_not_owned: 409,
  stale_generation: 409,
  group_not_empty: 409,
  inconsistent_group_protocol: 409,
  stale_leader_epoch: 409,
  leader_epoch_exhausted: 409,
  replica_not_in_sync: 409,
  cluster_id_mismatch: 409,
  limit_reached: 409,
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
  server_busy: 503,
  shutting_down: 503,
};

export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

/** What turning an error into an answer needs: where bugs are logged, and the data dir answers name files relative to. */
export interface ErrorAnswering {
  readonly logger: Logger;
  readonly dataDirText: DataDirText;
}

/**
 * The error body every failure answers with:
 * `{"error": {"code", "message", "retriable", ...details}}`. Paths under the
 * data dir in the message and details are made relative to it (the log keeps
 * them whole).
 */
export function gafkaErrorResponse(error: GafkaError, dataDirText?: DataDirText): Response {
  const status = STATUS_BY_CODE[error.code];
  const message = dataDirText === undefined ? error.message : dataDirText.relative(error.message);
  const details = dataDirText === undefined ? error.details : (dataDirText.relativeDeep(error.details) as Record<string, unknown> | undefined);
  const body = { error: { code: error.code, message, retriable: error.retriable, ...details } };
  if (status === 503 && error.retriable) return Response.json(body, { status, headers: { "retry-after": "1" } });
  // RFC 9110 §11.6.1: a 401 names the schemes that would be accepted.
  if (status === 401) return Response.json(body, { status, headers: { "www-authenticate": 'Basic realm="gafka", Bearer realm="gafka"' } });
  return Response.json(body, { status });
}

/**
 * Any error thrown while handling a request. One that is not a GafkaError is
 * a bug: the answer says only "internal error" and an unguessable incident id
 * (no exception text, which may name paths or internals); the log line carries
 * the same id with the error's message and stack, so an operator finds one
 * from the other. `where` (e.g. "GET /api/v1/consume") goes into the log line.
 */
export function errorResponse(error: unknown, answering: ErrorAnswering, where?: string): Response {
  if (isGafkaError(error)) return gafkaErrorResponse(error, answering.dataDirText);
  const incident = crypto.randomUUID();
  answering.logger.error(`internal error, incident ${incident}${where === undefined ? "" : `, ${where}`} (a bug in gafka):`, error);
  return Response.json(
    { error: { code: "internal_error", message: `internal error; incident ${incident}`, incident, retriable: false } },
    { status: 500 },
  );
}

/**
 * Expected failures: typed errors with a stable `code`, a `retriable` flag and
 * an optional `cause`. They are mapped to an HTTP status in exactly one place
 * (src/http/error-status.ts). A broken invariant is not one of these: it is a
 * bug, reported with `assert` (src/core/assert.ts), and crashes loudly.
 */
export type ErrorCode =
  | "invalid_request"
  | "unauthenticated"
  | "forbidden"
  | "unsupported_media_type"
  | "not_found"
  | "method_not_allowed"
  | "topic_not_found"
  | "partition_not_found"
  | "topic_exists"
  | "user_not_found"
  | "user_exists"
  | "token_not_found"
  | "group_not_found"
  | "unknown_member"
  | "partition_not_owned"
  | "stale_generation"
  | "group_not_empty"
  /** The group is live as the other kind: HTTP members in a Kafka group, or the reverse. */
  | "inconsistent_group_protocol"
  | "stale_leader_epoch"
  | "leader_epoch_exhausted"
  | "replica_not_in_sync"
  | "cluster_id_mismatch"
  | "message_too_large"
  | "offset_out_of_range"
  | "not_leader"
  | "too_many_requests"
  | "storage_full"
  | "storage_failed"
  | "partition_offline"
  | "log_corrupt"
  | "not_enough_replicas"
  | "not_enough_replicas_after_append"
  | "not_leader_lease"
  | "broker_unavailable"
  | "server_busy"
  | "limit_reached"
  | "shutting_down";

export interface GafkaErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  /** Extra machine-readable facts for the client (e.g. earliest/latest offsets). */
  details?: Record<string, unknown>;
}

export class GafkaError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: GafkaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GafkaError";
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }
}

export const invalidRequest = (message: string, details?: Record<string, unknown>) =>
  new GafkaError("invalid_request", message, { details });

export const topicNotFound = (topic: string) =>
  new GafkaError("topic_not_found", `topic '${topic}' does not exist`, { details: { topic } });

export const partitionNotFound = (topic: string, partition: number) =>
  new GafkaError("partition_not_found", `topic '${topic}' has no partition ${partition}`, {
    details: { topic, partition },
  });

export function isGafkaError(error: unknown): error is GafkaError {
  return error instanceof GafkaError;
}

/**
 * A failed file-system call as clients see it: `storage_full` when the disk
 * is full (ENOSPC), `storage_failed` otherwise; both retriable (503).
 * `what` says what was being done, e.g. "could not create topic 't'".
 */
export function storageError(what: string, cause: unknown): GafkaError {
  const full = systemErrorCode(cause) === "ENOSPC";
  return new GafkaError(full ? "storage_full" : "storage_failed", `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, {
    retriable: true,
    cause,
  });
}

/** The errno-style code of a Node/Bun system error, if any (ENOSPC, EIO, ...). */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

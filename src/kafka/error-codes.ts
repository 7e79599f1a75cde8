/**
 * Kafka's error codes, and the one map from gafka's error codes to them
 * (the Kafka door's counterpart of src/http/error-status.ts). Kafka's codes
 * are from its protocol guide's error table; clients decide from them
 * whether to retry, refresh metadata or rejoin a group, so each gafka error
 * maps to the Kafka error a Kafka client would react to in the same way.
 */
import { type ErrorCode, isGafkaError } from "../core/errors.ts";
import type { ClassicGroupError } from "../groups/classic-coordinator.ts";
import type { BatchFault } from "../storage/batch-check.ts";

export const KAFKA_ERRORS = {
  unknownServerError: -1,
  none: 0,
  offsetOutOfRange: 1,
  corruptMessage: 2,
  unknownTopicOrPartition: 3,
  leaderNotAvailable: 5,
  notLeaderOrFollower: 6,
  requestTimedOut: 7,
  brokerNotAvailable: 8,
  messageTooLarge: 10,
  coordinatorNotAvailable: 15,
  notCoordinator: 16,
  invalidTopicException: 17,
  recordListTooLarge: 18,
  notEnoughReplicas: 19,
  notEnoughReplicasAfterAppend: 20,
  invalidRequiredAcks: 21,
  illegalGeneration: 22,
  inconsistentGroupProtocol: 23,
  invalidGroupId: 24,
  unknownMemberId: 25,
  invalidSessionTimeout: 26,
  rebalanceInProgress: 27,
  topicAuthorizationFailed: 29,
  groupAuthorizationFailed: 30,
  clusterAuthorizationFailed: 31,
  invalidTimestamp: 32,
  unsupportedVersion: 35,
  topicAlreadyExists: 36,
  invalidPartitions: 37,
  invalidReplicationFactor: 38,
  invalidReplicaAssignment: 39,
  invalidConfig: 40,
  notController: 41,
  invalidRequest: 42,
  unsupportedForMessageFormat: 43,
  policyViolation: 44,
  kafkaStorageError: 56,
  saslAuthenticationFailed: 58,
  nonEmptyGroup: 68,
  groupIdNotFound: 69,
  fencedLeaderEpoch: 74,
  unknownLeaderEpoch: 75,
  unsupportedCompressionType: 76,
  memberIdRequired: 79,
  groupMaxSizeReached: 81,
  invalidRecord: 87,
  throttlingQuotaExceeded: 89,
  inconsistentClusterId: 104,
} as const;

export type KafkaErrorCode = (typeof KAFKA_ERRORS)[keyof typeof KAFKA_ERRORS];

const KAFKA_CODE_BY_GAFKA_CODE: Record<ErrorCode, KafkaErrorCode> = {
  invalid_request: KAFKA_ERRORS.invalidRequest,
  unauthenticated: KAFKA_ERRORS.saslAuthenticationFailed,
  // The resource decides between topic, group and cluster authorization: see kafkaErrorCode().
  forbidden: KAFKA_ERRORS.topicAuthorizationFailed,
  unsupported_media_type: KAFKA_ERRORS.invalidRequest,
  not_found: KAFKA_ERRORS.invalidRequest,
  method_not_allowed: KAFKA_ERRORS.invalidRequest,
  topic_not_found: KAFKA_ERRORS.unknownTopicOrPartition,
  partition_not_found: KAFKA_ERRORS.unknownTopicOrPartition,
  topic_exists: KAFKA_ERRORS.topicAlreadyExists,
  user_not_found: KAFKA_ERRORS.invalidRequest,
  user_exists: KAFKA_ERRORS.invalidRequest,
  token_not_found: KAFKA_ERRORS.invalidRequest,
  group_not_found: KAFKA_ERRORS.groupIdNotFound,
  unknown_member: KAFKA_ERRORS.unknownMemberId,
  partition_not_owned: KAFKA_ERRORS.illegalGeneration,
  stale_generation: KAFKA_ERRORS.illegalGeneration,
  group_not_empty: KAFKA_ERRORS.nonEmptyGroup,
  inconsistent_group_protocol: KAFKA_ERRORS.inconsistentGroupProtocol,
  stale_leader_epoch: KAFKA_ERRORS.fencedLeaderEpoch,
  leader_epoch_exhausted: KAFKA_ERRORS.unknownServerError,
  replica_not_in_sync: KAFKA_ERRORS.notLeaderOrFollower,
  cluster_id_mismatch: KAFKA_ERRORS.inconsistentClusterId,
  message_too_large: KAFKA_ERRORS.messageTooLarge,
  offset_out_of_range: KAFKA_ERRORS.offsetOutOfRange,
  // Retriable with a metadata refresh: the client finds the leader again.
  not_leader: KAFKA_ERRORS.notLeaderOrFollower,
  not_leader_lease: KAFKA_ERRORS.notLeaderOrFollower,
  shutting_down: KAFKA_ERRORS.notLeaderOrFollower,
  broker_unavailable: KAFKA_ERRORS.leaderNotAvailable,
  // Retriable as they are: the same request succeeds once the broker has room.
  too_many_requests: KAFKA_ERRORS.requestTimedOut,
  server_busy: KAFKA_ERRORS.requestTimedOut,
  storage_full: KAFKA_ERRORS.kafkaStorageError,
  storage_failed: KAFKA_ERRORS.kafkaStorageError,
  partition_offline: KAFKA_ERRORS.kafkaStorageError,
  log_corrupt: KAFKA_ERRORS.kafkaStorageError,
  not_enough_replicas: KAFKA_ERRORS.notEnoughReplicas,
  not_enough_replicas_after_append: KAFKA_ERRORS.notEnoughReplicasAfterAppend,
  limit_reached: KAFKA_ERRORS.policyViolation,
};

/** A refused record batch (invalid_request with details.fault, src/storage/batch-check.ts) by what was wrong with it. */
const KAFKA_CODE_BY_BATCH_FAULT: Record<BatchFault, KafkaErrorCode> = {
  corrupt: KAFKA_ERRORS.corruptMessage,
  compression: KAFKA_ERRORS.unsupportedCompressionType,
  unsupported: KAFKA_ERRORS.unsupportedForMessageFormat,
  invalid_record: KAFKA_ERRORS.invalidRecord,
  invalid_timestamp: KAFKA_ERRORS.invalidTimestamp,
};

/** Where a refusal applies, for `forbidden`: Kafka names the kind of resource in its authorization errors. */
export type AuthorizationScope = "topic" | "group" | "cluster";

const AUTHORIZATION_FAILED: Record<AuthorizationScope, KafkaErrorCode> = {
  topic: KAFKA_ERRORS.topicAuthorizationFailed,
  group: KAFKA_ERRORS.groupAuthorizationFailed,
  cluster: KAFKA_ERRORS.clusterAuthorizationFailed,
};

/**
 * The Kafka error code for a failure: a GafkaError's through the table, a
 * `forbidden` one by `scope`, a refused record batch by its fault; anything
 * else is a bug, UNKNOWN_SERVER_ERROR (the caller logs it).
 */
export function kafkaErrorCode(error: unknown, scope: AuthorizationScope = "topic"): KafkaErrorCode {
  if (!isGafkaError(error)) return KAFKA_ERRORS.unknownServerError;
  if (error.code === "forbidden") return AUTHORIZATION_FAILED[scope];
  const fault = error.code === "invalid_request" ? error.details?.fault : undefined;
  if (typeof fault === "string" && Object.hasOwn(KAFKA_CODE_BY_BATCH_FAULT, fault)) return KAFKA_CODE_BY_BATCH_FAULT[fault as BatchFault];
  return KAFKA_CODE_BY_GAFKA_CODE[error.code];
}

/** The classic group protocol's answers (src/groups/classic-group.ts), each Kafka's error of the same name. */
const KAFKA_CODE_BY_GROUP_ERROR: Record<ClassicGroupError, KafkaErrorCode> = {
  invalid_group_id: KAFKA_ERRORS.invalidGroupId,
  invalid_session_timeout: KAFKA_ERRORS.invalidSessionTimeout,
  inconsistent_group_protocol: KAFKA_ERRORS.inconsistentGroupProtocol,
  member_id_required: KAFKA_ERRORS.memberIdRequired,
  unknown_member_id: KAFKA_ERRORS.unknownMemberId,
  illegal_generation: KAFKA_ERRORS.illegalGeneration,
  rebalance_in_progress: KAFKA_ERRORS.rebalanceInProgress,
  group_max_size_reached: KAFKA_ERRORS.groupMaxSizeReached,
  coordinator_not_available: KAFKA_ERRORS.coordinatorNotAvailable,
};

/**
 * The Kafka error code for a group call's failure or refusal: the classic
 * protocol's answer by name; the gate's as kafkaErrorCode() maps them for a
 * group, except that a broker that may not coordinate now (a follower, a
 * leader without its lease, one shutting down) is NOT_COORDINATOR, and one
 * that cannot yet (its leader unknown) COORDINATOR_NOT_AVAILABLE: Kafka
 * clients look for the coordinator again on those.
 */
export function kafkaGroupErrorCode(error: ClassicGroupError | unknown): KafkaErrorCode {
  if (typeof error === "string" && error in KAFKA_CODE_BY_GROUP_ERROR) return KAFKA_CODE_BY_GROUP_ERROR[error as ClassicGroupError];
  if (isGafkaError(error)) {
    if (error.code === "not_leader" || error.code === "not_leader_lease" || error.code === "shutting_down") return KAFKA_ERRORS.notCoordinator;
    if (error.code === "broker_unavailable") return KAFKA_ERRORS.coordinatorNotAvailable;
  }
  return kafkaErrorCode(error, "group");
}

/** A failure's message for the answers that carry one (errorMessage fields). */
export function kafkaErrorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Which Kafka error an invalid_request of a topic create is, by the field
 * the domain names: Kafka clients tell a bad name, count and configuration
 * apart (kafka-topics prints each its own way).
 */
const TOPIC_CREATE_INVALID_BY_FIELD: Record<string, KafkaErrorCode> = {
  name: KAFKA_ERRORS.invalidTopicException,
  partitions: KAFKA_ERRORS.invalidPartitions,
  configs: KAFKA_ERRORS.invalidConfig,
};

/** The domain's "not here": a broker that cannot take writes now (a follower, a leader stopping or without its lease). */
const NOT_HERE = new Set<ErrorCode>(["not_leader", "not_leader_lease", "shutting_down"]);

/**
 * The Kafka error code for a failed topic create or delete (CreateTopics,
 * DeleteTopics): kafkaErrorCode()'s, except that a broker which cannot take
 * the change now answers NOT_CONTROLLER, on which a Kafka admin client
 * refreshes its metadata and sends the request to the controller Metadata
 * names (the leader); and a bad name, count or configuration answers
 * Kafka's error for each.
 */
export function kafkaTopicAdminErrorCode(error: unknown): KafkaErrorCode {
  if (!isGafkaError(error)) return KAFKA_ERRORS.unknownServerError;
  if (NOT_HERE.has(error.code)) return KAFKA_ERRORS.notController;
  if (error.code === "invalid_request") {
    const field = error.details?.field;
    return (typeof field === "string" ? TOPIC_CREATE_INVALID_BY_FIELD[field] : undefined) ?? KAFKA_ERRORS.invalidRequest;
  }
  return kafkaErrorCode(error, "topic");
}

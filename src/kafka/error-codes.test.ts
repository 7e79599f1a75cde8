import { expect, test } from "bun:test";
import { GafkaError, invalidRequest } from "../core/errors.ts";
import { KAFKA_ERRORS, kafkaErrorCode, kafkaGroupErrorCode, kafkaTopicAdminErrorCode } from "./error-codes.ts";

test("gafka errors map to the Kafka errors a client reacts to in the same way", () => {
  expect(kafkaErrorCode(new GafkaError("not_leader", "x"))).toBe(KAFKA_ERRORS.notLeaderOrFollower);
  expect(kafkaErrorCode(new GafkaError("topic_not_found", "x"))).toBe(KAFKA_ERRORS.unknownTopicOrPartition);
  expect(kafkaErrorCode(new GafkaError("offset_out_of_range", "x"))).toBe(KAFKA_ERRORS.offsetOutOfRange);
  expect(kafkaErrorCode(new GafkaError("message_too_large", "x"))).toBe(KAFKA_ERRORS.messageTooLarge);
  expect(kafkaErrorCode(new GafkaError("storage_failed", "x"))).toBe(KAFKA_ERRORS.kafkaStorageError);
});

test("a refusal names the kind of resource refused; a non-gafka error is UNKNOWN_SERVER_ERROR", () => {
  const refused = new GafkaError("forbidden", "no");
  expect(kafkaErrorCode(refused)).toBe(KAFKA_ERRORS.topicAuthorizationFailed);
  expect(kafkaErrorCode(refused, "group")).toBe(KAFKA_ERRORS.groupAuthorizationFailed);
  expect(kafkaErrorCode(refused, "cluster")).toBe(KAFKA_ERRORS.clusterAuthorizationFailed);
  expect(kafkaErrorCode(new TypeError("a bug"))).toBe(KAFKA_ERRORS.unknownServerError);
});

test("a refused record batch maps by its fault: compression, checksum, a feature gafka lacks, a bad record", () => {
  const refused = (fault: string) => invalidRequest("record batch 0 ...", { batch: 0, fault });
  expect(kafkaErrorCode(refused("compression"))).toBe(KAFKA_ERRORS.unsupportedCompressionType);
  expect(kafkaErrorCode(refused("corrupt"))).toBe(KAFKA_ERRORS.corruptMessage);
  expect(kafkaErrorCode(refused("unsupported"))).toBe(KAFKA_ERRORS.unsupportedForMessageFormat);
  expect(kafkaErrorCode(refused("invalid_record"))).toBe(KAFKA_ERRORS.invalidRecord);
  expect(kafkaErrorCode(refused("invalid_timestamp"))).toBe(KAFKA_ERRORS.invalidTimestamp);
  expect(kafkaErrorCode(invalidRequest("no batch"))).toBe(KAFKA_ERRORS.invalidRequest);
});

test("a topic create or delete: NOT_CONTROLLER where the broker cannot take it now, Kafka's error for a bad name, count or configuration", () => {
  expect(kafkaTopicAdminErrorCode(new GafkaError("not_leader", "x"))).toBe(KAFKA_ERRORS.notController);
  expect(kafkaTopicAdminErrorCode(new GafkaError("shutting_down", "x"))).toBe(KAFKA_ERRORS.notController);
  expect(kafkaTopicAdminErrorCode(new GafkaError("invalid_request", "x", { details: { field: "name" } }))).toBe(KAFKA_ERRORS.invalidTopicException);
  expect(kafkaTopicAdminErrorCode(new GafkaError("invalid_request", "x", { details: { field: "partitions" } }))).toBe(KAFKA_ERRORS.invalidPartitions);
  expect(kafkaTopicAdminErrorCode(new GafkaError("invalid_request", "x", { details: { field: "configs" } }))).toBe(KAFKA_ERRORS.invalidConfig);
  expect(kafkaTopicAdminErrorCode(new GafkaError("invalid_request", "x"))).toBe(KAFKA_ERRORS.invalidRequest);
  expect(kafkaTopicAdminErrorCode(new GafkaError("topic_exists", "x"))).toBe(KAFKA_ERRORS.topicAlreadyExists);
  expect(kafkaTopicAdminErrorCode(new GafkaError("limit_reached", "x"))).toBe(KAFKA_ERRORS.policyViolation);
  expect(kafkaTopicAdminErrorCode(new GafkaError("topic_not_found", "x"))).toBe(KAFKA_ERRORS.unknownTopicOrPartition);
  expect(kafkaTopicAdminErrorCode(new GafkaError("forbidden", "x"))).toBe(KAFKA_ERRORS.topicAuthorizationFailed);
});

test("a group call: the protocol's answers by name, a follower NOT_COORDINATOR, a refusal GROUP_AUTHORIZATION_FAILED", () => {
  expect(kafkaGroupErrorCode("member_id_required")).toBe(KAFKA_ERRORS.memberIdRequired);
  expect(kafkaGroupErrorCode("rebalance_in_progress")).toBe(KAFKA_ERRORS.rebalanceInProgress);
  expect(kafkaGroupErrorCode(new GafkaError("not_leader", "x"))).toBe(KAFKA_ERRORS.notCoordinator);
  expect(kafkaGroupErrorCode(new GafkaError("broker_unavailable", "x"))).toBe(KAFKA_ERRORS.coordinatorNotAvailable);
  expect(kafkaGroupErrorCode(new GafkaError("forbidden", "x"))).toBe(KAFKA_ERRORS.groupAuthorizationFailed);
  expect(kafkaGroupErrorCode(new GafkaError("inconsistent_group_protocol", "x"))).toBe(KAFKA_ERRORS.inconsistentGroupProtocol);
});

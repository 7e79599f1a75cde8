/**
 * gafka's client SDK: the only public entry. Everything here speaks the HTTP
 * API of docs/api.md and nothing else.
 *
 *   const producer = new Producer({ broker: "localhost:9001" });
 *   const { partition, offset } = await producer.send({ topic: "orders", key: "user123", value: "hello" });
 *
 *   const consumer = new GroupConsumer({ broker: "localhost:9001", groupId: "billing", topics: ["orders"] });
 *   for await (const batch of consumer) handle(batch); // a batch is committed when the loop comes round
 *
 * Every client takes `broker` (or `brokers: ["a:9001", "b:9002"]`) and rides
 * out a broker restart or a failover under one retry policy (retry.ts).
 */
export { Admin } from "./admin.ts";
export type {
  BrokerHealth,
  AlterTopicConfigRequest,
  CreateTopicRequest,
  GroupDescription,
  GroupMemberDescription,
  GroupPartitionStatus,
  GroupSummary,
  PartitionDescription,
  ResetOffsetsRequest,
  ResetTarget,
  TopicConfigEntry,
  TopicDescription,
  TopicSummary,
} from "./admin.ts";
export type { Acl, AclFilter, AclOperationName, CreatedToken, CreateTokenRequest, ScramMechanismName, TokenSummary, UserSummary } from "./security-wire.ts";
export { GafkaClientError, isGafkaClientError } from "./client-error.ts";
export { ClusterAdmin } from "./cluster.ts";
export type { PromotedPartition, PromoteOptions, PromoteResult, ReplicationStatus } from "./cluster.ts";
export type { ClientErrorCode } from "./client-error.ts";
export { Consumer } from "./consumer.ts";
export type { ConsumerOptions, ConsumerRecord, OffsetSpec, PollOptions, ValueEncoding } from "./consumer.ts";
export { GroupConsumer } from "./group-consumer.ts";
export type { AssignorName, GroupCloseOptions, GroupConsumerOptions, Membership } from "./group-consumer.ts";
export { DEFAULT_BROKER, HttpClient, splitBrokers } from "./http-client.ts";
export type { ClientAuth, ClientOptions, ClientTls, FetchFunction } from "./http-client.ts";
export { isRetriable } from "./retry.ts";
export type { RetryClock, RetryEvent, RetryOptions } from "./retry.ts";
export { Producer } from "./producer.ts";
export type { HeaderValue, ProducerAcks, ProducerOptions, ProducerRecord, RecordMetadata } from "./producer.ts";
export type { TopicPartition, TopicPartitionOffset } from "./topic-partition.ts";
export type { RecordFormat } from "./wire.ts";

/**
 * gafka's client SDK: the only public entry. Everything here speaks the HTTP
 * API of docs/api.md and nothing else.
 *
 *   const producer = new Producer({ broker: "localhost:9001" });
 *   const { partition, offset } = await producer.send({ topic: "orders", key: "user123", value: "hello" });
 */
export { Admin } from "./admin.ts";
export type { BrokerHealth, CreateTopicRequest, PartitionDescription, TopicDescription, TopicSummary } from "./admin.ts";
export { GafkaClientError, isGafkaClientError } from "./client-error.ts";
export type { ClientErrorCode } from "./client-error.ts";
export { Consumer } from "./consumer.ts";
export type { ConsumerOptions, ConsumerRecord, OffsetSpec, PollOptions, ValueEncoding } from "./consumer.ts";
export { DEFAULT_BROKER, HttpClient } from "./http-client.ts";
export type { ClientOptions, FetchFunction } from "./http-client.ts";
export { Producer } from "./producer.ts";
export type { HeaderValue, ProducerOptions, ProducerRecord, RecordMetadata } from "./producer.ts";

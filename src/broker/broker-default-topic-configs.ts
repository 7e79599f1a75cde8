import { KAFKA_TOPIC_DEFAULTS, type TopicConfig, type TopicConfigSource } from "./topic-config.ts";

/**
 * UNTIL TOPICS CARRY THEIR OWN CONFIGURATION: the one place that resolves
 * every topic to the broker's defaults (KAFKA_TOPIC_DEFAULTS over the
 * broker's segment, message and min-insync values). Once the Broker is a
 * TopicConfigSource itself (topics.json, flags, HTTP, CLI), run-broker.ts
 * passes the broker instead and this file goes.
 */
export function brokerDefaultTopicConfigs(broker: { segmentBytesMax: number; messageBytesMax: number; minInsyncReplicas: number }): TopicConfigSource {
  const config: TopicConfig = {
    ...KAFKA_TOPIC_DEFAULTS,
    segmentBytes: broker.segmentBytesMax,
    maxMessageBytes: broker.messageBytesMax,
    minInsyncReplicas: broker.minInsyncReplicas,
  };
  return { configOf: () => config };
}

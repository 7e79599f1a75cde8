import type { BrokerConfig } from "./config.ts";
import { KAFKA_TOPIC_DEFAULTS, type TopicConfig } from "./topic-config.ts";

/**
 * The configuration a topic without overrides has on this broker: its
 * flags (`--segment-bytes`, `--max-message-bytes`, `--min-insync-replicas`,
 * `--retention-ms`, ...), Kafka's defaults for those not given.
 */
export function topicDefaultsOf(config: BrokerConfig): TopicConfig {
  return {
    ...KAFKA_TOPIC_DEFAULTS,
    minInsyncReplicas: 1,
    ...config.topicDefaults,
    segmentBytes: config.segmentBytesMax,
    maxMessageBytes: config.messageBytesMax,
  };
}

/**
 * DescribeConfigs (1–3): the configuration of a topic (resource type 2) or
 * of this broker (4); any broker answers it, a follower included.
 *
 * A topic lists every setting gafka has (src/broker/topic-config.ts), read
 * through the same domain call as GET /api/v1/topics/{name} (the gate's
 * describe on the topic): a setting the topic sets is DYNAMIC_TOPIC_CONFIG,
 * any other DEFAULT_CONFIG (the broker's default, from its flags); synonyms,
 * when asked, are the topic's own value and the broker's default under its
 * Kafka broker name (retention.ms: log.retention.ms). Nothing is read-only
 * or sensitive.
 *
 * The broker (named by its id, or "" as Kafka's admin tools name the
 * cluster-wide defaults) lists those defaults under their broker names, and
 * a few fixed facts an admin tool looks for (broker.id, num.partitions,
 * auto.create.topics.enable, delete.topic.enable): all read-only
 * STATIC_BROKER_CONFIG, since gafka takes them from its flags at start.
 * Describing the broker needs describe on the cluster.
 */
import type { Broker } from "../broker/broker.ts";
import { describeTopicConfig, type TopicConfigName } from "../broker/topic-config.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import { CLUSTER } from "../security/operations.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { type AuthorizationScope, KAFKA_ERRORS, kafkaErrorCode, kafkaErrorMessage } from "./error-codes.ts";
import { DESCRIBE_CONFIGS } from "./protocol/messages/describe-configs.ts";
import type { MessageValue } from "./protocol/types.ts";

/** Kafka's ConfigResource.Type. */
export const RESOURCE_TYPE = { topic: 2, broker: 4 } as const;

/** Kafka's ConfigEntry.ConfigSource, as DescribeConfigs v1+ carries it. */
export const CONFIG_SOURCE = { dynamicTopicConfig: 1, staticBrokerConfig: 4, defaultConfig: 5 } as const;

/** Kafka's ConfigType (DescribeConfigs v3+). */
const CONFIG_TYPE = { boolean: 1, int: 3, long: 5, list: 7 } as const;

/** Each topic setting's broker-wide name (Kafka's synonym) and type. */
const BROKER_SYNONYM: Record<TopicConfigName, { name: string; type: number }> = {
  "cleanup.policy": { name: "log.cleanup.policy", type: CONFIG_TYPE.list },
  "delete.retention.ms": { name: "log.cleaner.delete.retention.ms", type: CONFIG_TYPE.long },
  "max.message.bytes": { name: "message.max.bytes", type: CONFIG_TYPE.int },
  "min.compaction.lag.ms": { name: "log.cleaner.min.compaction.lag.ms", type: CONFIG_TYPE.long },
  "min.insync.replicas": { name: "min.insync.replicas", type: CONFIG_TYPE.int },
  "retention.bytes": { name: "log.retention.bytes", type: CONFIG_TYPE.long },
  "retention.ms": { name: "log.retention.ms", type: CONFIG_TYPE.long },
  "segment.bytes": { name: "log.segment.bytes", type: CONFIG_TYPE.int },
  "segment.ms": { name: "log.roll.ms", type: CONFIG_TYPE.long },
};

interface Resource {
  resourceType: number;
  resourceName: string;
  configurationKeys: string[] | null;
}

/** One entry of an answer, before the version decides which fields go out. */
interface ConfigEntry {
  name: string;
  value: string;
  readOnly: boolean;
  configSource: number;
  configType: number;
  synonyms: { name: string; value: string; source: number }[];
}

export function describeConfigsApi(broker: Broker, brokerId: number, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: DESCRIBE_CONFIGS,
    handle: (body) => {
      const includeSynonyms = body.includeSynonyms as boolean;
      const results = (body.resources as Resource[]).map((resource) => {
        const result = describeResource(broker, brokerId, principal, resource, includeSynonyms);
        if (result.errorCode === KAFKA_ERRORS.unknownServerError) logger.error(`kafka DescribeConfigs of '${resource.resourceName}' failed: ${result.errorMessage}`);
        return result;
      });
      return { throttleTimeMs: 0, results };
    },
  };
}

function describeResource(broker: Broker, brokerId: number, principal: Principal, resource: Resource, includeSynonyms: boolean): MessageValue {
  const { resourceType, resourceName } = resource;
  let scope: AuthorizationScope = "topic";
  try {
    let entries: ConfigEntry[];
    if (resourceType === RESOURCE_TYPE.topic) {
      entries = topicEntries(broker, principal, resourceName);
    } else if (resourceType === RESOURCE_TYPE.broker) {
      if (resourceName !== "" && resourceName !== String(brokerId)) {
        return failed(resource, KAFKA_ERRORS.invalidRequest, `this is broker ${brokerId}, not '${resourceName.slice(0, 64)}'`);
      }
      scope = "cluster";
      entries = brokerEntries(broker, principal, brokerId);
    } else {
      return failed(resource, KAFKA_ERRORS.invalidRequest, `resource type ${resourceType} has no configuration here: gafka describes topics (2) and brokers (4)`);
    }
    const wanted = resource.configurationKeys === null ? undefined : new Set(resource.configurationKeys);
    const configs = entries
      .filter((entry) => wanted === undefined || wanted.has(entry.name))
      .map((entry) => ({ ...entry, isSensitive: false, synonyms: includeSynonyms ? entry.synonyms : [], documentation: null }));
    return { errorCode: KAFKA_ERRORS.none, errorMessage: null, resourceType, resourceName, configs };
  } catch (error) {
    return failed(resource, kafkaErrorCode(error, scope), kafkaErrorMessage(error));
  }
}

function topicEntries(broker: Broker, principal: Principal, topic: string): ConfigEntry[] {
  const described = broker.describeTopicFor(topic, principal).configs;
  const defaults = new Map<string, string>(describeTopicConfig({}, broker.topicDefaults).map((setting) => [setting.name, setting.value]));
  return described.map((setting) => {
    const synonym = BROKER_SYNONYM[setting.name as TopicConfigName];
    const brokerDefault = { name: synonym.name, value: defaults.get(setting.name)!, source: CONFIG_SOURCE.defaultConfig };
    const set = setting.source === "topic";
    return {
      name: setting.name,
      value: setting.value,
      readOnly: false,
      configSource: set ? CONFIG_SOURCE.dynamicTopicConfig : CONFIG_SOURCE.defaultConfig,
      configType: synonym.type,
      synonyms: set ? [{ name: setting.name, value: setting.value, source: CONFIG_SOURCE.dynamicTopicConfig }, brokerDefault] : [brokerDefault],
    };
  });
}

function brokerEntries(broker: Broker, principal: Principal, brokerId: number): ConfigEntry[] {
  broker.authorize(principal, "describe_cluster", CLUSTER);
  const fixed = (name: string, value: string, configType: number): ConfigEntry => ({
    name,
    value,
    readOnly: true,
    configSource: CONFIG_SOURCE.staticBrokerConfig,
    configType,
    synonyms: [{ name, value, source: CONFIG_SOURCE.staticBrokerConfig }],
  });
  const defaults = describeTopicConfig({}, broker.topicDefaults).map((setting) =>
    fixed(BROKER_SYNONYM[setting.name].name, setting.value, BROKER_SYNONYM[setting.name].type),
  );
  return [
    fixed("auto.create.topics.enable", "false", CONFIG_TYPE.boolean),
    fixed("broker.id", String(brokerId), CONFIG_TYPE.int),
    fixed("delete.topic.enable", "true", CONFIG_TYPE.boolean),
    fixed("num.partitions", String(limits.topicPartitionsDefault), CONFIG_TYPE.int),
    ...defaults,
  ].sort((a, b) => a.name.localeCompare(b.name));
}

function failed(resource: Resource, errorCode: number, errorMessage: string): MessageValue {
  return { errorCode, errorMessage, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] };
}

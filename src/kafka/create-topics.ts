/**
 * CreateTopics (2–4): each topic created through the same domain call as
 * POST /api/v1/topics (Broker.createTopic: the gate, then the checks, then a
 * durable create), or only checked when `validateOnly` (Broker.checkTopicCreate).
 * Each topic gets its own error code and message.
 *
 * What differs from Kafka: gafka places every partition on every broker of
 * the cluster (the leader leads them all, each follower replicates them
 * all), so a replication factor is not chosen per topic. -1 (the default)
 * is taken, and so is any factor from 1 to the number of brokers the leader
 * knows (itself and its followers), since the topic will have at least that
 * many replicas; a larger one, or 0, is INVALID_REPLICATION_FACTOR. Manual
 * replica assignments are INVALID_REPLICA_ASSIGNMENT.
 */
import type { Broker } from "../broker/broker.ts";
import type { Clock } from "../core/clock.ts";
import { invalidRequest } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS, type KafkaErrorCode, kafkaErrorMessage } from "./error-codes.ts";
import { CREATE_TOPICS } from "./protocol/messages/create-topics.ts";
import type { MessageValue } from "./protocol/types.ts";
import { withinTimeout } from "./within-timeout.ts";

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: unknown[];
  configs: { name: string; value: string | null }[];
}

export interface TopicAdminView {
  readonly broker: Broker;
  /** Brokers of the cluster the leader knows: itself and its followers. */
  brokerCount(): number;
  readonly clock: Clock;
  /** The Kafka error code of a failed create or delete (kafkaTopicAdminErrorCode), a bug logged. */
  failure(error: unknown): KafkaErrorCode;
}

export function createTopicsApi(view: TopicAdminView, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: CREATE_TOPICS,
    handle: async (body) => {
      const topics = body.topics as CreatableTopic[];
      const validateOnly = body.validateOnly as boolean;
      const timeoutMs = body.timeoutMs as number;
      const counts = new Map<string, number>();
      for (const topic of topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
      const results = await withinTimeout(
        view.clock,
        timeoutMs,
        topics.map((topic) =>
          (counts.get(topic.name)! > 1
            ? Promise.resolve(failed(topic.name, KAFKA_ERRORS.invalidRequest, `topic '${topic.name}' is named more than once in the request`))
            : createOne(view, principal, topic, validateOnly)),
        ),
        (index) => failed(topics[index]!.name, KAFKA_ERRORS.requestTimedOut, `topic '${topics[index]!.name}' was not created within ${timeoutMs} ms; it may still be`),
      );
      return { throttleTimeMs: 0, topics: results };
    },
  };
}

async function createOne(view: TopicAdminView, principal: Principal, topic: CreatableTopic, validateOnly: boolean): Promise<MessageValue> {
  const partitionCount = topic.numPartitions === -1 ? limits.topicPartitionsDefault : topic.numPartitions;
  try {
    const configs = configsOf(topic);
    // The domain's checks first, the gate among them: a follower answers NOT_CONTROLLER whatever else is wrong.
    view.broker.checkTopicCreate(topic.name, partitionCount, principal, configs);
    if (topic.assignments.length > 0) {
      return failed(topic.name, KAFKA_ERRORS.invalidReplicaAssignment, "gafka places every partition on every broker; manual replica assignments are not taken");
    }
    const factorProblem = replicationFactorProblem(topic.replicationFactor, view.brokerCount());
    if (factorProblem !== undefined) return failed(topic.name, KAFKA_ERRORS.invalidReplicationFactor, factorProblem);
    if (!validateOnly) await view.broker.createTopic(topic.name, partitionCount, principal, configs);
    return { name: topic.name, errorCode: KAFKA_ERRORS.none, errorMessage: null };
  } catch (error) {
    return failed(topic.name, view.failure(error), kafkaErrorMessage(error));
  }
}

/** Kafka's list of settings as the object the domain checks; a setting named twice or without a value is refused here. */
function configsOf(topic: CreatableTopic): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const { name, value } of topic.configs) {
    if (value === null) throw invalidRequest(`topic configuration '${name.slice(0, 64)}' has no value`, { field: "configs" });
    if (Object.hasOwn(configs, name)) throw invalidRequest(`topic configuration '${name.slice(0, 64)}' is set twice`, { field: "configs" });
    configs[name] = value;
  }
  return configs;
}

/** Why a replication factor cannot be met here (see the comment at the top), or undefined. */
function replicationFactorProblem(factor: number, brokerCount: number): string | undefined {
  if (factor === -1 || (factor >= 1 && factor <= brokerCount)) return undefined;
  return `replication factor ${factor} cannot be met: gafka replicates every partition to every broker of the cluster, ${brokerCount} known now; give -1 or 1 to ${brokerCount}`;
}

function failed(name: string, errorCode: KafkaErrorCode, errorMessage: string): MessageValue {
  return { name, errorCode, errorMessage };
}

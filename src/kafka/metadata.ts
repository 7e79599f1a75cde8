/**
 * Metadata (0–8): the brokers, the cluster id, the controller, and the
 * requested topics (all of them when the list is null or, before v1, empty)
 * with each partition's leader and replicas. gafka has one leader for every
 * partition: the leader broker of the cluster. Topics are never created by
 * a Metadata request (allow_auto_topic_creation is ignored).
 */
import type { Broker } from "../broker/broker.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { METADATA } from "./protocol/messages/metadata.ts";
import type { MessageValue } from "./protocol/types.ts";

/** What the Metadata answer needs to know of this broker and its cluster. */
export interface ClusterView {
  readonly brokerId: number;
  /** Where Kafka clients reach this broker (--kafka-advertised-address). */
  readonly advertised: { host: string; port: number };
  /** The replication cluster id; null for a follower that has not heard from its leader. */
  clusterId(): string | null;
  /** The leader's broker id: this broker's when it leads; null when a follower does not know it yet. */
  leaderId(): number | null;
}

export function metadataApi(broker: Broker, cluster: ClusterView, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: METADATA,
    handle: (body, header) => metadataResponse(broker, cluster, principal, requestedTopics(body, header.requestApiVersion)),
  };
}

/** Names asked for, or null for every topic: null from v1, an empty list in v0. */
function requestedTopics(body: Record<string, unknown>, version: number): string[] | null {
  const topics = body.topics as { name: string }[] | null;
  if (topics === null || (version === 0 && topics.length === 0)) return null;
  return topics.map((topic) => topic.name);
}

function metadataResponse(broker: Broker, cluster: ClusterView, principal: Principal, requested: string[] | null): MessageValue {
  const leaderId = cluster.leaderId();
  const known = new Map(broker.listTopics().map((topic) => [topic.name, topic.partitionCount]));
  const allowed = (name: string) => broker.allows(principal, "describe_topic", { kind: "topic", name });
  // Every topic: those the principal may describe, silently; named ones: each answered, an error code for the others.
  const names = requested ?? [...known.keys()].filter(allowed);
  const topics = names.map((name) => {
    if (!allowed(name)) return { errorCode: KAFKA_ERRORS.topicAuthorizationFailed, name, partitions: [] };
    const partitionCount = known.get(name);
    if (partitionCount === undefined) return { errorCode: KAFKA_ERRORS.unknownTopicOrPartition, name, partitions: [] };
    return { errorCode: KAFKA_ERRORS.none, name, isInternal: false, partitions: partitionsOf(partitionCount, leaderId) };
  });
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: cluster.brokerId, host: cluster.advertised.host, port: cluster.advertised.port, rack: null }],
    clusterId: cluster.clusterId(),
    controllerId: leaderId ?? -1,
    topics,
  };
}

/**
 * Each partition led by the cluster's leader. Replicas and in-sync replicas
 * name the leader alone: the followers' Kafka addresses are not known here,
 * and a client must not be sent to a broker it cannot find in `brokers`.
 */
function partitionsOf(partitionCount: number, leaderId: number | null): MessageValue[] {
  const partitions: MessageValue[] = [];
  for (let index = 0; index < partitionCount; index++) {
    partitions.push(
      leaderId === null
        ? { errorCode: KAFKA_ERRORS.leaderNotAvailable, partitionIndex: index, leaderId: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [] }
        : { errorCode: KAFKA_ERRORS.none, partitionIndex: index, leaderId, replicaNodes: [leaderId], isrNodes: [leaderId], offlineReplicas: [] },
    );
  }
  return partitions;
}

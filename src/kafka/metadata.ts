/**
 * Metadata (0–8): the brokers, the cluster id, the controller, and the
 * requested topics (all of them when the list is null or, before v1, empty)
 * with each partition's leader and replicas. gafka has one leader for every
 * partition: the leader broker of the cluster, which is the controller too.
 * Any broker answers with the cluster as it knows it
 * (src/replication/kafka-cluster.ts), so a client bootstrapped at a follower
 * is sent to the leader, and after a promotion to the new one. Topics are
 * never created by a Metadata request (allow_auto_topic_creation is ignored).
 */
import type { Broker } from "../broker/broker.ts";
import { splitHostPort } from "../core/host-port.ts";
import type { KafkaClusterView } from "../replication/kafka-cluster.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { METADATA } from "./protocol/messages/metadata.ts";
import type { MessageValue } from "./protocol/types.ts";

/** What the Kafka door's answers need to know of this broker and its cluster. */
export interface ClusterView {
  readonly brokerId: number;
  /** Where Kafka clients reach this broker (--kafka-advertised-address). */
  readonly advertised: { host: string; port: number };
  /** The replication cluster id; null for a follower that has not heard from its leader. */
  clusterId(): string | null;
  /** The leader's broker id: this broker's when it leads; null when a follower does not know it yet (whether this broker leads, for the data path). */
  leaderId(): number | null;
  /** The leader, the brokers' Kafka addresses and the replicas, as of now. */
  members(): KafkaClusterView;
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
  const members = cluster.members();
  const known = new Map(broker.listTopics().map((topic) => [topic.name, topic.partitionCount]));
  const allowed = (name: string) => broker.allows(principal, "describe_topic", { kind: "topic", name });
  // Every topic: those the principal may describe, silently; named ones: each answered, an error code for the others.
  const names = requested ?? [...known.keys()].filter(allowed);
  const topics = names.map((name) => {
    if (!allowed(name)) return { errorCode: KAFKA_ERRORS.topicAuthorizationFailed, name, partitions: [] };
    const partitionCount = known.get(name);
    if (partitionCount === undefined) return { errorCode: KAFKA_ERRORS.unknownTopicOrPartition, name, partitions: [] };
    return { errorCode: KAFKA_ERRORS.none, name, isInternal: false, partitions: partitionsOf(name, partitionCount, members) };
  });
  return {
    throttleTimeMs: 0,
    brokers: brokersOf(cluster, members),
    clusterId: cluster.clusterId(),
    controllerId: members.leaderId ?? -1,
    topics,
  };
}

/** Every broker with a known Kafka address, this one always (at the address it advertises). */
function brokersOf(cluster: ClusterView, members: KafkaClusterView): MessageValue[] {
  const self = { nodeId: cluster.brokerId, host: cluster.advertised.host, port: cluster.advertised.port, rack: null };
  const others = members.brokers.filter((member) => member.id !== cluster.brokerId).map((member) => ({ nodeId: member.id, ...splitHostPort(member.address), rack: null }));
  return [self, ...others];
}

/**
 * Each partition led by the cluster's leader, replicated on the brokers
 * known by their Kafka address; with no leader reachable by Kafka clients,
 * LEADER_NOT_AVAILABLE (retriable), so a client never gets a broker id it
 * cannot find in `brokers`.
 */
function partitionsOf(topic: string, partitionCount: number, members: KafkaClusterView): MessageValue[] {
  const partitions: MessageValue[] = [];
  const { leaderId, replicaIds, offlineIds } = members;
  for (let index = 0; index < partitionCount; index++) {
    partitions.push(
      leaderId === null
        ? { errorCode: KAFKA_ERRORS.leaderNotAvailable, partitionIndex: index, leaderId: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [] }
        : { errorCode: KAFKA_ERRORS.none, partitionIndex: index, leaderId, replicaNodes: replicaIds, isrNodes: members.inSyncIds(topic, index), offlineReplicas: offlineIds },
    );
  }
  return partitions;
}

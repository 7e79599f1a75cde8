/**
 * The Kafka door of one broker: the listener (listener.ts) answering the
 * APIs served so far (ApiVersions, Metadata, FindCoordinator, Produce,
 * Fetch, ListOffsets, the classic consumer-group APIs, CreateTopics,
 * DeleteTopics, DescribeConfigs) for the anonymous principal, counted in
 * `metrics`. SASL is not served yet, so run-broker.ts does not open this
 * door under --auth required.
 */
import { hostname } from "node:os";
import type { Broker } from "../broker/broker.ts";
import { joinHostPort, splitHostPort } from "../core/host-port.ts";
import type { Logger } from "../core/logger.ts";
import type { KafkaClusterView } from "../replication/kafka-cluster.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { describeGroupsApi } from "./describe-groups.ts";
import { KafkaDispatcher, type ServedApi } from "./dispatcher.ts";
import { fetchApi } from "./fetch.ts";
import { findCoordinatorApi } from "./find-coordinator.ts";
import { heartbeatApi } from "./heartbeat.ts";
import { joinGroupApi } from "./join-group.ts";
import { leaveGroupApi } from "./leave-group.ts";
import { listGroupsApi } from "./list-groups.ts";
import { listOffsetsApi } from "./list-offsets.ts";
import type { KafkaDoorMetrics } from "../metrics/kafka-door-metrics.ts";
import { createTopicsApi, type TopicAdminView } from "./create-topics.ts";
import { deleteTopicsApi } from "./delete-topics.ts";
import { describeConfigsApi } from "./describe-configs.ts";
import { KAFKA_ERRORS, kafkaTopicAdminErrorCode } from "./error-codes.ts";
import { KafkaListener } from "./listener.ts";
import { type ClusterView, metadataApi } from "./metadata.ts";
import { offsetCommitApi } from "./offset-commit.ts";
import { offsetFetchApi } from "./offset-fetch.ts";
import { produceApi } from "./produce.ts";
import { syncGroupApi } from "./sync-group.ts";

export interface KafkaDoorOptions {
  broker: Broker;
  /** The group coordinator: its classic side serves Kafka's consumer groups, sharing committed offsets with HTTP groups. */
  groups: GroupCoordinator;
  brokerId: number;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** `host:port` clients are told to reach this broker at; the listener's host and port when absent. */
  advertisedAddress?: string;
  clusterId(): string | null;
  /** The leader's broker id: this broker's when it leads; null when a follower does not know it yet. */
  leaderId(): number | null;
  /** The leader, the brokers' Kafka addresses and the replicas as of now (ReplicaManager.kafkaCluster). */
  members(): KafkaClusterView;
  /** Brokers of the cluster the leader knows (itself and its followers): the largest replication factor CreateTopics takes. */
  brokerCount(): number;
  logger: Logger;
  /** Requests, bytes and connections of the door; not counted when absent. */
  metrics?: KafkaDoorMetrics;
  /** limits.kafkaConnectionIdleMsDefault when absent. */
  idleMs?: number;
}

export interface KafkaDoor {
  listener: KafkaListener;
  /** Where Kafka clients are told to reach this broker, `host:port`: the other brokers learn it through replication. */
  advertisedAddress: string;
}

export function startKafkaListener(options: KafkaDoorOptions): KafkaDoor {
  let advertised = { host: options.host, port: options.port };
  const cluster: ClusterView = {
    brokerId: options.brokerId,
    get advertised() {
      return advertised;
    },
    clusterId: options.clusterId,
    leaderId: options.leaderId,
    members: options.members,
  };
  const { broker, groups, logger } = options;
  const topicAdmin: TopicAdminView = {
    broker,
    brokerCount: options.brokerCount,
    clock: broker.config.clock,
    failure: (error) => {
      const code = kafkaTopicAdminErrorCode(error);
      if (code === KAFKA_ERRORS.unknownServerError) logger.error("kafka topic administration failed", error);
      return code;
    },
  };
  const dispatcher = new KafkaDispatcher(
    [
      produceApi(broker, logger),
      fetchApi(broker, cluster, logger),
      listOffsetsApi(broker, cluster, logger),
      metadataApi(broker, cluster),
      findCoordinatorApi(broker, cluster),
      ...groupApis(groups, logger),
      createTopicsApi(topicAdmin),
      deleteTopicsApi(topicAdmin),
      describeConfigsApi(broker, options.brokerId, logger),
    ],
    logger,
    options.metrics,
  );
  const listener = new KafkaListener({
    host: options.host,
    port: options.port,
    handler: (request, signal, release) => dispatcher.handle(request, signal, release),
    logger: options.logger,
    idleMs: options.idleMs,
    traffic: options.metrics,
  });
  options.metrics?.watchConnections(() => listener.connectionCount);
  advertised = options.advertisedAddress === undefined ? { host: reachableHost(options.host), port: listener.port } : splitHostPort(options.advertisedAddress);
  return { listener, advertisedAddress: joinHostPort(advertised.host, advertised.port) };
}

/** Kafka's classic consumer-group APIs (client-side assignment). */
function groupApis(groups: GroupCoordinator, logger: Logger): ServedApi[] {
  const classic = groups.classic;
  return [
    joinGroupApi(classic, logger),
    syncGroupApi(classic, logger),
    heartbeatApi(classic, logger),
    leaveGroupApi(classic, logger),
    offsetCommitApi(classic, logger),
    offsetFetchApi(classic, logger),
    describeGroupsApi(classic, logger),
    listGroupsApi(groups, logger),
  ];
}

/** A wildcard host is no address to connect to: the machine's name stands for it. */
function reachableHost(host: string): string {
  return host === "0.0.0.0" || host === "::" || host === "" ? hostname() : host;
}

/**
 * The Kafka door of one broker: the listener (listener.ts) answering the
 * APIs served so far (ApiVersions, Metadata, CreateTopics, DeleteTopics,
 * DescribeConfigs) for the anonymous principal, counted in `metrics`.
 * SASL is not served yet, so run-broker.ts does not open this door under
 * --auth required.
 */
import { hostname } from "node:os";
import type { Broker } from "../broker/broker.ts";
import type { Logger } from "../core/logger.ts";
import type { KafkaDoorMetrics } from "../metrics/kafka-door-metrics.ts";
import { createTopicsApi, type TopicAdminView } from "./create-topics.ts";
import { deleteTopicsApi } from "./delete-topics.ts";
import { describeConfigsApi } from "./describe-configs.ts";
import { KafkaDispatcher } from "./dispatcher.ts";
import { KAFKA_ERRORS, kafkaTopicAdminErrorCode } from "./error-codes.ts";
import { KafkaListener } from "./listener.ts";
import { type ClusterView, metadataApi } from "./metadata.ts";

export interface KafkaDoorOptions {
  broker: Broker;
  brokerId: number;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** `host:port` clients are told to reach this broker at; the listener's host and port when absent. */
  advertisedAddress?: string;
  clusterId(): string | null;
  leaderId(): number | null;
  /** Brokers of the cluster the leader knows (itself and its followers): the largest replication factor CreateTopics takes. */
  brokerCount(): number;
  logger: Logger;
  /** Requests, bytes and connections of the door; not counted when absent. */
  metrics?: KafkaDoorMetrics;
  /** limits.kafkaConnectionIdleMsDefault when absent. */
  idleMs?: number;
}

export function startKafkaListener(options: KafkaDoorOptions): KafkaListener {
  let advertised = { host: options.host, port: options.port };
  const cluster: ClusterView = {
    brokerId: options.brokerId,
    get advertised() {
      return advertised;
    },
    clusterId: options.clusterId,
    leaderId: options.leaderId,
  };
  const topicAdmin: TopicAdminView = {
    broker: options.broker,
    brokerCount: options.brokerCount,
    clock: options.broker.config.clock,
    failure: (error) => {
      const code = kafkaTopicAdminErrorCode(error);
      if (code === KAFKA_ERRORS.unknownServerError) options.logger.error("kafka topic administration failed", error);
      return code;
    },
  };
  const dispatcher = new KafkaDispatcher(
    [metadataApi(options.broker, cluster), createTopicsApi(topicAdmin), deleteTopicsApi(topicAdmin), describeConfigsApi(options.broker, options.brokerId, options.logger)],
    options.logger,
    options.metrics,
  );
  const listener = new KafkaListener({
    host: options.host,
    port: options.port,
    handler: (request) => dispatcher.handle(request),
    logger: options.logger,
    idleMs: options.idleMs,
    traffic: options.metrics,
  });
  options.metrics?.watchConnections(() => listener.connectionCount);
  advertised = options.advertisedAddress === undefined ? { host: reachableHost(options.host), port: listener.port } : splitHostPort(options.advertisedAddress);
  return listener;
}

/** A wildcard host is no address to connect to: the machine's name stands for it. */
function reachableHost(host: string): string {
  return host === "0.0.0.0" || host === "::" || host === "" ? hostname() : host;
}

/** `host:port` or `[v6]:port` (the CLI checked its form). */
function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) };
}

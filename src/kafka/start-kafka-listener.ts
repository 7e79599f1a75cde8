/**
 * The Kafka door of one broker: the listener (listener.ts) answering the
 * APIs served so far (ApiVersions, Metadata, Produce, Fetch, ListOffsets,
 * FindCoordinator and the classic consumer-group APIs) for the anonymous
 * principal.
 * SASL is not served yet, so run-broker.ts does not open this door under
 * --auth required.
 */
import { hostname } from "node:os";
import type { Broker } from "../broker/broker.ts";
import type { Logger } from "../core/logger.ts";
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
  leaderId(): number | null;
  logger: Logger;
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
  const { broker, groups, logger } = options;
  const dispatcher = new KafkaDispatcher(
    [
      produceApi(broker, logger),
      fetchApi(broker, cluster, logger),
      listOffsetsApi(broker, cluster, logger),
      metadataApi(broker, cluster),
      findCoordinatorApi(cluster),
      ...groupApis(groups, logger),
    ],
    logger,
  );
  const listener = new KafkaListener({
    host: options.host,
    port: options.port,
    handler: (request, signal) => dispatcher.handle(request, signal),
    logger: options.logger,
    idleMs: options.idleMs,
  });
  advertised = options.advertisedAddress === undefined ? { host: reachableHost(options.host), port: listener.port } : splitHostPort(options.advertisedAddress);
  return listener;
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

/** `host:port` or `[v6]:port` (the CLI checked its form). */
function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) };
}

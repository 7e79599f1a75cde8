/**
 * The Kafka door of one broker: the listener (listener.ts) answering the
 * APIs served so far (ApiVersions, Metadata, Produce, Fetch, ListOffsets)
 * for the anonymous principal.
 * SASL is not served yet, so run-broker.ts does not open this door under
 * --auth required.
 */
import { hostname } from "node:os";
import type { Broker } from "../broker/broker.ts";
import type { Logger } from "../core/logger.ts";
import { KafkaDispatcher } from "./dispatcher.ts";
import { fetchApi } from "./fetch.ts";
import { listOffsetsApi } from "./list-offsets.ts";
import { KafkaListener } from "./listener.ts";
import { type ClusterView, metadataApi } from "./metadata.ts";
import { produceApi } from "./produce.ts";

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
  const { broker, logger } = options;
  const dispatcher = new KafkaDispatcher(
    [produceApi(broker, logger), fetchApi(broker, cluster, logger), listOffsetsApi(broker, cluster, logger), metadataApi(broker, cluster)],
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

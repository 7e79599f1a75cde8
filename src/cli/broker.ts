import { defineCommand } from "citty";
import * as path from "node:path";
import { systemClock } from "../core/clock.ts";
import { limits } from "../core/limits.ts";
import { isHostPort } from "../core/host-port.ts";
import { createLogger } from "../core/logger.ts";
import { loadBrokerTls } from "../security/tls-files.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { parseFsyncPolicy } from "../storage/fsync-policy.ts";
import { type ClusterSecret, readClusterSecretFile } from "../security/cluster-secret.ts";
import { partitionsMax } from "../broker/partitions-max.ts";
import { segmentFilesOpenMax } from "../broker/open-files.ts";
import { POOL_CAPACITY_MIN } from "../storage/descriptor-pool.ts";
import type { BrokerTopicDefaults } from "../broker/config.ts";
import { checkTopicConfigValue, KAFKA_TOPIC_DEFAULTS } from "../broker/topic-config.ts";
import { durationArg } from "./duration-arg.ts";
import { byteSizeArg, integerArg, logLevelArgs, UsageError } from "./shared-args.ts";

export default defineCommand({
  meta: { name: "broker", description: "Run a broker: stores topics on disk and serves the HTTP API" },
  args: {
    id: { type: "string", description: "Broker id", default: "1" },
    host: { type: "string", description: "Address to listen on", default: "127.0.0.1" },
    port: { type: "string", description: "HTTP port (0 picks a free one)", default: "9001" },
    "kafka-port": { type: "string", description: "Kafka protocol port (0 picks a free one; off: no Kafka listener; not opened under --auth required)", default: "9092" },
    "kafka-advertised-address": {
      type: "string",
      description: "How Kafka clients reach this broker, as Metadata tells them (default: --host:--kafka-port)",
      valueHint: "host:port",
    },
    "data-dir": { type: "string", description: "Where topics and logs are kept", default: "./data" },
    fsync: {
      type: "string",
      description: "When writes reach the disk before a produce is acknowledged",
      valueHint: "always|interval:<ms>|never",
      default: "always",
    },
    "commit-journal": {
      type: "enum",
      description: "Under --fsync always, acknowledge once one shared journal is fsynced (one flush per round for all partitions) instead of each partition's file",
      options: ["on", "off"],
      default: "on",
    },
    "journal-round-bytes": {
      type: "string",
      description: "A partition's commit round smaller than this goes through the commit journal; a larger one fsyncs its own segment",
      default: String(limits.journalRoundBytesMax),
    },
    "journal-direct-syncs": {
      type: "string",
      description: "Partitions' own fsyncs that run at once before small rounds go through the commit journal",
      default: String(limits.journalDirectSyncsMax),
    },
    "journal-checkpoint-bytes": { type: "string", description: "Commit-journal bytes after which the partitions are fsynced and the journal starts over", default: String(limits.journalCheckpointBytes) },
    "segment-bytes": { type: "string", description: "Segment size before a roll (default of a topic's segment.bytes)", default: String(limits.segmentBytesDefault) },
    cleaner: { type: "enum", description: "Compact the partitions of topics with cleanup.policy compact, in the background", options: ["on", "off"], default: "on" },
    "cleaner-io-mb-per-s": {
      type: "string",
      description: "The log cleaner's disk reads and writes together, in MB (10^6 bytes) per second",
      valueHint: "n",
      default: String(limits.cleanerIoMbPerSecondDefault),
    },
    "cleaner-backoff": {
      type: "string",
      description: "How long the log cleaner waits before it looks again when no partition needed compacting",
      valueHint: "duration",
      default: "15s",
    },
    "max-message-bytes": {
      type: "string",
      description: "Largest record, key + value + headers (default of a topic's max.message.bytes)",
      default: String(limits.messageBytesMaxDefault),
    },
    "retention-ms": { type: "string", description: "Default of a topic's retention.ms (-1: kept for ever)", valueHint: "ms", default: String(KAFKA_TOPIC_DEFAULTS.retentionMs) },
    "retention-bytes": { type: "string", description: "Default of a topic's retention.bytes, per partition (-1: no limit)", valueHint: "bytes", default: String(KAFKA_TOPIC_DEFAULTS.retentionBytes) },
    "segment-ms": { type: "string", description: "Default of a topic's segment.ms: the active segment rolls once this old", valueHint: "ms", default: String(KAFKA_TOPIC_DEFAULTS.segmentMs) },
    "cleanup-policy": { type: "string", description: "Default of a topic's cleanup.policy", valueHint: "delete|compact|compact,delete", default: "delete" },
    "delete-retention-ms": { type: "string", description: "Default of a topic's delete.retention.ms", valueHint: "ms", default: String(KAFKA_TOPIC_DEFAULTS.deleteRetentionMs) },
    "min-compaction-lag-ms": { type: "string", description: "Default of a topic's min.compaction.lag.ms", valueHint: "ms", default: String(KAFKA_TOPIC_DEFAULTS.minCompactionLagMs) },
    role: {
      type: "enum",
      description: "Replication role of a new data dir (afterwards replication.json decides; see docs/operations.md)",
      options: ["leader", "follower"],
      default: "leader",
    },
    leader: { type: "string", description: "The leader to follow (with --role=follower)", valueHint: "host:port" },
    "advertised-address": {
      type: "string",
      description: "How other brokers reach this one (default: --host:--port, the machine's name for 0.0.0.0)",
      valueHint: "host:port",
    },
    "replica-lag-max": {
      type: "string",
      description: "A follower that has not caught up for this long leaves the in-sync set",
      valueHint: "duration",
      default: "10s",
    },
    "follower-expiry": {
      type: "string",
      description: "A leader drops a follower it has not heard from for this long (and that is in no in-sync set), freeing its slot",
      valueHint: "duration",
      default: "10m",
    },
    "retention-check-interval": {
      type: "string",
      description: "How often delete retention removes old segments (Kafka's log.retention.check.interval.ms)",
      valueHint: "duration",
      default: "5m",
    },
    "min-insync-replicas": {
      type: "string",
      description: "acks=all fails (503 not_enough_replicas) with fewer replicas in sync, leader included (default of a topic's min.insync.replicas, and its floor)",
      valueHint: "n",
      default: "1",
    },
    "tls-cert": { type: "string", description: "Serve HTTPS only, with this certificate (PEM; with --tls-key); peers are then called by https too", valueHint: "path" },
    "tls-key": { type: "string", description: "The private key of --tls-cert (PEM)", valueHint: "path" },
    "tls-ca": {
      type: "string",
      description: "Require client certificates signed by this CA (mutual TLS), and verify peers' certificates against it (default: the system's CAs)",
      valueHint: "path",
    },
    "cluster-secret-file": {
      type: "string",
      description: "A file (mode 600) holding the secret every broker of the cluster shares; brokers then prove it on every replication call",
      valueHint: "path",
    },
    "request-bytes-in-flight-max": {
      type: "string",
      description: "Request-body bytes held at once by all requests; a body that does not fit is refused (503 server_busy, retriable)",
      default: String(limits.requestBytesInFlightMaxDefault),
    },
    "partitions-max": {
      type: "string",
      description: "Partitions this broker may hold (409 limit_reached past it)",
      valueHint: "n",
      default: String(limits.partitionsPerBrokerMaxDefault),
    },
    "segment-files-open-max": {
      type: "string",
      description: "Segment files the broker keeps open at most (others are opened when used); default and most: half the open-file limit, at most " +
        String(limits.segmentFilesOpenMaxDefault),
      valueHint: "n",
    },
    "groups-max": {
      type: "string",
      description: "Consumer groups this broker coordinates (409 limit_reached for a new one past it)",
      valueHint: "n",
      default: String(limits.groupsMaxDefault),
    },
    "metrics-group-partitions": {
      type: "boolean",
      description: "Add each group's committed offset and lag per partition to /metrics (one series per group and partition)",
      default: false,
    },
    auth: {
      type: "string",
      description: "Whether every client call needs credentials (HTTP Basic or a bearer token) and an ACL (default: off on a loopback --host, required on any other)",
      valueHint: "required|off",
    },
    "super-users": {
      type: "string",
      description: "Principals that may do everything under --auth required, comma-separated",
      valueHint: "User:name,...",
      default: "User:admin",
    },
    ...logLevelArgs("info"),
  },
  async run({ args }) {
    for (const flag of ["leader", "advertised-address", "kafka-advertised-address"] as const) {
      const value = args[flag];
      if (value !== undefined && !isHostPort(value)) {
        throw new UsageError(`--${flag} must be host:port (a name, an IPv4 address or an [IPv6] address, and a port 1-65535), not '${value}'`);
      }
    }
    if (args.role === "follower" && args.leader === undefined && !nodeFileSystem.exists(path.join(args["data-dir"], "replication.json"))) {
      throw new UsageError("--role=follower needs --leader=host:port, the leader to follow");
    }
    const replicaLagMaxMs = durationArg("replica-lag-max", args["replica-lag-max"], 1);
    const fsyncPolicy = parseFsyncPolicy(args.fsync);
    if (!fsyncPolicy) throw new UsageError(`--fsync must be always, interval:<ms> or never, not '${args.fsync}'`);
    // Before the data dir is touched: a wrong file is one line at start, not a failed handshake later.
    const tls = loadBrokerTls({ certPath: args["tls-cert"], keyPath: args["tls-key"], caPath: args["tls-ca"] }, nodeFileSystem.readFile);
    const clusterSecret = clusterSecretArg(args["cluster-secret-file"]);
    const authRequired = authArg(args.auth);
    const superUsers = superUsersArg(args["super-users"]);
    const logger = createLogger(args["log-level"], "broker");
    const config = {
      brokerId: integerArg("id", args.id, 0, 2 ** 31 - 1),
      host: args.host,
      port: integerArg("port", args.port, 0, 65_535),
      dataDir: args["data-dir"],
      fs: nodeFileSystem,
      clock: systemClock,
      logger,
      fsyncPolicy,
      commitJournal: args["commit-journal"] === "on",
      journalRoundBytesMax: byteSizeArg("journal-round-bytes", args["journal-round-bytes"], 0),
      journalDirectSyncsMax: integerArg("journal-direct-syncs", args["journal-direct-syncs"], 0, 1_000_000),
      journalCheckpointBytes: byteSizeArg("journal-checkpoint-bytes", args["journal-checkpoint-bytes"], 4096),
      segmentBytesMax: byteSizeArg("segment-bytes", args["segment-bytes"], limits.segmentBytesMin),
      messageBytesMax: byteSizeArg("max-message-bytes", args["max-message-bytes"], 1),
      topicDefaults: topicDefaultsArgs(args),
      tls,
      requestBytesInFlightMax: byteSizeArg("request-bytes-in-flight-max", args["request-bytes-in-flight-max"], 1024),
      partitionsMax: partitionsMax(integerArg("partitions-max", args["partitions-max"], 1, limits.partitionsPerBrokerMax)),
      segmentFilesOpenMax: segmentFilesOpenMax(
        args["segment-files-open-max"] === undefined ? undefined : integerArg("segment-files-open-max", args["segment-files-open-max"], POOL_CAPACITY_MIN, 1_000_000),
      ),
      groupsMax: integerArg("groups-max", args["groups-max"], 1, 1_000_000),
      metricsGroupPartitions: args["metrics-group-partitions"],
      retentionCheckIntervalMs: durationArg("retention-check-interval", args["retention-check-interval"], 1),
      replication: {
        role: args.role as "leader" | "follower",
        leader: args.leader,
        advertisedAddress: args["advertised-address"],
        replicaLagMaxMs,
        followerExpiryMs: durationArg("follower-expiry", args["follower-expiry"], 1),
        minInsyncReplicas: integerArg("min-insync-replicas", args["min-insync-replicas"], 1, 100),
      },
      clusterSecret,
      authRequired,
      superUsers,
      kafka: args["kafka-port"] === "off" ? undefined : { port: integerArg("kafka-port", args["kafka-port"], 0, 65_535), advertisedAddress: args["kafka-advertised-address"] },
      cleaner: {
        enabled: args.cleaner === "on",
        ioBytesPerSecond: integerArg("cleaner-io-mb-per-s", args["cleaner-io-mb-per-s"], 1, 100_000) * 1_000_000,
        backoffMs: durationArg("cleaner-backoff", args["cleaner-backoff"], 1),
      },
    };
    const stopRequested = shutdownSignal(); // listening before the port opens: no signal is missed
    const { runBroker } = await import("../run-broker.ts");
    const broker = await runBroker(config);
    const signal = await stopRequested;
    logger.info(`${signal}: stopping (finishing in-flight writes, fsync, closing files)`);
    await broker.stop();
    logger.info("stopped");
  },
});

/** The secret of --cluster-secret-file, read once at start; a usage error naming the flag (never the content) when it cannot be used. */
function clusterSecretArg(filePath: string | undefined): ClusterSecret | undefined {
  if (filePath === undefined) return undefined;
  try {
    return readClusterSecretFile(filePath);
  } catch (error) {
    throw new UsageError(`--cluster-secret-file: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The topic settings' defaults from their flags, each checked as a topic's
 * own value is (src/broker/topic-config.ts), so a default a topic could not
 * take is a usage error at start.
 */
function topicDefaultsArgs(args: Record<string, unknown>): Partial<BrokerTopicDefaults> {
  const value = (flag: string, name: string): string => {
    try {
      return checkTopicConfigValue(name, args[flag], flag);
    } catch (error) {
      throw new UsageError(`--${flag}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const policy = value("cleanup-policy", "cleanup.policy");
  return {
    retentionMs: Number(value("retention-ms", "retention.ms")),
    retentionBytes: Number(value("retention-bytes", "retention.bytes")),
    segmentMs: Number(value("segment-ms", "segment.ms")),
    cleanupPolicy: { delete: policy.includes("delete"), compact: policy.includes("compact") },
    deleteRetentionMs: Number(value("delete-retention-ms", "delete.retention.ms")),
    minCompactionLagMs: Number(value("min-compaction-lag-ms", "min.compaction.lag.ms")),
  };
}

/** `--auth`: true for required, false for off, undefined (the host decides) when absent. */
function authArg(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "required" || value === "off") return value === "required";
  throw new UsageError(`--auth must be required or off, not '${value}'`);
}

/** `--super-users User:a,User:b`: principals as ACLs name them. */
function superUsersArg(value: string): string[] {
  const principals = value.split(",").map((principal) => principal.trim()).filter((principal) => principal.length > 0);
  for (const principal of principals) {
    if (!/^User:[^,\s]+$/.test(principal)) throw new UsageError(`--super-users takes principals such as User:admin, not '${principal}'`);
  }
  return principals;
}

/** Resolves on the first SIGINT/SIGTERM; a second one while stopping exits at once. */
function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      const forceExit = () => process.exit(1);
      process.once("SIGINT", forceExit);
      process.once("SIGTERM", forceExit);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

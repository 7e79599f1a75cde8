import { hostname } from "node:os";
import { GroupCoordinator } from "./groups/coordinator.ts";
import { startServer } from "./http/server.ts";
import { type KafkaDoor, startKafkaListener } from "./kafka/start-kafka-listener.ts";
import { BrokerMetrics } from "./metrics/broker-metrics.ts";
import { MetricsRegistry } from "./metrics/registry.ts";
import { offsetsReplica } from "./replication/offsets-replica.ts";
import { ClusterIdStore } from "./replication/cluster-id.ts";
import { ReplicaManager, type ReplicationConfig } from "./replication/replica-manager.ts";
import { ReplicationStateStore } from "./replication/replication-state.ts";
import { peerFetch } from "./replication/peer-client.ts";
import { exposureWarnings, isLoopbackHost } from "./security/exposure.ts";
import { bootstrapAdmin } from "./security/admin-bootstrap.ts";
import { BasicVerifier } from "./security/basic-verifier.ts";
import { BearerVerifier } from "./security/bearer-verifier.ts";
import { CredentialStore } from "./security/credential-store.ts";
import type { BrokerTls } from "./security/tls-files.ts";
import { Authenticator } from "./security/authenticator.ts";
import { Authorizer } from "./security/authorizer.ts";
import type { ClusterSecret } from "./security/cluster-secret.ts";
import { PeerProofSigner, PeerProofVerifier } from "./security/peer-proof.ts";
import { Broker } from "./broker/broker.ts";
import { RetentionTask } from "./broker/retention-task.ts";
import type { TopicConfigSource } from "./broker/topic-config.ts";
import { limits } from "./core/limits.ts";
import type { BrokerConfig } from "./broker/config.ts";
import { type DataDirLock, type DataDirLocker, lockDataDir } from "./broker/data-dir-lock.ts";
import { LogCleaner } from "./broker/log-cleaner.ts";
import { nativeCrc32cUnavailable } from "./storage/crc32c-native.ts";

export interface RunBrokerConfig extends BrokerConfig {
  /** Interface the HTTP API listens on. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Leader/follower flags; a leader with default settings when absent. */
  replication?: Partial<ReplicationConfig>;
  /**
   * HTTPS on the listener and to peers (--tls-cert, --tls-key, --tls-ca;
   * src/security/tls-files.ts checks the files): peers are reached by https
   * at their `host:port` and verified against `ca` (else the system's CAs).
   * Plain HTTP both ways when absent.
   */
  tls?: BrokerTls;
  /** Takes the data dir's lock (one broker per data dir); defaults to flock on `<dataDir>/.lock`. */
  lockDataDir?: DataDirLocker;
  /**
   * `--cluster-secret-file`: brokers prove it to one another on every call
   * (src/security/peer-proof.ts), and replication's endpoints take nothing
   * else. Without one, anyone who reaches the port may replicate.
   */
  clusterSecret?: ClusterSecret;
  /** Request-body bytes held at once (`--request-bytes-in-flight-max`); limits.requestBytesInFlightMaxDefault when absent. */
  requestBytesInFlightMax?: number;
  /** Consumer groups this broker coordinates (`--groups-max`); limits.groupsMaxDefault when absent. */
  groupsMax?: number;
  /** Per group-partition series on GET /metrics (`--metrics-group-partitions`); off when absent. */
  metricsGroupPartitions?: boolean;
  /**
   * `--auth required`: every client call needs credentials (HTTP Basic or a
   * bearer token) and, unless its user is a super user, an ACL that allows
   * it. `--auth off`: anonymous callers may do everything but replicate
   * (which still needs the cluster secret when one is set). Default:
   * off on a loopback --host, required on any other.
   */
  authRequired?: boolean;
  /** How often delete retention runs (`--retention-check-interval`); limits.retentionCheckIntervalMsDefault when absent. */
  retentionCheckIntervalMs?: number;
  /** Each topic's configuration for retention; the broker's defaults for every topic when absent (tests pass their own). */
  topicConfigs?: TopicConfigSource;
  /** `--super-users`: principals (`User:admin`) that may do everything under --auth required. Default DEFAULT_SUPER_USERS. */
  superUsers?: readonly string[];
  /** `--cleaner`, `--cleaner-io-mb-per-s`, `--cleaner-backoff` (src/broker/log-cleaner.ts): on at limits.cleanerIoMbPerSecondDefault when absent. */
  cleaner?: { enabled: boolean; ioBytesPerSecond: number; backoffMs?: number };
  /**
   * The Kafka listener (`--kafka-port`, `--kafka-advertised-address`) on
   * `host`: port 0 picks a free one. Off when absent. Not opened under
   * --auth required: it serves the anonymous principal alone until SASL is served.
   */
  kafka?: { port: number; advertisedAddress?: string };
}

/** `--super-users`' default: the user the first start under --auth required creates (src/security/admin-bootstrap.ts). */
export const DEFAULT_SUPER_USERS: readonly string[] = Object.freeze(["User:admin"]);

/** `--auth`'s default: off where only this machine can connect (a loopback --host), required anywhere else. */
export function defaultAuthRequired(host: string): boolean {
  return !isLoopbackHost(host);
}

export interface RunningBroker {
  url: string;
  port: number;
  /** The Kafka listener's port; undefined when it is off. */
  kafkaPort: number | undefined;
  broker: Broker;
  /** The consumer-group coordinator and its committed-offset store (groups.offsets). */
  groups: GroupCoordinator;
  /** Role, epoch, followers, promotion (src/replication). */
  replication: ReplicaManager;
  /** Delete retention's periodic pass (runOnce() runs one now). */
  retention: RetentionTask;
  /**
   * Stops accepting connections, wakes long polls, waits for in-flight
   * requests and appends, closes every log (fsync), then releases the data
   * dir's lock. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Locks the data dir (throwing DataDirLockedError, naming the holder's pid,
 * when another broker has it), opens the broker (loading topics, recovering
 * every log), then serves the HTTP API. Once it is serving, writes exactly
 * one line to stdout, `listening on http(s)://HOST:PORT`, which scripts and test
 * helpers wait for. The lock is held until stop() has closed everything.
 */
export async function runBroker(config: RunBrokerConfig): Promise<RunningBroker> {
  config.fs.mkdirp(config.dataDir);
  // Before anything in the data dir is read or written.
  const lock = (config.lockDataDir ?? lockDataDir)(config.dataDir);
  let running: RunningBroker;
  try {
    running = await serve(config);
  } catch (error) {
    lock.release();
    throw error;
  }
  return { ...running, stop: releasingAfter(running.stop, lock) };
}

/** stop(), then the lock's release, once. */
function releasingAfter(stop: () => Promise<void>, lock: DataDirLock): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stopOnce = async () => {
    try {
      await stop();
    } finally {
      lock.release();
    }
  };
  return () => (stopping ??= stopOnce());
}

async function serve(config: RunBrokerConfig): Promise<RunningBroker> {
  const replicationConfig = { ...DEFAULT_REPLICATION, ...config.replication };
  const replicationState = ReplicationStateStore.load(config.dataDir, config.fs, {
    role: replicationConfig.role,
    leaderEpoch: 0,
    leader: replicationConfig.leader ?? null,
    leaderId: null,
    toInform: [],
    followers: [],
  });
  const authRequired = config.authRequired ?? defaultAuthRequired(config.host);
  const isFollower = replicationState.state.role === "follower";
  if (authRequired && isFollower && config.clusterSecret === undefined) {
    // Its leader takes replication calls from proven brokers alone: this follower could never catch up.
    throw new Error("a follower under --auth required needs --cluster-secret-file (the secret its leader's brokers share) to prove itself to its leader");
  }
  // Before the broker opens: a damaged security.json stops the start, naming the file.
  const credentials = CredentialStore.load(config.dataDir, config.fs, config.clock);
  // Made before the broker, whose logs report every fsync of appended records to it.
  const metrics = new BrokerMetrics(new MetricsRegistry(), config.clock, { groupPartitionSeries: config.metricsGroupPartitions ?? false });
  const onFsync = config.onFsync === undefined
    ? metrics.fsyncs.observe
    : (durationSeconds: number, records: number, bytes: number) => {
        metrics.fsyncs.observe(durationSeconds, records, bytes);
        config.onFsync?.(durationSeconds, records, bytes);
      };
  // A segment roll, or a partition past its retention.bytes plus its oldest segment, has retention look at that partition
  // at once, within the append (RetentionTask.applyNow); the task is made once the broker is open.
  let onRetentionDue = (_topic: string, _partition: number): void => {};
  const broker = await Broker.open(
    {
      ...config,
      // A topic's min.insync.replicas defaults to the leader's --min-insync-replicas.
      topicDefaults: { minInsyncReplicas: replicationConfig.minInsyncReplicas, ...config.topicDefaults },
      onFsync,
      onRetentionDue: (topic, partition) => onRetentionDue(topic, partition),
      onProduced: (topic, _partition, records, bytes) => metrics.produced.countTotals(topic, records, bytes),
      onConsumed: (topic, _partition, records, bytes) => metrics.consumed.countTotals(topic, records, bytes),
    },
    { leaderEpoch: () => replicationState.state.leaderEpoch, credentials },
  );
  let groups: GroupCoordinator;
  let replication: ReplicaManager;
  let server: ReturnType<typeof startServer>;
  const clusterIds = ClusterIdStore.load(config.dataDir, config.fs);
  const access = accessControl(config, () => clusterIds.clusterId, credentials, authRequired);
  broker.setAccessPolicy(access.policy);
  try {
    // A follower never makes users: it takes its leader's store.
    if (authRequired && !isFollower) await bootstrapAdmin(credentials, config.dataDir, config.fs, config.logger);
    groups = GroupCoordinator.open({
      broker,
      dataDir: config.dataDir,
      fs: config.fs,
      clock: config.clock,
      logger: config.logger,
      leaderEpoch: () => replicationState.state.leaderEpoch,
      groupsMax: config.groupsMax,
    });
  } catch (error) {
    await broker.close();
    throw error;
  }
  try {
    replication = await ReplicaManager.open({
      broker,
      config,
      replication: replicationConfig,
      state: replicationState,
      offsets: offsetsReplica(groups.offsets),
      credentials,
      fetch: peerFetch(config.tls),
      clusterIds,
      peerSigner: access.peerSigner,
    });
    groups.setCommitGuard(replication);
    server = startServer({
      broker,
      groups,
      replication,
      host: config.host,
      port: config.port,
      logger: config.logger,
      metrics,
      tls: config.tls,
      authenticator: access.authenticator,
      requestBytesInFlightMax: config.requestBytesInFlightMax,
    });
  } catch (error) {
    await groups.close();
    await broker.close();
    throw error;
  }
  let kafka: KafkaDoor | undefined;
  try {
    // Before the role is taken up: a follower tells its leader where Kafka clients reach it.
    kafka = openKafkaDoor(config, broker, groups, replication, authRequired, metrics);
  } catch (error) {
    // Replication has not begun: nothing of it runs, and it saves nothing.
    const serverStopped = server.stop();
    await groups.close();
    await broker.close();
    await serverStopped;
    throw error;
  }
  // In the same tick as the servers start: no request arrives before the role is taken up.
  replication.begin(advertisedAddress(config.host, server.port), kafka?.advertisedAddress);
  const retention = new RetentionTask({
    broker,
    // Each topic's own retention.ms, retention.bytes and cleanup.policy over the broker's defaults (the Broker is the TopicConfigSource).
    topicConfigs: config.topicConfigs ?? broker,
    clock: config.clock,
    logger: config.logger,
    intervalMs: config.retentionCheckIntervalMs ?? limits.retentionCheckIntervalMsDefault,
  });
  retention.start();
  onRetentionDue = (topic, partition) => retention.applyNow(topic, partition);
  metrics.watchRetention(retention);
  const cleaner = startCleaner(config, broker, metrics, replication);
  // Before the HTTP line, which scripts and test helpers wait for: once it is out, this one is too.
  if (kafka !== undefined) process.stdout.write(`kafka listening on ${kafka.listener.host}:${kafka.listener.port}\n`);
  process.stdout.write(`listening on ${server.url}\n`);
  const exposure = exposureWarnings({ host: config.host, tls: config.tls !== undefined, authRequired, peersAuthenticated: config.clusterSecret !== undefined });
  // One entry, so the block stays together in the log.
  if (exposure.length > 0) config.logger.warn(exposure.join("\n"));
  if (authRequired && !isFollower && config.clusterSecret === undefined) {
    config.logger.info("replication is closed: under --auth required only brokers proving the cluster secret may replicate, and none is set (--cluster-secret-file)");
  }
  config.logger.info(`broker ${config.brokerId} serving ${server.url} (data in ${config.dataDir})`);
  // Loaded now rather than at the first large produce, so the log says which one checks batches.
  const crc32cUnavailable = nativeCrc32cUnavailable();
  if (crc32cUnavailable === undefined) config.logger.debug("CRC-32C of produced batches: the processor's crc32 instruction");
  else config.logger.info(`CRC-32C of produced batches in JavaScript (slower): ${crc32cUnavailable}`);
  let stopping: Promise<void> | undefined;
  const stopOnce = async () => {
    // Stop accepting first; the broker then wakes long polls so the server's
    // in-flight requests finish promptly, and waits for appends before closing logs.
    // Replication first: it ends the followers' never-ending streams, which server.stop() waits for.
    retention.stop();
    // The Kafka door first: it answers the requests it has, then closes its connections.
    await kafka?.listener.stop();
    await replication.stop();
    await cleaner?.stop();
    const serverStopped = server.stop();
    try {
      await groups.close();
      await broker.close();
    } finally {
      await serverStopped;
    }
  };
  return {
    url: server.url,
    port: server.port,
    kafkaPort: kafka?.listener.port,
    broker,
    groups,
    replication,
    retention,
    stop: () => (stopping ??= stopOnce()),
  };
}

/**
 * Who may call this broker, and how it proves itself to its peers: the one
 * place the broker's credentials and policy are put together. Users' Basic
 * passwords and bearer tokens are checked against the credential store in
 * both modes (a wrong one is 401 even under --auth off); with a cluster
 * secret, calls carrying a Gafka-Peer proof are their broker's. The policy
 * is the Authorizer always: with auth off and no secret it allows
 * everything (as OPEN_POLICY); with a secret replication takes brokers
 * alone; with auth required anonymous gets 401 and users need a super
 * user's rights or an ACL.
 */
function accessControl(
  config: RunBrokerConfig,
  clusterId: () => string | null,
  credentials: CredentialStore,
  authRequired: boolean,
): { authenticator: Authenticator; policy: Authorizer; peerSigner?: PeerProofSigner } {
  const secret = config.clusterSecret;
  const { clock, brokerId } = config;
  const users = { basic: new BasicVerifier(credentials, clock), bearer: new BearerVerifier(credentials, clock) };
  const policy = new Authorizer({
    authRequired,
    peersAuthenticated: secret !== undefined,
    superUsers: config.superUsers ?? DEFAULT_SUPER_USERS,
    acls: () => credentials.acls,
  });
  if (secret === undefined) return { authenticator: new Authenticator(users), policy };
  return {
    authenticator: new Authenticator({ ...users, "gafka-peer": new PeerProofVerifier({ secret, clusterId, clock }) }),
    policy,
    peerSigner: new PeerProofSigner({ secret, brokerId, clusterId, clock }),
  };
}

/** The Kafka listener when the config asks for it, unless --auth required (it knows no SASL yet: every caller would be anonymous). */
function openKafkaDoor(
  config: RunBrokerConfig,
  broker: Broker,
  groups: GroupCoordinator,
  replication: ReplicaManager,
  authRequired: boolean,
  metrics: BrokerMetrics,
): KafkaDoor | undefined {
  if (config.kafka === undefined) return undefined;
  if (authRequired) {
    config.logger.warn("the Kafka listener is not opened under --auth required: it does not authenticate clients yet (SASL); use the HTTP API");
    return undefined;
  }
  return startKafkaListener({
    broker,
    groups,
    brokerId: config.brokerId,
    host: config.host,
    port: config.kafka.port,
    advertisedAddress: config.kafka.advertisedAddress,
    clusterId: () => replication.clusterId,
    leaderId: () => replication.leaderId,
    members: () => replication.kafkaCluster(),
    // Every partition is on every broker: the leader and the followers it knows now.
    brokerCount: () => 1 + replication.status().followers.length,
    logger: config.logger,
    metrics: metrics.kafka,
  });
}

/** The log cleaner, started unless `--cleaner off`, its passes and partitions in the metrics. */
function startCleaner(config: RunBrokerConfig, broker: Broker, metrics: BrokerMetrics, replication: ReplicaManager): LogCleaner | undefined {
  const settings = config.cleaner ?? { enabled: true, ioBytesPerSecond: limits.cleanerIoMbPerSecondDefault * 1_000_000 };
  if (!settings.enabled) return undefined;
  const cleaner = new LogCleaner({
    partitions: () => broker.partitionEntries(),
    // Each topic's cleanup.policy, delete.retention.ms and min.compaction.lag.ms (the Broker is the TopicConfigSource).
    configs: broker,
    clock: config.clock,
    logger: config.logger,
    ioBytesPerSecond: settings.ioBytesPerSecond,
    backoffMs: settings.backoffMs,
    onPass: metrics.cleaner.observePass,
    // Replicas stay byte-identical: the leader decides each pass and its followers repeat it.
    choosesPasses: () => replication.choosesCleanerPasses(),
    onPassRecorded: (topic, partition, passes) => replication.cleanerPassRecorded(topic, partition, passes),
  });
  replication.setCleanerPassSink((topic, partition, passes) => cleaner.receivePasses(topic, partition, passes));
  metrics.cleaner.watch(cleaner);
  cleaner.start();
  return cleaner;
}

/** How other brokers reach this one by default: host:port, with the machine's name for a wildcard host. */
function advertisedAddress(host: string, port: number): string {
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  const name = wildcard ? hostname() : host.includes(":") ? `[${host}]` : host;
  return `${name}:${port}`;
}

const DEFAULT_REPLICATION: ReplicationConfig = {
  role: "leader",
  leader: undefined,
  advertisedAddress: undefined,
  replicaLagMaxMs: 10_000,
  minInsyncReplicas: 1,
};

import type { Broker } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { sleep } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import type { CredentialStore } from "../security/credential-store.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { ClusterIdStore } from "./cluster-id.ts";
import type { CleanerPass } from "../storage/cleaner-checkpoint.ts";
import type { FollowerFetcher } from "./follower-fetcher.ts";
import type { LeaderReplicator } from "./leader-replicator.ts";
import type { OffsetsReplica } from "./offsets-replica.ts";
import { defaultPeerFetch, type PeerFetch, type PeerRequestSigner, signedPeerFetch } from "./peer-client.ts";
import type { ReplicaRole, ReplicationState, ReplicationStateStore } from "./replication-state.ts";
import type { KafkaBrokerAddress } from "./stream-codec.ts";

/** The replication flags of `gafka broker` (src/cli/broker.ts). */
export interface ReplicationConfig {
  /** --role: only decides for a data dir that has never been in a cluster (see ReplicaManager). */
  role: ReplicaRole;
  /** --leader host:port, for a follower. */
  leader: string | undefined;
  /** --advertised-address: how other brokers and `admin cluster` reach this one; by default host:port of the server. */
  advertisedAddress: string | undefined;
  /** --replica-lag-max: how long a follower may go without catching up before it leaves the in-sync set. */
  replicaLagMaxMs: number;
  /**
   * --min-insync-replicas (N): acks=all fails (503 not_enough_replicas) with fewer replicas in sync, leader
   * included; the high watermark never passes what N replicas hold; the leader's lease needs N - 1 followers;
   * a group commit is acknowledged only once N replicas hold it.
   */
  minInsyncReplicas: number;
  /**
   * --follower-expiry (default limits.followerExpiryMsDefault): a leader drops a follower it has not heard
   * from for this long and that counts for nothing (follower-expiry.ts), from memory and replication.json.
   */
  followerExpiryMs?: number;
}

export interface ReplicaManagerOptions {
  broker: Broker;
  config: Pick<BrokerConfig, "brokerId" | "dataDir" | "fs" | "clock" | "logger">;
  replication: ReplicationConfig;
  state: ReplicationStateStore;
  offsets: OffsetsReplica | undefined;
  /**
   * Users, tokens and ACLs (security.json): a leader streams its state to its
   * followers, a follower adopts its leader's. None: not replicated (tests).
   */
  credentials?: CredentialStore;
  /** This broker's cluster id (cluster.json); default: loaded from config.dataDir. */
  clusterIds?: ClusterIdStore;
  fetch?: PeerFetch;
  /** With a cluster secret: signs every call to another broker (src/security/peer-proof.ts). */
  peerSigner?: PeerRequestSigner;
  /** Waits (the lease wait, catching up before a promotion); tests pass one that moves a fake clock. Default: a timeout on config.clock. */
  sleep?: (ms: number) => Promise<void>;
}

/** How long a call to another broker may take before it counts as unanswered. */
export const PEER_TIMEOUT_MS = 1500;

/**
 * What a ReplicaManager holds in memory, shared with the parts it delegates
 * to (initial-role.ts, role-transitions.ts, promotion.ts, replica-status.ts,
 * checkpoint-saver.ts): the role, the fence, the term, the running leader
 * replicator or follower fetcher, and the queue that runs changes of role one
 * at a time. replication.json (`state`) is the persisted truth; `role` may run
 * ahead of it only while a change is under way.
 */
export class ReplicaContext {
  role: ReplicaRole;
  fenced = false;
  /** Bumped on every change of role: writes taken under an older term are not acknowledged. */
  term = 0;
  leader: LeaderReplicator | undefined;
  fetcher: FollowerFetcher | undefined;
  stopped = false;
  address = "";
  /** Where Kafka clients reach this broker (ReplicaManager.begin); undefined: its Kafka door is off. */
  kafkaAddress: string | undefined;
  /** A follower's leader's latest word on the cluster's Kafka addresses (kafka-cluster.ts); undefined before it, and on each new fetcher. */
  leaderKafkaBrokers: { leaderId: number; brokers: readonly KafkaBrokerAddress[] } | undefined;
  /** The leader being switched to, before replication.json says so (for the 421s of that moment). */
  switchingTo: { address: string; epoch: number; leaderId: number | null } | undefined;
  /** Monotonic ms this manager started: nothing this broker echoed to a leader since can hold that leader's lease. */
  readonly startedMs: number;
  /**
   * The newest leader epoch a request or follower carried (observeEpoch), persisted nowhere: a
   * promote goes past it too, so a fenced leader promoted again leads under an epoch no one has used.
   */
  epochSeen = -1;
  /** The last message from the leader, kept across fetchers (one is replaced when it stops). */
  leaderHeardMs = 0;
  /** Where a follower's fetcher hands the leader's cleaner checkpoints (ReplicaManager.setCleanerPassSink); none: dropped. */
  cleanerPassSink: ((topic: string, partition: number, passes: CleanerPass[]) => void) | undefined;
  readonly fetchPeer: PeerFetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly clusterIds: ClusterIdStore;
  private transitions: Promise<unknown> = Promise.resolve();

  constructor(readonly options: ReplicaManagerOptions) {
    this.role = options.state.state.role;
    const fetchPeer = options.fetch ?? defaultPeerFetch;
    this.fetchPeer = options.peerSigner === undefined ? fetchPeer : signedPeerFetch(fetchPeer, options.peerSigner);
    this.clusterIds = options.clusterIds ?? ClusterIdStore.load(options.config.dataDir, options.config.fs);
    this.startedMs = options.config.clock.monotonicMs();
    this.sleep = options.sleep ?? ((ms) => sleep(options.config.clock, ms));
  }

  get state(): Readonly<ReplicationState> {
    return this.options.state.state;
  }

  get logger() {
    return this.options.config.logger;
  }

  /** Runs `change` after every change queued before it (changes of role never interleave). */
  enqueue<T>(change: () => Promise<T>): Promise<T> {
    const result = this.transitions.then(change);
    this.transitions = result.catch(() => {});
    return result;
  }

  /** 421 not_leader, naming the leader when known (clients retry there once). */
  notLeader(): GafkaError {
    const switching = this.switchingTo;
    const leader = this.role === "follower" ? switching?.address ?? this.state.leader : null;
    const leaderEpoch = switching?.epoch ?? this.state.leaderEpoch;
    const leaderId = switching === undefined ? this.state.leaderId : switching.leaderId;
    const why =
      this.role === "follower"
        ? `broker ${this.options.config.brokerId} is a follower; the leader is ${leader}`
        : `broker ${this.options.config.brokerId} no longer leads: a newer leader epoch than ${leaderEpoch} exists`;
    return new GafkaError("not_leader", why, {
      retriable: true,
      details: { leader, leader_id: leaderId, leader_epoch: leaderEpoch, broker_id: this.options.config.brokerId },
    });
  }

  async stopFetcher(options: { leaving: boolean }): Promise<void> {
    const fetcher = this.fetcher;
    if (fetcher === undefined) return;
    this.fetcher = undefined;
    await fetcher.stop(options);
    this.leaderHeardMs = Math.max(this.leaderHeardMs, fetcher.status().lastMessageMs);
  }

  leaderLastHeardMs(): number {
    return Math.max(this.leaderHeardMs, this.fetcher?.status().lastMessageMs ?? 0);
  }

  leaderLastHeardAgoMs(): number | null {
    const heard = this.leaderLastHeardMs();
    return heard === 0 ? null : Math.round(this.options.config.clock.monotonicMs() - heard);
  }

  /**
   * The highest leader epoch this broker knows: its own (replication.json), any carried to it, and
   * every partition's leader-epoch-checkpoint. A promote moves exactly one past it.
   */
  highestEpochKnown(): number {
    let highest = Math.max(this.state.leaderEpoch, this.epochSeen);
    for (const entry of this.options.broker.partitionEntries()) if (entry.log !== undefined) highest = Math.max(highest, entry.log.leaderEpochs.latestEpoch);
    return highest;
  }

  /** The online partitions' logs. */
  logs(): PartitionLogApi[] {
    return this.options.broker
      .partitionEntries()
      .map((entry) => entry.log)
      .filter((log): log is PartitionLogApi => log !== undefined && log.status === "online");
  }

  /** What this broker holds of each online partition, as a follower judging its own promotion sees it. */
  followerPartitions() {
    return this.options.broker
      .partitionEntries()
      .filter((entry) => entry.log?.status === "online")
      .map((entry) => ({
        topic: entry.topic,
        partition: entry.partition,
        logEndOffset: entry.log!.logEndOffset,
        lastHighWatermark: entry.log!.highWatermarkBound,
      }));
  }
}

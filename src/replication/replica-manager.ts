import type { Acks, Principal, WriteGuard } from "../broker/broker.ts";
import { CLUSTER } from "../security/operations.ts";
import { principalName } from "../security/principal.ts";
import { assert } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { isHostPort } from "../core/host-port.ts";
import { isLeaderEpoch } from "../core/limits.ts";
import type { CommitGuard } from "../groups/commit-guard.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { CheckpointSaver } from "./checkpoint-saver.ts";
import { clusterIdMismatch } from "./cluster-id.ts";
import { readCheckpoint } from "./high-watermark-checkpoint.ts";
import { settleInitialRole } from "./initial-role.ts";
import { type KafkaClusterView, kafkaClusterView } from "./kafka-cluster.ts";
import type { AckReport, StreamRequest } from "./leader-replicator.ts";
import { type PromoteOptions, type PromoteResult, Promotion } from "./promotion.ts";
import { ReplicaContext, type ReplicaManagerOptions } from "./replica-context.ts";
import { replicaStatus } from "./replica-status.ts";
import type { ReplicaRole } from "./replication-state.ts";
import { RoleTransitions } from "./role-transitions.ts";
import type { TopicInfo } from "./stream-codec.ts";
import type { StreamSession } from "./stream-session.ts";
import { CleanerPassRelay } from "./cleaner-pass-relay.ts";
import type { CleanerPass } from "../storage/cleaner-checkpoint.ts";

export type { LeaseEnd, PromoteOptions, PromoteResult } from "./promotion.ts";
export type { ReplicaManagerOptions, ReplicationConfig } from "./replica-context.ts";
export type { KafkaClusterView } from "./kafka-cluster.ts";

/**
 * A broker's place in replication: leader or follower, under which leader
 * epoch, and every change between them. It is the broker's WriteGuard: only
 * a leader that has not been fenced takes writes, and a write taken under
 * one leadership term is never acknowledged after that term ended.
 *
 * Role on start (initial-role.ts). replication.json, once it exists, is the
 * truth; --role and --leader only set up a data dir that has never been in a
 * cluster (a follower's --leader also updates its leader's address). A broker
 * that believes it leads first asks the brokers it knows (its followers, the
 * broker it was promoted away from, --leader) and, when one leads or follows
 * under a newer epoch, becomes a follower of that leader before it serves
 * anything: how a deposed leader that was down comes back.
 *
 * Failover (promotion.ts). promote() makes a follower the leader under epoch
 * + 1 (persisted, and recorded as the start of that epoch in every
 * partition's epoch cache), then tells its former leader, which stops taking
 * writes, fails every write still waiting, cuts its log back to where the new
 * epoch began and follows (role-transitions.ts). A former leader that cannot
 * be told is told again every second until it hears. A leader that learns of
 * a newer epoch any other way (a follower or a client carrying it) fences
 * itself: it refuses writes until told whom to follow.
 *
 * It is the coordinator's CommitGuard too: a group commit is taken only by a
 * leader and acknowledged, like an acks=all write, once min.insync.replicas
 * replicas hold it (LeaderReplicator.waitForOffsets).
 *
 * The state it holds in memory is a ReplicaContext (replica-context.ts),
 * shared with the parts it delegates to; status reporting is
 * replica-status.ts and the high-watermark checkpoint checkpoint-saver.ts.
 */
export class ReplicaManager implements WriteGuard, CommitGuard {
  private readonly context: ReplicaContext;
  private readonly transitions: RoleTransitions;
  private readonly promotion: Promotion;
  private readonly checkpoints: CheckpointSaver;
  private readonly watched = new WeakSet<PartitionLogApi>();
  private readonly cleanerPasses: CleanerPassRelay;

  private constructor(private readonly options: ReplicaManagerOptions) {
    this.context = new ReplicaContext(options);
    this.transitions = new RoleTransitions(this.context);
    this.promotion = new Promotion(this.context, this.transitions);
    this.checkpoints = new CheckpointSaver(this.context);
    this.cleanerPasses = new CleanerPassRelay(options.broker);
  }

  /**
   * Settles the role (asking known peers when it would lead) and becomes the
   * broker's WriteGuard. Call before serving; then begin() once the address
   * is known, in the same tick as the server starts.
   */
  static async open(options: ReplicaManagerOptions): Promise<ReplicaManager> {
    const manager = new ReplicaManager(options);
    manager.context.address = options.replication.advertisedAddress ?? "";
    await settleInitialRole(manager.context);
    // A leader always has a cluster id (a follower takes its leader's).
    if (manager.context.role === "leader") await manager.context.clusterIds.ensure();
    options.broker.setWriteGuard(manager);
    return manager;
  }

  /**
   * Takes up the role: starts leading (streams, in-sync tracking) or following.
   * `kafkaAddress`: where Kafka clients reach this broker (`host:port`), told to
   * the other brokers (kafka-cluster.ts); undefined when its Kafka door is off.
   */
  begin(advertisedAddress: string, kafkaAddress?: string): void {
    const { broker, offsets, credentials, config } = this.options;
    this.context.address = this.options.replication.advertisedAddress ?? advertisedAddress;
    // The leader refuses a stream request whose Kafka address is not host:port: better none (left out of Kafka's Metadata) than no replication.
    if (kafkaAddress !== undefined && !isHostPort(kafkaAddress)) this.logger.warn(`the Kafka address ${kafkaAddress} is not host:port: not told to the other brokers`);
    this.context.kafkaAddress = kafkaAddress !== undefined && isHostPort(kafkaAddress) ? kafkaAddress : undefined;
    broker.onTopicChange(() => this.topicChanged());
    offsets?.onCommit((entries, sequence) => this.context.leader?.broadcastOffsets(entries, sequence));
    // Only a leader takes changes (the gate admits them as writes); a follower's adoptions reach no stream.
    credentials?.onChange(() => this.context.leader?.broadcastSecurity());
    for (const entry of broker.partitionEntries()) if (entry.log !== undefined) this.watch(entry.log);
    this.transitions.takeUpRole(readCheckpoint(config.dataDir, config.fs));
    this.checkpoints.start();
  }

  private get logger() {
    return this.options.config.logger;
  }

  // ---------------------------------------------------------------- writes (WriteGuard)

  admitWrite(): number {
    const { context } = this;
    if (context.role !== "leader" || context.fenced || context.stopped || context.leader === undefined) throw this.notLeader();
    return context.term;
  }

  /** admitWrite() for a produce of any `acks` (the term does not depend on it). */
  admit(_acks: Acks): number {
    return this.admitWrite();
  }

  checkAppend(acks: Acks, log: PartitionLogApi, minInsyncReplicas?: number): void {
    if (acks === "all") this.context.leader?.checkInSync(log, minInsyncReplicas);
  }

  async settle(term: number, acks: Acks, log: PartitionLogApi, endOffset: number, minInsyncReplicas?: number): Promise<void> {
    const { context } = this;
    if (term !== context.term || context.fenced) throw this.notLeader();
    if (acks === "all") await context.leader!.waitForInSync(log, endOffset, minInsyncReplicas);
    if (term !== context.term || context.fenced) throw this.notLeader();
  }

  // ---------------------------------------------------------------- group commits (CommitGuard)

  admitCommit(): number {
    const { context } = this;
    if (context.role !== "leader" || context.fenced || context.stopped || context.leader === undefined) throw this.notLeader();
    if (this.options.replication.minInsyncReplicas > 1) context.leader.admitOffsets();
    return context.term;
  }

  async settleCommit(term: number, sequence: number): Promise<void> {
    const { context } = this;
    if (term !== context.term || context.fenced) throw this.notLeader();
    // With one replica required, the leader's fsync (done) is the acknowledgement, as before.
    if (this.options.replication.minInsyncReplicas > 1) await context.leader!.waitForOffsets(sequence);
    if (term !== context.term || context.fenced) throw this.notLeader();
  }

  /** 421 not_leader, naming the leader when known (clients retry there once). */
  notLeader(): GafkaError {
    return this.context.notLeader();
  }

  /** Throws not_leader unless this broker leads and is not fenced. */
  checkLeader(): void {
    if (this.context.role !== "leader" || this.context.fenced) throw this.notLeader();
  }

  /**
   * Whether this leader holds its lease (src/replication/leader-lease.ts):
   * heard, within --replica-lag-max, from enough followers to meet
   * --min-insync-replicas. Always true with N = 1. False when not leading.
   */
  leaseHeld(): boolean {
    const { context } = this;
    return context.role === "leader" && !context.fenced && context.leader?.leaseHeld() === true;
  }

  /**
   * Throws unless this broker may act as coordinator now (group calls):
   * not_leader when it does not lead, not_leader_lease (503, retriable) when
   * it leads without its lease — a follower may have been promoted meanwhile,
   * and two coordinators must never answer at once.
   */
  checkLease(): void {
    this.checkLeader();
    if (this.leaseHeld()) return;
    const lease = this.context.leader?.leaseStatus();
    throw new GafkaError(
      "not_leader_lease",
      `broker ${this.options.config.brokerId} leads but has not heard from ${lease?.followersNeeded ?? "enough"} follower(s) within ` +
        `--replica-lag-max ${this.options.replication.replicaLagMaxMs} ms (--min-insync-replicas ${this.options.replication.minInsyncReplicas}): ` +
        "it does not act as leader until it hears from them",
      {
        retriable: true,
        details: {
          leader_epoch: this.context.state.leaderEpoch,
          followers_heard: lease?.followersHeard ?? 0,
          followers_needed: lease?.followersNeeded ?? this.options.replication.minInsyncReplicas - 1,
        },
      },
    );
  }

  /**
   * A request carries a leader epoch (the `gafka-leader-epoch` header): it
   * counts only from a principal the gate lets replicate (an authenticated
   * broker when peers authenticate; anyone without a cluster secret), else
   * anyone could fence this leader with one header.
   */
  observeCarriedEpoch(principal: Principal, epoch: number): void {
    if (this.options.broker.allows(principal, "replicate", CLUSTER)) this.observeEpoch(epoch);
  }

  /** A follower (or a client it let through) carries a leader epoch: a newer one than this leader's fences it. */
  private observeEpoch(epoch: number): void {
    const { context } = this;
    // Callers take in only valid epochs (routes, the header, the stream codec): one past the maximum is a bug.
    assert(isLeaderEpoch(epoch), `leader epoch ${epoch} is out of range`);
    context.epochSeen = Math.max(context.epochSeen, epoch);
    if (context.role !== "leader" || context.fenced || !(epoch > context.state.leaderEpoch)) return;
    this.logger.warn(`a request carries leader epoch ${epoch}, newer than this broker's ${context.state.leaderEpoch}: fenced, refusing writes`);
    context.fenced = true;
    context.term++;
    context.leader?.stop(this.notLeader());
  }

  /** This broker's cluster id (cluster.json); null for a follower that has not heard from a leader yet. */
  get clusterId(): string | null {
    return this.context.clusterIds.clusterId;
  }

  /** The leader's broker id as this broker knows it: its own while it leads; a follower's leader's, null until it has heard from one. */
  get leaderId(): number | null {
    const { context } = this;
    return context.role === "leader" ? context.options.config.brokerId : context.state.leaderId;
  }

  /** The cluster as the Kafka door describes it (kafka-cluster.ts), as of now. */
  kafkaCluster(): KafkaClusterView {
    return kafkaClusterView(this.context);
  }

  get leaderEpoch(): number {
    return this.context.state.leaderEpoch;
  }

  // ---------------------------------------------------------------- leader side

  /** A follower opens its stream (POST /api/v1/replication/stream): only a principal the gate lets replicate; refused, nothing is registered. */
  openStream(principal: Principal, request: StreamRequest): StreamSession {
    this.authorizeReplication(principal, request.followerId);
    const { context } = this;
    this.observeEpoch(request.leaderEpoch);
    if (context.role !== "leader" || context.fenced || context.leader === undefined) throw this.notLeader();
    const mine = context.clusterIds.clusterId!;
    if (request.clusterId !== null && request.clusterId !== mine) throw clusterIdMismatch(`follower ${request.followerId}`, request.clusterId, mine);
    const session = context.leader.openSession(request, () => this.topicInfos());
    this.cleanerPasses.opened(session);
    return session;
  }

  // ---------------------------------------------------------------- replicated compaction (cleaner-pass-relay.ts)

  /** Whether this broker's cleaner decides compaction passes: a leader not fenced; a follower repeats its leader's. */
  choosesCleanerPasses(): boolean {
    return this.context.role === "leader" && !this.context.fenced;
  }

  /** This leader's cleaner recorded a pass (its checkpoint `passes`): to every follower's stream. */
  cleanerPassRecorded(topic: string, partition: number, passes: CleanerPass[]): void {
    if (this.choosesCleanerPasses()) this.cleanerPasses.passRecorded(topic, partition, passes);
  }

  /** Where a follower hands its leader's cleaner checkpoints (the log cleaner's receivePasses). */
  setCleanerPassSink(sink: (topic: string, partition: number, passes: CleanerPass[]) => void): void {
    this.context.cleanerPassSink = sink;
  }

  /** A follower's position report (POST /api/v1/replication/ack): only from a principal the gate lets replicate. */
  acknowledge(
    principal: Principal,
    followerId: number,
    session: string,
    positions: { topic: string; partition: number; offset: number }[],
    report: AckReport,
  ): boolean {
    this.authorizeReplication(principal, followerId);
    const { context } = this;
    if (context.role !== "leader" || context.leader === undefined) throw this.notLeader();
    return context.leader.acknowledge(followerId, session, positions, report);
  }

  /**
   * The gate's say on a replication call, and a proven broker speaks for
   * itself only: broker 3 may not open broker 2's stream, ack for it or
   * announce itself as it (403 forbidden).
   */
  private authorizeReplication(principal: Principal, claimedBrokerId: number): void {
    this.options.broker.authorize(principal, "replicate", CLUSTER);
    if (principal.kind === "broker" && principal.brokerId !== claimedBrokerId) {
      throw new GafkaError("forbidden", `broker ${principal.brokerId} may not make a replication call as broker ${claimedBrokerId}`, {
        details: { principal: principalName(principal) },
      });
    }
  }

  private topicInfos(): TopicInfo[] {
    return this.options.broker.topicMetadata().map((m) => ({ name: m.name, partitions: m.partitionCount, createdAtMs: m.createdAtMs, configs: m.configs }));
  }

  private topicChanged(): void {
    for (const entry of this.options.broker.partitionEntries()) {
      if (entry.log === undefined || this.watched.has(entry.log)) continue;
      this.watch(entry.log);
      // A follower's new partition shows nothing until its leader's high watermark says so.
      if (this.context.role === "follower") entry.log.resetHighWatermarkLimit(0);
    }
    const leader = this.context.leader;
    if (leader !== undefined) {
      leader.broadcastMetadata(this.topicInfos());
      leader.refreshPartitions();
    }
  }

  private watch(log: PartitionLogApi): void {
    this.watched.add(log);
    log.onDurable(() => this.context.leader?.durableAdvanced(log));
  }

  // ---------------------------------------------------------------- changes of role

  /** Makes this follower the leader under a new epoch (POST /api/v1/replication/promote): see Promotion.promote. */
  async promote(principal: Principal, options: PromoteOptions = {}): Promise<PromoteResult> {
    this.options.broker.authorize(principal, "promote", CLUSTER);
    return this.promotion.promote(options);
  }

  /** How long a promotion started now would wait for the old leader's lease if it cannot tell that leader (0 for a leader). */
  promotionLeaseWaitMs(): number {
    return this.promotion.promotionLeaseWaitMs();
  }

  /**
   * Another broker announces it leads (POST /api/v1/replication/leader): under
   * a newer epoch this broker follows it; the same announcement again is
   * fine; anything older is refused with stale_leader_epoch (409). Only from
   * a principal the gate lets replicate: refused, nothing changes.
   */
  async acceptLeader(
    principal: Principal,
    announcement: { leaderId: number; leaderEpoch: number; address: string; clusterId: string },
  ): Promise<{ role: ReplicaRole; leaderEpoch: number }> {
    this.authorizeReplication(principal, announcement.leaderId);
    return this.transitions.acceptLeader(announcement);
  }

  // ---------------------------------------------------------------- status and shutdown

  /** Role, epoch, followers, lag (GET /api/v1/replication/status), for a principal the gate lets describe the cluster. */
  describe(principal: Principal) {
    this.options.broker.authorize(principal, "describe_cluster", CLUSTER);
    return this.status();
  }

  /** describe() without the gate, for this broker's own use (its metrics). */
  status() {
    return replicaStatus(this.context, () => this.promotionLeaseWaitMs());
  }

  /** Ends streams and fetching, fails waiting acks=all writes (shutting_down), saves the checkpoint. Idempotent. */
  async stop(): Promise<void> {
    const { context } = this;
    if (context.stopped) return;
    context.stopped = true;
    this.checkpoints.cancel();
    context.term++;
    context.leader?.stop(new GafkaError("shutting_down", "the broker is shutting down", { retriable: true }));
    await context.stopFetcher({ leaving: true });
    await this.checkpoints.save(true);
  }
}

import type { Acks, Broker, WriteGuard } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { sleep, type Timer } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import type { CommitGuard } from "../groups/commit-guard.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { FollowerFetcher } from "./follower-fetcher.ts";
import { checkpointKey, readCheckpoint, writeCheckpoint, type PartitionCheckpoint } from "./high-watermark-checkpoint.ts";
import { type AckReport, type FollowerStatus, LeaderReplicator, type LeaseStatus, type StreamRequest } from "./leader-replicator.ts";
import type { OffsetsReplica } from "./offsets-replica.ts";
import { leaseExpiresAtMs } from "./lease-expiry.ts";
import { announceLeader, defaultPeerFetch, leaderPositions, peerStatus, type PeerFetch } from "./peer-client.ts";
import { judgePromotion, type LeaderPosition, type PartitionShortfall, type PromotionVerdict } from "./promotion-safety.ts";
import type { KnownBroker, ReplicaRole, ReplicationState, ReplicationStateStore } from "./replication-state.ts";
import type { TopicInfo } from "./stream-codec.ts";
import type { StreamSession } from "./stream-session.ts";

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
}

export interface ReplicaManagerOptions {
  broker: Broker;
  config: Pick<BrokerConfig, "brokerId" | "dataDir" | "fs" | "clock" | "logger">;
  replication: ReplicationConfig;
  state: ReplicationStateStore;
  offsets: OffsetsReplica | undefined;
  fetch?: PeerFetch;
  /** Waits (the lease wait, catching up before a promotion); tests pass one that moves a fake clock. Default: a timeout on config.clock. */
  sleep?: (ms: number) => Promise<void>;
}

export interface PromoteOptions {
  /** Promote even when the follower cannot be shown to hold everything its leader made visible (an unclean election). */
  force?: boolean;
  /** The operator says the old leader is dead: do not wait out its lease. */
  leaderDead?: boolean;
}

/** How a promotion ended the old leader's term before this broker began to act. */
export type LeaseEnd =
  /** The old leader was told of the new epoch and answered: it stopped leading at once. */
  | "leader_stepped_down"
  /** --leader-dead: the operator says so. */
  | "leader_dead"
  /** Nothing came from the old leader for its lease period and a margin: it no longer acts. */
  | "lease_expired"
  /** The old leader had min.insync.replicas=1: its lease never lapses, so waiting proves nothing (it stops when told). */
  | "no_lease"
  /** This broker led already (a fenced leader promoted again): no other leader to wait for. */
  | "was_leader";

export interface PromoteResult {
  changed: boolean;
  leaderEpoch: number;
  formerLeader: { address: string; informed: boolean } | null;
  /** The former leader's other followers, told to follow this broker now. */
  otherFollowers: { address: string; informed: boolean }[];
  /** Whether the follower held everything its leader could have made visible or acknowledged. */
  clean: boolean;
  /** Why it was clean, or why not (then `force` promoted it anyway). */
  why: string;
  /** Per partition: the follower's log end against the leader's high watermark (and log end, when it answered). */
  partitions: PartitionShortfall[];
  lease: { end: LeaseEnd; waitedMs: number };
}

const PEER_TIMEOUT_MS = 1500;
/** Longest a promotion asks the old leader for its positions: it never waits on an unreachable leader. */
const LEADER_QUERY_TIMEOUT_MS = 1000;
/** Longest a follower behind its reachable leader's high watermark catches up before a promotion gives up. */
const CATCH_UP_WAIT_MS = 5000;
const CATCH_UP_POLL_MS = 20;
const ANNOUNCE_RETRY_MS = 1000;
const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * A broker's place in replication: leader or follower, under which leader
 * epoch, and every change between them. It is the broker's WriteGuard: only
 * a leader that has not been fenced takes writes, and a write taken under
 * one leadership term is never acknowledged after that term ended.
 *
 * Role on start. replication.json, once it exists, is the truth; --role and
 * --leader only set up a data dir that has never been in a cluster (a
 * follower's --leader also updates its leader's address). A broker that
 * believes it leads first asks the brokers it knows (its followers, the
 * broker it was promoted away from, --leader) and, when one leads or follows
 * under a newer epoch, becomes a follower of that leader before it serves
 * anything: how a deposed leader that was down comes back.
 *
 * Failover. promote() makes a follower the leader under epoch + 1 (persisted,
 * and recorded as the start of that epoch in every partition's epoch cache),
 * then tells its former leader, which stops taking writes, fails every write
 * still waiting, cuts its log back to where the new epoch began and follows.
 * A former leader that cannot be told is told again every second until it
 * hears. A leader that learns of a newer epoch any other way (a follower or
 * a client carrying it) fences itself: it refuses writes until told whom to follow.
 *
 * It is the coordinator's CommitGuard too: a group commit is taken only by a
 * leader and acknowledged, like an acks=all write, once min.insync.replicas
 * replicas hold it (LeaderReplicator.waitForOffsets).
 */
export class ReplicaManager implements WriteGuard, CommitGuard {
  private role: ReplicaRole;
  private fenced = false;
  /** Bumped on every change of role: writes taken under an older term are not acknowledged. */
  private term = 0;
  private leader: LeaderReplicator | undefined;
  private fetcher: FollowerFetcher | undefined;
  private transitions: Promise<unknown> = Promise.resolve();
  private readonly watched = new WeakSet<PartitionLogApi>();
  private readonly fetchPeer: PeerFetch;
  private checkpointTimer: Timer | undefined;
  private lastCheckpoint = "";
  private announcing: Promise<void> | undefined;
  private stopped = false;
  private address = "";
  /** The leader being switched to, before replication.json says so (for the 421s of that moment). */
  private switchingTo: { address: string; epoch: number; leaderId: number | null } | undefined;
  /** Monotonic ms this manager started: nothing this broker echoed to a leader since can hold that leader's lease. */
  private readonly startedMs: number;
  /** The last message from the leader, kept across fetchers (one is replaced when it stops). */
  private leaderHeardMs = 0;
  private readonly sleep: (ms: number) => Promise<void>;

  private constructor(private readonly options: ReplicaManagerOptions) {
    this.role = options.state.state.role;
    this.fetchPeer = options.fetch ?? defaultPeerFetch;
    this.startedMs = options.config.clock.monotonicMs();
    this.sleep = options.sleep ?? ((ms) => sleep(options.config.clock, ms));
  }

  /**
   * Settles the role (asking known peers when it would lead) and becomes the
   * broker's WriteGuard. Call before serving; then begin() once the address
   * is known, in the same tick as the server starts.
   */
  static async open(options: ReplicaManagerOptions): Promise<ReplicaManager> {
    const manager = new ReplicaManager(options);
    manager.address = options.replication.advertisedAddress ?? "";
    await manager.settleInitialRole();
    options.broker.setWriteGuard(manager);
    return manager;
  }

  /** Takes up the role: starts leading (streams, in-sync tracking) or following. */
  begin(advertisedAddress: string): void {
    const { broker, offsets, config } = this.options;
    this.address = this.options.replication.advertisedAddress ?? advertisedAddress;
    broker.onTopicChange(() => this.topicChanged());
    offsets?.onCommit((entries, sequence) => this.leader?.broadcastOffsets(entries, sequence));
    for (const entry of broker.partitionEntries()) if (entry.log !== undefined) this.watch(entry.log);
    this.takeUpRole(readCheckpoint(config.dataDir, config.fs));
    this.checkpointTimer = config.clock.setInterval(() => void this.saveCheckpoint(), CHECKPOINT_INTERVAL_MS);
  }

  private get state(): Readonly<ReplicationState> {
    return this.options.state.state;
  }

  private get logger() {
    return this.options.config.logger;
  }

  private async settleInitialRole(): Promise<void> {
    const { state: store, replication } = this.options;
    const self = this.address;
    if (!store.existed) {
      await store.save({
        role: replication.role,
        leaderEpoch: 0,
        leader: replication.role === "follower" ? replication.leader ?? null : null,
        leaderId: null,
        toInform: [],
        followers: [],
      });
    } else if (this.state.role === "follower" && replication.leader !== undefined && replication.leader !== this.state.leader) {
      this.logger.warn(`following ${replication.leader} (--leader) instead of ${this.state.leader} (replication.json)`);
      await store.update((current) => ({ ...current, leader: replication.leader ?? null }));
    } else if (this.state.role !== replication.role) {
      this.logger.warn(
        `this broker is a ${this.state.role} under leader epoch ${this.state.leaderEpoch} (replication.json); --role=${replication.role} only sets up a new data dir` +
          (this.state.role === "follower" ? "; use `gafka admin promote` to make it the leader" : ""),
      );
    }
    this.role = this.state.role;
    if (this.role === "follower" && this.state.leader === null) {
      throw new Error("this broker is a follower with no leader to follow (replication.json); start it with --leader=host:port");
    }
    if (this.role !== "leader") return;
    const peers = new Set([...this.state.followers.map((f) => f.address), ...this.state.toInform]);
    if (replication.leader !== undefined) peers.add(replication.leader);
    peers.delete(self);
    const answers = await Promise.all([...peers].map((address) => peerStatus(this.fetchPeer, address, PEER_TIMEOUT_MS)));
    let newest: { epoch: number; leader: string | null } | undefined;
    for (const answer of answers) {
      if (answer === undefined || answer.leaderEpoch <= (newest?.epoch ?? this.state.leaderEpoch)) continue;
      newest = { epoch: answer.leaderEpoch, leader: answer.role === "leader" ? answer.address : answer.leader };
    }
    if (newest === undefined) return;
    if (newest.leader === null || newest.leader === self) {
      this.logger.warn(`a peer knows leader epoch ${newest.epoch}, newer than this broker's ${this.state.leaderEpoch}: refusing writes until the leader calls`);
      this.fenced = true;
      return;
    }
    this.logger.warn(`${newest.leader} leads under epoch ${newest.epoch}, newer than this broker's ${this.state.leaderEpoch}: becoming its follower`);
    await store.update((current) => ({ ...current, role: "follower", leaderEpoch: newest!.epoch, leader: newest!.leader, leaderId: null, toInform: [] }));
    this.role = "follower";
  }

  /** Starts the leader's replicator or the follower's fetcher for the current state. */
  private takeUpRole(checkpoint: Map<string, PartitionCheckpoint>): void {
    this.term++;
    const logs = this.logs();
    if (this.role === "leader") {
      for (const log of logs) log.resetHighWatermarkLimit(undefined);
      this.leader = this.newLeaderReplicator(checkpoint);
      if (this.state.toInform.length > 0) this.announcing ??= this.announceUntilHeard();
      this.logger.info(`leading under epoch ${this.state.leaderEpoch}`);
      return;
    }
    for (const entry of this.options.broker.partitionEntries()) {
      entry.log?.resetHighWatermarkLimit(checkpoint.get(checkpointKey(entry.topic, entry.partition))?.highWatermark ?? 0);
    }
    this.fetcher = this.newFetcher(this.state.leader!);
    this.fetcher.start();
    this.logger.info(`following ${this.state.leader} (leader epoch ${this.state.leaderEpoch})`);
  }

  private newLeaderReplicator(checkpoint: Map<string, PartitionCheckpoint>): LeaderReplicator {
    const { broker, config, replication, offsets } = this.options;
    return new LeaderReplicator({
      broker,
      clock: config.clock,
      logger: config.logger,
      leaderId: config.brokerId,
      leaderEpoch: this.state.leaderEpoch,
      replicaLagMaxMs: replication.replicaLagMaxMs,
      minInsyncReplicas: replication.minInsyncReplicas,
      checkpoint,
      knownFollowers: this.state.followers,
      offsetsSnapshot: () => offsets?.snapshot() ?? { sequence: 0, entries: [] },
      onFollowerSeen: (follower) => void this.rememberFollower(follower),
    });
  }

  private newFetcher(leaderAddress: string): FollowerFetcher {
    const { broker, config, offsets } = this.options;
    return new FollowerFetcher({
      broker,
      clock: config.clock,
      logger: config.logger,
      followerId: config.brokerId,
      advertisedAddress: this.address,
      leaderAddress,
      leaderEpoch: () => this.state.leaderEpoch,
      onLeader: async (epoch, leaderId, followers, facts) => {
        // A follower keeps its fellow followers: if it is promoted, it tells them to follow it.
        const peers = followers.filter((follower) => follower.id !== config.brokerId);
        const state = this.state;
        const known = state.role === "follower" && state.leader === leaderAddress && state.leaderEpoch === epoch && state.leaderId === leaderId;
        const sameFacts = JSON.stringify(facts) === JSON.stringify(state.leaderFacts ?? null);
        if (known && sameFacts && JSON.stringify(peers) === JSON.stringify(state.followers)) return;
        await this.options.state.update((current) => ({
          ...current,
          role: "follower",
          leader: leaderAddress,
          leaderEpoch: Math.max(epoch, current.leaderEpoch),
          leaderId,
          toInform: [],
          followers: peers,
          leaderFacts: facts,
        }));
      },
      onRedirect: async (address) => void this.enqueue(() => this.becomeFollower(address, this.state.leaderEpoch, null)),
      offsets,
      fetch: this.fetchPeer,
    });
  }

  // ---------------------------------------------------------------- writes (WriteGuard)

  admitWrite(): number {
    if (this.role !== "leader" || this.fenced || this.stopped || this.leader === undefined) throw this.notLeader();
    return this.term;
  }

  /** admitWrite() for a produce of any `acks` (the term does not depend on it). */
  admit(_acks: Acks): number {
    return this.admitWrite();
  }

  async settle(term: number, acks: Acks, log: PartitionLogApi, endOffset: number): Promise<void> {
    if (term !== this.term || this.fenced) throw this.notLeader();
    if (acks === "all") await this.leader!.waitForInSync(log, endOffset);
    if (term !== this.term || this.fenced) throw this.notLeader();
  }

  // ---------------------------------------------------------------- group commits (CommitGuard)

  admitCommit(): number {
    if (this.role !== "leader" || this.fenced || this.stopped || this.leader === undefined) throw this.notLeader();
    if (this.options.replication.minInsyncReplicas > 1) this.leader.admitOffsets();
    return this.term;
  }

  async settleCommit(term: number, sequence: number): Promise<void> {
    if (term !== this.term || this.fenced) throw this.notLeader();
    // With one replica required, the leader's fsync (done) is the acknowledgement, as before.
    if (this.options.replication.minInsyncReplicas > 1) await this.leader!.waitForOffsets(sequence);
    if (term !== this.term || this.fenced) throw this.notLeader();
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

  /** Throws not_leader unless this broker leads and is not fenced. */
  checkLeader(): void {
    if (this.role !== "leader" || this.fenced) throw this.notLeader();
  }

  /**
   * Whether this leader holds its lease (src/replication/leader-lease.ts):
   * heard, within --replica-lag-max, from enough followers to meet
   * --min-insync-replicas. Always true with N = 1. False when not leading.
   */
  leaseHeld(): boolean {
    return this.role === "leader" && !this.fenced && this.leader?.leaseHeld() === true;
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
    const lease = this.leader?.leaseStatus();
    throw new GafkaError(
      "not_leader_lease",
      `broker ${this.options.config.brokerId} leads but has not heard from ${lease?.followersNeeded ?? "enough"} follower(s) within ` +
        `--replica-lag-max ${this.options.replication.replicaLagMaxMs} ms (--min-insync-replicas ${this.options.replication.minInsyncReplicas}): ` +
        "it does not act as leader until it hears from them",
      {
        retriable: true,
        details: {
          leader_epoch: this.state.leaderEpoch,
          followers_heard: lease?.followersHeard ?? 0,
          followers_needed: lease?.followersNeeded ?? this.options.replication.minInsyncReplicas - 1,
        },
      },
    );
  }

  /** A client or follower carries a leader epoch: a newer one than this leader's fences it. */
  observeEpoch(epoch: number): void {
    if (this.role !== "leader" || this.fenced || !(epoch > this.state.leaderEpoch)) return;
    this.logger.warn(`a request carries leader epoch ${epoch}, newer than this broker's ${this.state.leaderEpoch}: fenced, refusing writes`);
    this.fenced = true;
    this.term++;
    this.leader?.stop(this.notLeader());
  }

  get leaderEpoch(): number {
    return this.state.leaderEpoch;
  }

  // ---------------------------------------------------------------- leader side

  openStream(request: StreamRequest): StreamSession {
    this.observeEpoch(request.leaderEpoch);
    if (this.role !== "leader" || this.fenced || this.leader === undefined) throw this.notLeader();
    return this.leader.openSession(request, () => this.topicInfos());
  }

  acknowledge(
    followerId: number,
    session: number,
    positions: { topic: string; partition: number; offset: number }[],
    report: AckReport,
  ): boolean {
    if (this.role !== "leader" || this.leader === undefined) throw this.notLeader();
    return this.leader.acknowledge(followerId, session, positions, report);
  }

  private topicInfos(): TopicInfo[] {
    return this.options.broker.topicMetadata().map((m) => ({ name: m.name, partitions: m.partitionCount, createdAtMs: m.createdAtMs }));
  }

  private topicChanged(): void {
    for (const entry of this.options.broker.partitionEntries()) {
      if (entry.log === undefined || this.watched.has(entry.log)) continue;
      this.watch(entry.log);
      // A follower's new partition shows nothing until its leader's high watermark says so.
      if (this.role === "follower") entry.log.resetHighWatermarkLimit(0);
    }
    if (this.leader !== undefined) {
      this.leader.broadcastMetadata(this.topicInfos());
      this.leader.refreshPartitions();
    }
  }

  private watch(log: PartitionLogApi): void {
    this.watched.add(log);
    log.onDurable(() => this.leader?.durableAdvanced(log));
  }

  private async rememberFollower(follower: KnownBroker): Promise<void> {
    const followers = [...this.state.followers.filter((known) => known.id !== follower.id), follower].sort((a, b) => a.id - b.id);
    await this.options.state.update((current) => ({ ...current, followers }));
  }

  // ---------------------------------------------------------------- changes of role

  /**
   * Makes this follower the leader under a new epoch (POST /api/v1/replication/promote),
   * by the rules of docs/operations.md "Promotion":
   *
   * 1. Clean by default. It must hold everything its leader could have made
   *    visible or acknowledged (promotion-safety.ts): a reachable leader is
   *    asked for its high watermark (short timeout) and the follower catches
   *    up to it first; an unreachable one is judged by construction (N >= 2
   *    and R <= N), never by the last high watermark it sent. Otherwise
   *    replica_not_in_sync (409) says how much may be missing, unless
   *    `force` (an unclean election; the answer says what it may lose).
   * 2. One leader at a time. The new epoch is persisted, the old leader told
   *    (it steps down at once when it hears); one that does not answer is
   *    waited out — its lease lapses lease period + margin after the last
   *    message this follower received from it (lease-expiry.ts) — unless
   *    `leaderDead`. Only then does this broker act as leader.
   *
   * Never waits on an unreachable leader: every call to it is bounded.
   */
  promote(options: PromoteOptions = {}): Promise<PromoteResult> {
    return this.enqueue(async () => {
      if (this.role === "leader" && !this.fenced) {
        const why = "this broker leads already";
        return { changed: false, leaderEpoch: this.state.leaderEpoch, formerLeader: null, otherFollowers: [], clean: true, why, partitions: [], lease: { end: "was_leader", waitedMs: 0 } };
      }
      const wasFollower = this.role === "follower";
      const verdict: PromotionVerdict = wasFollower
        ? await this.judgeOwnPromotion(options.force === true)
        : { clean: true, basis: "caught_up_to_leader", shortfall: [] };
      if (!verdict.clean) this.logger.warn(`unclean promotion (forced): ${verdict.reason}`);
      const facts = this.state.leaderFacts ?? null;
      const epoch = this.state.leaderEpoch + 1;
      const formerLeader = wasFollower ? this.state.leader : null;
      // Its fellow followers (from the leader's metadata) and its former leader now follow it.
      const followers = [...this.state.followers];
      if (formerLeader !== null && this.state.leaderId !== null && !followers.some((f) => f.id === this.state.leaderId)) {
        followers.push({ id: this.state.leaderId, address: formerLeader });
      }
      const others = wasFollower ? this.state.followers.map((f) => f.address).filter((a) => a !== this.address && a !== formerLeader) : [];
      const toInform = [...new Set([...(formerLeader === null ? [] : [formerLeader]), ...others])];
      // The new epoch's start is durable in every partition before the first write under it.
      for (const log of this.logs()) log.leaderEpochs.assign(epoch, log.logEndOffset);
      await this.options.state.update(() => ({ role: "leader", leaderEpoch: epoch, leader: null, leaderId: null, toInform, followers }));
      // Persisted, not yet acting (this.role is still follower: writes and group calls are refused).
      // The former leader first: one that hears stops leading at once, and nothing is waited for.
      const formerInformed = formerLeader === null ? false : await this.announceOnce(formerLeader);
      // Then the other followers: once one follows this broker it echoes nothing more to the old
      // leader, whose lease on its account runs out a lease period later.
      const informed = await Promise.all(others.map((address) => this.announceOnce(address)));
      const othersLeftMs = informed.some(Boolean) ? this.options.config.clock.monotonicMs() : 0;
      let end: LeaseEnd;
      let waitedMs = 0;
      if (!wasFollower) end = "was_leader";
      else if (formerInformed) end = "leader_stepped_down";
      else if (options.leaderDead === true) end = "leader_dead";
      else if (facts !== null && facts.minInsyncReplicas < 2) end = "no_lease";
      else {
        end = "lease_expired";
        waitedMs = await this.waitOutLease(facts, othersLeftMs);
      }
      this.role = "leader";
      this.fenced = false;
      this.takeUpRole(new Map());
      this.logger.warn(
        `promoted to leader under epoch ${epoch} (${verdict.clean ? "clean" : "unclean, forced"}; old leader: ${end}` +
          (waitedMs > 0 ? ` after ${waitedMs} ms` : "") +
          ")" +
          (toInform.length > 0 ? `; telling ${toInform.join(", ")}` : ""),
      );
      return {
        changed: true,
        leaderEpoch: epoch,
        formerLeader: formerLeader === null ? null : { address: formerLeader, informed: formerInformed || !this.state.toInform.includes(formerLeader) },
        otherFollowers: others.map((address, i) => ({ address, informed: informed[i]! || !this.state.toInform.includes(address) })),
        clean: verdict.clean,
        why: verdict.clean ? cleanWhy(verdict.basis) : verdict.reason,
        partitions: verdict.shortfall,
        lease: { end, waitedMs },
      };
    });
  }

  /**
   * Rule 1 of promote(): asks the leader (bounded), catches up to its high
   * watermark, stops fetching, and judges. Refuses (restarting the fetcher)
   * unless clean or `force`.
   */
  private async judgeOwnPromotion(force: boolean): Promise<PromotionVerdict> {
    const leaderAddress = this.state.leader!;
    const epoch = this.state.leaderEpoch;
    let leaderNow = await leaderPositions(this.fetchPeer, leaderAddress, epoch, LEADER_QUERY_TIMEOUT_MS);
    if (leaderNow !== undefined && !force) await this.catchUpTo(leaderNow);
    // The old leader keeps waiting for this follower: no acks=all write is acknowledged without it.
    await this.stopFetcher({ leaving: false });
    // What the leader holds now that this follower stopped (a follower out of sync may have been passed meanwhile).
    if (leaderNow !== undefined) leaderNow = (await leaderPositions(this.fetchPeer, leaderAddress, epoch, LEADER_QUERY_TIMEOUT_MS)) ?? leaderNow;
    const verdict = judgePromotion({
      replicated: this.state.leaderId !== null,
      partitions: this.followerPartitions(),
      leader: this.state.leaderFacts ?? null,
      leaderNow,
    });
    if (verdict.clean || force) return verdict;
    this.fetcher = this.newFetcher(leaderAddress);
    this.fetcher.start();
    throw new GafkaError(
      "replica_not_in_sync",
      `broker ${this.options.config.brokerId} was not promoted: ${verdict.reason}. ` +
        (verdict.knownMissing || leaderNow !== undefined
          ? "Let it catch up (bring the leader back), or promote with force to accept the loss"
          : "Bring the leader back, or promote with force (an unclean election) to accept losing what only the leader held"),
      {
        details: {
          leader: leaderAddress,
          leader_reachable: leaderNow !== undefined,
          leader_last_heard_ms_ago: this.leaderLastHeardAgoMs(),
          min_insync_replicas: this.state.leaderFacts?.minInsyncReplicas ?? null,
          replicas: this.state.leaderFacts?.replicas ?? null,
          partitions: verdict.shortfall,
        },
      },
    );
  }

  /** Waits (bounded) until this follower holds the leader's high watermark in every partition. */
  private async catchUpTo(leaderNow: LeaderPosition[]): Promise<void> {
    const clock = this.options.config.clock;
    const deadline = clock.monotonicMs() + CATCH_UP_WAIT_MS;
    const wanted = new Map(leaderNow.map((p) => [`${p.topic}-${p.partition}`, p.highWatermark]));
    const caughtUp = () =>
      this.followerPartitions().every((p) => p.logEndOffset >= (wanted.get(`${p.topic}-${p.partition}`) ?? 0));
    while (!caughtUp() && clock.monotonicMs() < deadline && !this.stopped) await this.sleep(CATCH_UP_POLL_MS);
  }

  /** Rule 2 of promote(): waits until the old leader's lease has surely lapsed; returns how long it waited. */
  private async waitOutLease(facts: { replicaLagMaxMs: number } | null, othersLeftMs: number): Promise<number> {
    const clock = this.options.config.clock;
    const begin = clock.monotonicMs();
    const deadline = this.leaseExpiresAtMs(facts, othersLeftMs);
    if (deadline > begin) this.logger.warn(`waiting ${Math.ceil(deadline - begin)} ms for the old leader's lease to lapse (it was not reached)`);
    for (let now = begin; now < deadline && !this.stopped; now = clock.monotonicMs()) await this.sleep(Math.min(deadline - now, 250));
    return Math.max(0, Math.round(clock.monotonicMs() - begin));
  }

  /** `othersLeftMs`: when fellow followers (which may have kept the old leader's lease) were told to follow this broker. */
  private leaseExpiresAtMs(facts: { replicaLagMaxMs: number } | null, othersLeftMs = 0): number {
    // The leader's own lease period when it said; never less than this broker's flag.
    const leasePeriodMs = Math.max(this.options.replication.replicaLagMaxMs, facts?.replicaLagMaxMs ?? 0);
    const lastLeaderMessageMs = Math.max(this.leaderLastHeardMs(), othersLeftMs);
    return leaseExpiresAtMs({ lastLeaderMessageMs, startedMs: this.startedMs, leasePeriodMs });
  }

  /** How long a promotion started now would wait for the old leader's lease if it cannot tell that leader (0 for a leader). */
  promotionLeaseWaitMs(): number {
    if (this.role !== "follower") return 0;
    const facts = this.state.leaderFacts ?? null;
    if (facts !== null && facts.minInsyncReplicas < 2) return 0;
    return Math.max(0, Math.ceil(this.leaseExpiresAtMs(facts) - this.options.config.clock.monotonicMs()));
  }

  private leaderLastHeardMs(): number {
    return Math.max(this.leaderHeardMs, this.fetcher?.status().lastMessageMs ?? 0);
  }

  private leaderLastHeardAgoMs(): number | null {
    const heard = this.leaderLastHeardMs();
    return heard === 0 ? null : Math.round(this.options.config.clock.monotonicMs() - heard);
  }

  private async stopFetcher(options: { leaving: boolean }): Promise<void> {
    const fetcher = this.fetcher;
    if (fetcher === undefined) return;
    this.fetcher = undefined;
    await fetcher.stop(options);
    this.leaderHeardMs = Math.max(this.leaderHeardMs, fetcher.status().lastMessageMs);
  }

  private followerPartitions() {
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

  /**
   * Another broker announces it leads (POST /api/v1/replication/leader): under
   * a newer epoch this broker follows it; the same announcement again is
   * fine; anything older is refused with stale_leader_epoch (409).
   */
  acceptLeader(announcement: { leaderId: number; leaderEpoch: number; address: string }): Promise<{ role: ReplicaRole; leaderEpoch: number }> {
    return this.enqueue(async () => {
      const { leaderEpoch, address, leaderId } = announcement;
      if (leaderEpoch > this.state.leaderEpoch) {
        await this.becomeFollower(address, leaderEpoch, leaderId);
      } else if (!(leaderEpoch === this.state.leaderEpoch && this.role === "follower" && this.state.leader === address)) {
        throw new GafkaError("stale_leader_epoch", `leader epoch ${leaderEpoch} is not newer than this broker's ${this.state.leaderEpoch}`, {
          details: {
            leader_epoch: this.state.leaderEpoch,
            leader: this.role === "leader" ? this.address : this.state.leader,
          },
        });
      }
      return { role: this.role, leaderEpoch: this.state.leaderEpoch };
    });
  }

  /** Stops leading (failing every write still waiting), persists whom it follows, and replicates from there. */
  private async becomeFollower(address: string, epoch: number, leaderId: number | null): Promise<void> {
    if (this.stopped) return;
    const wasLeader = this.role === "leader";
    this.switchingTo = { address, epoch: Math.max(epoch, this.state.leaderEpoch), leaderId };
    this.role = "follower";
    this.fenced = false;
    this.term++;
    this.leader?.stop(this.notLeader());
    this.leader = undefined;
    await this.stopFetcher({ leaving: true });
    try {
      await this.options.state.update((current) => ({
        ...current,
        role: "follower",
        leaderEpoch: Math.max(epoch, current.leaderEpoch),
        leader: address,
        leaderId,
        toInform: [],
        // What the former leader said of itself says nothing of this one.
        leaderFacts: current.leader === address ? current.leaderFacts : null,
      }));
      this.switchingTo = undefined;
    } catch (error) {
      // Follow anyway (it must not lead); the leader's stream states the epoch again, and a
      // restart before that asks the peers, which name the new leader.
      this.logger.error(`could not persist the new leader ${address}: ${error instanceof Error ? error.message : error}; following it anyway`);
    }
    // Readers keep what they could see; the new leader's high watermark raises it.
    for (const log of this.logs()) log.resetHighWatermarkLimit(log.highWatermark);
    this.fetcher = this.newFetcher(address);
    this.fetcher.start();
    this.logger.warn(`${wasLeader ? "deposed: " : ""}following ${address} under leader epoch ${this.state.leaderEpoch}`);
  }

  private async announceOnce(address: string): Promise<boolean> {
    const answer = await announceLeader(
      this.fetchPeer,
      address,
      { leaderId: this.options.config.brokerId, leaderEpoch: this.state.leaderEpoch, address: this.address },
      PEER_TIMEOUT_MS,
    );
    if (answer?.accepted) {
      this.logger.info(`${address} follows this broker now`);
      await this.options.state.update((current) => ({ ...current, toInform: current.toInform.filter((each) => each !== address) }));
      return true;
    }
    if (answer?.leaderEpoch !== undefined && answer.leaderEpoch > this.state.leaderEpoch && typeof answer.leader === "string") {
      void this.enqueue(() => this.becomeFollower(answer.leader!, answer.leaderEpoch!, null));
      return true;
    }
    return false;
  }

  /** Tells every broker still to be told about this leadership, every second until each hears (or this broker stops leading). */
  private async announceUntilHeard(): Promise<void> {
    try {
      while (!this.stopped && this.role === "leader" && this.state.toInform.length > 0) {
        await this.enqueue(async () => {
          if (this.role === "leader") await Promise.all(this.state.toInform.map((address) => this.announceOnce(address)));
        });
        await sleep(this.options.config.clock, ANNOUNCE_RETRY_MS);
      }
    } finally {
      this.announcing = undefined;
    }
  }

  private enqueue<T>(change: () => Promise<T>): Promise<T> {
    const result = this.transitions.then(change);
    this.transitions = result.catch(() => {});
    return result;
  }

  // ---------------------------------------------------------------- status and shutdown

  status() {
    const fetcher = this.fetcher?.status();
    const now = this.options.config.clock.monotonicMs();
    return {
      brokerId: this.options.config.brokerId,
      address: this.address,
      role: this.role,
      fenced: this.fenced,
      leaderEpoch: this.state.leaderEpoch,
      leader: this.role === "follower" ? this.state.leader : null,
      leaderId: this.role === "follower" ? this.state.leaderId : null,
      toInform: this.state.toInform,
      replicaLagMaxMs: this.options.replication.replicaLagMaxMs,
      minInsyncReplicas: this.options.replication.minInsyncReplicas,
      followers: this.leader?.status() ?? ([] as FollowerStatus[]),
      lease: this.leader?.leaseStatus() ?? (null as LeaseStatus | null),
      fetcher:
        fetcher === undefined
          ? null
          : {
              connected: fetcher.connected,
              lastMessageMsAgo: fetcher.lastMessageMs === 0 ? null : Math.round(now - fetcher.lastMessageMs),
              error: fetcher.lastError ?? null,
              promotionLeaseWaitMs: this.promotionLeaseWaitMs(),
            },
      partitions: this.options.broker.partitionEntries().map((entry) => ({
        topic: entry.topic,
        partition: entry.partition,
        logEndOffset: entry.log?.status === "online" ? entry.log.logEndOffset : null,
        highWatermark: entry.log?.status === "online" ? entry.log.highWatermark : null,
      })),
    };
  }

  /** Ends streams and fetching, fails waiting acks=all writes (shutting_down), saves the checkpoint. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.checkpointTimer?.cancel();
    this.term++;
    this.leader?.stop(new GafkaError("shutting_down", "the broker is shutting down", { retriable: true }));
    await this.stopFetcher({ leaving: true });
    await this.saveCheckpoint(true);
  }

  /** Writes replication-offset-checkpoint when it changed; a leader that never had followers has none to write. */
  private async saveCheckpoint(final = false): Promise<void> {
    if (this.stopped && !final) return;
    let entries: PartitionCheckpoint[];
    if (this.leader !== undefined) {
      // With N >= 2 the checkpoint is also what a restart may show (never more than N replicas held).
      if (this.state.followers.length === 0 && this.options.replication.minInsyncReplicas <= 1) return;
      entries = this.leader.checkpoint();
    } else {
      entries = this.options.broker
        .partitionEntries()
        .filter((entry) => entry.log?.status === "online")
        .map((entry) => ({ topic: entry.topic, partition: entry.partition, highWatermark: entry.log!.highWatermark, inSync: [] }));
    }
    const text = JSON.stringify(entries);
    if (text === this.lastCheckpoint) return;
    try {
      await writeCheckpoint(this.options.config.dataDir, this.options.config.fs, entries);
      this.lastCheckpoint = text;
    } catch (error) {
      this.logger.warn(`could not write the high-watermark checkpoint (it is derived; retrying): ${error instanceof Error ? error.message : error}`);
    }
  }

  private logs(): PartitionLogApi[] {
    return this.options.broker
      .partitionEntries()
      .map((entry) => entry.log)
      .filter((log): log is PartitionLogApi => log !== undefined && log.status === "online");
  }
}

function cleanWhy(basis: "caught_up_to_leader" | "needed_for_every_commit"): string {
  return basis === "caught_up_to_leader"
    ? "it holds the leader's high watermark, asked for just now, in every partition"
    : "the leader needs min.insync.replicas copies and has no more replicas than that: every record it made visible or acknowledged needed this follower's durable copy";
}

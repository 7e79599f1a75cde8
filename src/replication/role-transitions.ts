import { sleep } from "../core/clock.ts";
import { GafkaError, invalidRequest } from "../core/errors.ts";
import { isLeaderEpoch, LEADER_EPOCH_MAX } from "../core/limits.ts";
import { FollowerFetcher } from "./follower-fetcher.ts";
import { checkpointKey, type PartitionCheckpoint } from "./high-watermark-checkpoint.ts";
import { LeaderReplicator } from "./leader-replicator.ts";
import { announceLeader } from "./peer-client.ts";
import { PEER_TIMEOUT_MS, type ReplicaContext } from "./replica-context.ts";
import type { KnownBroker, ReplicaRole } from "./replication-state.ts";

const ANNOUNCE_RETRY_MS = 1000;

/**
 * The changes of a broker's role other than a promotion (promotion.ts): taking
 * up the role it has (starting the leader's replicator or the follower's
 * fetcher), following a newer leader, and, as a leader, telling the brokers
 * still to be told that it leads.
 *
 * A former leader that cannot be told is told again every second until it
 * hears. A leader told of a newer epoch stops taking writes, fails every write
 * still waiting, and follows; its fetcher cuts its log back to where the new
 * epoch began.
 */
export class RoleTransitions {
  private announcing: Promise<void> | undefined;

  constructor(private readonly context: ReplicaContext) {}

  /** Starts the leader's replicator or the follower's fetcher for the current state. */
  takeUpRole(checkpoint: Map<string, PartitionCheckpoint>): void {
    const context = this.context;
    context.term++;
    const logs = context.logs();
    if (context.role === "leader") {
      for (const log of logs) log.resetHighWatermarkLimit(undefined);
      context.leader = this.newLeaderReplicator(checkpoint);
      if (context.state.toInform.length > 0) this.announcing ??= this.announceUntilHeard();
      context.logger.info(`leading under epoch ${context.state.leaderEpoch}`);
      return;
    }
    for (const entry of context.options.broker.partitionEntries()) {
      entry.log?.resetHighWatermarkLimit(checkpoint.get(checkpointKey(entry.topic, entry.partition))?.highWatermark ?? 0);
    }
    context.fetcher = this.newFetcher(context.state.leader!);
    context.fetcher.start();
    context.logger.info(`following ${context.state.leader} (leader epoch ${context.state.leaderEpoch})`);
  }

  private newLeaderReplicator(checkpoint: Map<string, PartitionCheckpoint>): LeaderReplicator {
    const { broker, config, replication, offsets, credentials } = this.context.options;
    return new LeaderReplicator({
      broker,
      clock: config.clock,
      logger: config.logger,
      leaderId: config.brokerId,
      leaderEpoch: this.context.state.leaderEpoch,
      clusterId: this.context.clusterIds.clusterId!,
      replicaLagMaxMs: replication.replicaLagMaxMs,
      minInsyncReplicas: replication.minInsyncReplicas,
      kafkaAddress: this.context.kafkaAddress,
      checkpoint,
      knownFollowers: this.context.state.followers,
      offsetsSnapshot: () => offsets?.snapshot() ?? { sequence: 0, entries: [] },
      securitySnapshot: credentials === undefined ? undefined : () => credentials.snapshot(),
      onFollowerSeen: (follower) => void this.rememberFollower(follower),
      followerExpiryMs: replication.followerExpiryMs,
      replicasStated: this.context.state.replicas,
      onFollowersExpired: (ids) => void this.forgetFollowers(ids),
    });
  }

  /** A fetcher from `leaderAddress` (not started). */
  newFetcher(leaderAddress: string): FollowerFetcher {
    const context = this.context;
    const { broker, config, offsets, credentials } = context.options;
    // What an earlier leader said of the cluster is no word of this one's.
    context.leaderKafkaBrokers = undefined;
    return new FollowerFetcher({
      broker,
      clock: config.clock,
      logger: config.logger,
      followerId: config.brokerId,
      advertisedAddress: context.address,
      kafkaAddress: context.kafkaAddress,
      leaderAddress,
      leaderEpoch: () => context.state.leaderEpoch,
      clusterId: () => context.clusterIds.clusterId,
      // Before anything of the stream is applied: a leader of another cluster must not make this broker cut back or delete.
      onClusterId: (clusterId) => context.clusterIds.join(clusterId, `the leader ${leaderAddress}`),
      onLeader: async (epoch, leaderId, followers, facts) => {
        // A follower keeps its fellow followers: if it is promoted, it tells them to follow it.
        const peers = followers.filter((follower) => follower.id !== config.brokerId);
        const state = context.state;
        const known = state.role === "follower" && state.leader === leaderAddress && state.leaderEpoch === epoch && state.leaderId === leaderId;
        const sameFacts = JSON.stringify(facts) === JSON.stringify(state.leaderFacts ?? null);
        if (known && sameFacts && JSON.stringify(peers) === JSON.stringify(state.followers)) return;
        await context.options.state.update((current) => ({
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
      onLeaderMetadata: (message) => {
        context.leaderKafkaBrokers = { leaderId: message.leaderId, brokers: message.kafkaBrokers ?? [] };
      },
      onRedirect: async (address) => void context.enqueue(() => this.becomeFollower(address, context.state.leaderEpoch, null)),
      offsets,
      credentials,
      onCleanerPasses: (message) => context.cleanerPassSink?.(message.topic, message.partition, message.passes),
      fetch: context.fetchPeer,
    });
  }

  private async rememberFollower(follower: KnownBroker): Promise<void> {
    await this.context.options.state.update((current) => {
      const followers = [...current.followers.filter((known) => known.id !== follower.id), follower].sort((a, b) => a.id - b.id);
      return { ...current, followers, replicas: Math.max(current.replicas ?? 0, 1 + followers.length) };
    });
  }

  /** Expired followers (follower-expiry.ts) leave replication.json; the replica count R stated so far stays. */
  private async forgetFollowers(ids: number[]): Promise<void> {
    await this.context.options.state.update((current) => ({
      ...current,
      followers: current.followers.filter((known) => !ids.includes(known.id)),
      replicas: Math.max(current.replicas ?? 0, 1 + current.followers.length),
    }));
  }

  /**
   * Another broker announces it leads (POST /api/v1/replication/leader): under
   * a newer epoch this broker follows it; the same announcement again is
   * fine; anything older is refused with stale_leader_epoch (409).
   */
  acceptLeader(announcement: { leaderId: number; leaderEpoch: number; address: string; clusterId: string }): Promise<{ role: ReplicaRole; leaderEpoch: number }> {
    const context = this.context;
    return context.enqueue(async () => {
      const { leaderEpoch, address, leaderId } = announcement;
      // The route refuses it first (400); an epoch past the maximum must never be persisted.
      if (!isLeaderEpoch(leaderEpoch)) throw invalidRequest(`leader epoch ${leaderEpoch} is not an integer from 0 to ${LEADER_EPOCH_MAX}`, { field: "leader_epoch" });
      await context.clusterIds.join(announcement.clusterId, `the announcing leader ${address}`);
      if (leaderEpoch > context.state.leaderEpoch) {
        await this.becomeFollower(address, leaderEpoch, leaderId);
      } else if (!(leaderEpoch === context.state.leaderEpoch && context.role === "follower" && context.state.leader === address)) {
        throw new GafkaError("stale_leader_epoch", `leader epoch ${leaderEpoch} is not newer than this broker's ${context.state.leaderEpoch}`, {
          details: {
            leader_epoch: context.state.leaderEpoch,
            leader: context.role === "leader" ? context.address : context.state.leader,
          },
        });
      }
      return { role: context.role, leaderEpoch: context.state.leaderEpoch };
    });
  }

  /** Stops leading (failing every write still waiting), persists whom it follows, and replicates from there. */
  private async becomeFollower(address: string, epoch: number, leaderId: number | null): Promise<void> {
    const context = this.context;
    if (context.stopped) return;
    const wasLeader = context.role === "leader";
    context.switchingTo = { address, epoch: Math.max(epoch, context.state.leaderEpoch), leaderId };
    context.role = "follower";
    context.fenced = false;
    context.term++;
    context.leader?.stop(context.notLeader());
    context.leader = undefined;
    await context.stopFetcher({ leaving: true });
    try {
      await context.options.state.update((current) => ({
        ...current,
        role: "follower",
        leaderEpoch: Math.max(epoch, current.leaderEpoch),
        leader: address,
        leaderId,
        toInform: [],
        // What the former leader said of itself says nothing of this one.
        leaderFacts: current.leader === address ? current.leaderFacts : null,
      }));
      context.switchingTo = undefined;
    } catch (error) {
      // Follow anyway (it must not lead); the leader's stream states the epoch again, and a
      // restart before that asks the peers, which name the new leader.
      context.logger.error(`could not persist the new leader ${address}: ${error instanceof Error ? error.message : error}; following it anyway`);
    }
    // Readers keep what they could see; the new leader's high watermark raises it.
    for (const log of context.logs()) log.resetHighWatermarkLimit(log.highWatermark);
    context.fetcher = this.newFetcher(address);
    context.fetcher.start();
    context.logger.warn(`${wasLeader ? "deposed: " : ""}following ${address} under leader epoch ${context.state.leaderEpoch}`);
  }

  /** Tells `address` that this broker leads; true when it follows now, or named a newer leader (which this broker then follows). */
  async announceOnce(address: string): Promise<boolean> {
    const context = this.context;
    const answer = await announceLeader(
      context.fetchPeer,
      address,
      { leaderId: context.options.config.brokerId, leaderEpoch: context.state.leaderEpoch, address: context.address, clusterId: context.clusterIds.clusterId! },
      PEER_TIMEOUT_MS,
    );
    if (answer?.accepted) {
      context.logger.info(`${address} follows this broker now`);
      await context.options.state.update((current) => ({ ...current, toInform: current.toInform.filter((each) => each !== address) }));
      return true;
    }
    if (answer?.leaderEpoch !== undefined && answer.leaderEpoch > context.state.leaderEpoch && typeof answer.leader === "string") {
      void context.enqueue(() => this.becomeFollower(answer.leader!, answer.leaderEpoch!, null));
      return true;
    }
    return false;
  }

  /** Tells every broker still to be told about this leadership, every second until each hears (or this broker stops leading). */
  private async announceUntilHeard(): Promise<void> {
    const context = this.context;
    try {
      while (!context.stopped && context.role === "leader" && context.state.toInform.length > 0) {
        await context.enqueue(async () => {
          if (context.role === "leader") await Promise.all(context.state.toInform.map((address) => this.announceOnce(address)));
        });
        await sleep(context.options.config.clock, ANNOUNCE_RETRY_MS);
      }
    } finally {
      this.announcing = undefined;
    }
  }
}

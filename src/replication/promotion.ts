import { GafkaError } from "../core/errors.ts";
import { LEADER_EPOCH_MAX } from "../core/limits.ts";
import { leaseExpiresAtMs } from "./lease-expiry.ts";
import { leaderPositions } from "./peer-client.ts";
import { judgePromotion, type LeaderPosition, type PartitionShortfall, type PromotionVerdict } from "./promotion-safety.ts";
import type { ReplicaContext } from "./replica-context.ts";
import type { RoleTransitions } from "./role-transitions.ts";

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

/** Longest a promotion asks the old leader for its positions: it never waits on an unreachable leader. */
const LEADER_QUERY_TIMEOUT_MS = 1000;
/** Longest a follower behind its reachable leader's high watermark catches up before a promotion gives up. */
const CATCH_UP_WAIT_MS = 5000;
const CATCH_UP_POLL_MS = 20;

/**
 * Failover: promote() makes a follower the leader under epoch + 1 (persisted,
 * and recorded as the start of that epoch in every partition's epoch cache),
 * then tells its former leader, which stops taking writes, fails every write
 * still waiting, cuts its log back to where the new epoch began and follows.
 * The safety check is promotion-safety.ts; the lease wait, lease-expiry.ts.
 */
export class Promotion {
  constructor(
    private readonly context: ReplicaContext,
    private readonly transitions: RoleTransitions,
  ) {}

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
    const context = this.context;
    return context.enqueue(async () => {
      if (context.role === "leader" && !context.fenced) {
        const why = "this broker leads already";
        return { changed: false, leaderEpoch: context.state.leaderEpoch, formerLeader: null, otherFollowers: [], clean: true, why, partitions: [], lease: { end: "was_leader", waitedMs: 0 } };
      }
      const epoch = this.nextEpoch();
      const wasFollower = context.role === "follower";
      const verdict: PromotionVerdict = wasFollower
        ? await this.judgeOwnPromotion(options.force === true)
        : { clean: true, basis: "caught_up_to_leader", shortfall: [] };
      if (!verdict.clean) context.logger.warn(`unclean promotion (forced): ${verdict.reason}`);
      const facts = context.state.leaderFacts ?? null;
      const formerLeader = wasFollower ? context.state.leader : null;
      // Its fellow followers (from the leader's metadata) and its former leader now follow it.
      const followers = [...context.state.followers];
      if (formerLeader !== null && context.state.leaderId !== null && !followers.some((f) => f.id === context.state.leaderId)) {
        followers.push({ id: context.state.leaderId, address: formerLeader });
      }
      const others = wasFollower ? context.state.followers.map((f) => f.address).filter((a) => a !== context.address && a !== formerLeader) : [];
      const toInform = [...new Set([...(formerLeader === null ? [] : [formerLeader]), ...others])];
      // The new epoch's start is durable in every partition before the first write under it.
      for (const log of context.logs()) log.leaderEpochs.assign(epoch, log.logEndOffset);
      await context.clusterIds.ensure();
      await context.options.state.update(() => ({ role: "leader", leaderEpoch: epoch, leader: null, leaderId: null, toInform, followers }));
      // Persisted, not yet acting (the role in memory is still follower: writes and group calls are refused).
      // The former leader first: one that hears stops leading at once, and nothing is waited for.
      const formerInformed = formerLeader === null ? false : await this.transitions.announceOnce(formerLeader);
      // Then the other followers: once one follows this broker it echoes nothing more to the old
      // leader, whose lease on its account runs out a lease period later.
      const informed = await Promise.all(others.map((address) => this.transitions.announceOnce(address)));
      const othersLeftMs = informed.some(Boolean) ? context.options.config.clock.monotonicMs() : 0;
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
      context.role = "leader";
      context.fenced = false;
      this.transitions.takeUpRole(new Map());
      context.logger.warn(
        `promoted to leader under epoch ${epoch} (${verdict.clean ? "clean" : "unclean, forced"}; old leader: ${end}` +
          (waitedMs > 0 ? ` after ${waitedMs} ms` : "") +
          ")" +
          (toInform.length > 0 ? `; telling ${toInform.join(", ")}` : ""),
      );
      return {
        changed: true,
        leaderEpoch: epoch,
        formerLeader: formerLeader === null ? null : { address: formerLeader, informed: formerInformed || !context.state.toInform.includes(formerLeader) },
        otherFollowers: others.map((address, i) => ({ address, informed: informed[i]! || !context.state.toInform.includes(address) })),
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
    const context = this.context;
    const leaderAddress = context.state.leader!;
    const epoch = context.state.leaderEpoch;
    let leaderNow = await leaderPositions(context.fetchPeer, leaderAddress, epoch, LEADER_QUERY_TIMEOUT_MS);
    if (leaderNow !== undefined && !force) await this.catchUpTo(leaderNow);
    // The old leader keeps waiting for this follower: no acks=all write is acknowledged without it.
    await context.stopFetcher({ leaving: false });
    // What the leader holds now that this follower stopped (a follower out of sync may have been passed meanwhile).
    if (leaderNow !== undefined) leaderNow = (await leaderPositions(context.fetchPeer, leaderAddress, epoch, LEADER_QUERY_TIMEOUT_MS)) ?? leaderNow;
    const verdict = judgePromotion({
      replicated: context.state.leaderId !== null,
      partitions: context.followerPartitions(),
      leader: context.state.leaderFacts ?? null,
      leaderNow,
    });
    if (verdict.clean || force) return verdict;
    context.fetcher = this.transitions.newFetcher(leaderAddress);
    context.fetcher.start();
    throw new GafkaError(
      "replica_not_in_sync",
      `broker ${context.options.config.brokerId} was not promoted: ${verdict.reason}. ` +
        (verdict.knownMissing || leaderNow !== undefined
          ? "Let it catch up (bring the leader back), or promote with force to accept the loss"
          : "Bring the leader back, or promote with force (an unclean election) to accept losing what only the leader held"),
      {
        details: {
          leader: leaderAddress,
          leader_reachable: leaderNow !== undefined,
          leader_last_heard_ms_ago: context.leaderLastHeardAgoMs(),
          min_insync_replicas: context.state.leaderFacts?.minInsyncReplicas ?? null,
          replicas: context.state.leaderFacts?.replicas ?? null,
          partitions: verdict.shortfall,
        },
      },
    );
  }

  /**
   * One past the highest epoch this broker knows (ReplicaContext.highestEpochKnown); refuses with
   * leader_epoch_exhausted (409) rather than pass LEADER_EPOCH_MAX, before anything is changed.
   */
  private nextEpoch(): number {
    const highest = this.context.highestEpochKnown();
    if (highest + 1 <= LEADER_EPOCH_MAX) return highest + 1;
    throw new GafkaError(
      "leader_epoch_exhausted",
      `broker ${this.context.options.config.brokerId} was not promoted: the highest leader epoch it knows is ${highest}, ` +
        `and a promote would pass the maximum ${LEADER_EPOCH_MAX}`,
      { details: { leader_epoch: this.context.state.leaderEpoch, highest_leader_epoch: highest, leader_epoch_max: LEADER_EPOCH_MAX } },
    );
  }

  /** Waits (bounded) until this follower holds the leader's high watermark in every partition. */
  private async catchUpTo(leaderNow: LeaderPosition[]): Promise<void> {
    const context = this.context;
    const clock = context.options.config.clock;
    const deadline = clock.monotonicMs() + CATCH_UP_WAIT_MS;
    const wanted = new Map(leaderNow.map((p) => [`${p.topic}-${p.partition}`, p.highWatermark]));
    const caughtUp = () =>
      context.followerPartitions().every((p) => p.logEndOffset >= (wanted.get(`${p.topic}-${p.partition}`) ?? 0));
    while (!caughtUp() && clock.monotonicMs() < deadline && !context.stopped) await context.sleep(CATCH_UP_POLL_MS);
  }

  /** Rule 2 of promote(): waits until the old leader's lease has surely lapsed; returns how long it waited. */
  private async waitOutLease(facts: { replicaLagMaxMs: number } | null, othersLeftMs: number): Promise<number> {
    const context = this.context;
    const clock = context.options.config.clock;
    const begin = clock.monotonicMs();
    const deadline = this.leaseExpiresAtMs(facts, othersLeftMs);
    if (deadline > begin) context.logger.warn(`waiting ${Math.ceil(deadline - begin)} ms for the old leader's lease to lapse (it was not reached)`);
    for (let now = begin; now < deadline && !context.stopped; now = clock.monotonicMs()) await context.sleep(Math.min(deadline - now, 250));
    return Math.max(0, Math.round(clock.monotonicMs() - begin));
  }

  /** `othersLeftMs`: when fellow followers (which may have kept the old leader's lease) were told to follow this broker. */
  private leaseExpiresAtMs(facts: { replicaLagMaxMs: number } | null, othersLeftMs = 0): number {
    const context = this.context;
    // The leader's own lease period when it said; never less than this broker's flag.
    const leasePeriodMs = Math.max(context.options.replication.replicaLagMaxMs, facts?.replicaLagMaxMs ?? 0);
    const lastLeaderMessageMs = Math.max(context.leaderLastHeardMs(), othersLeftMs);
    return leaseExpiresAtMs({ lastLeaderMessageMs, startedMs: context.startedMs, leasePeriodMs });
  }

  /** How long a promotion started now would wait for the old leader's lease if it cannot tell that leader (0 for a leader). */
  promotionLeaseWaitMs(): number {
    const context = this.context;
    if (context.role !== "follower") return 0;
    const facts = context.state.leaderFacts ?? null;
    if (facts !== null && facts.minInsyncReplicas < 2) return 0;
    return Math.max(0, Math.ceil(this.leaseExpiresAtMs(facts) - context.options.config.clock.monotonicMs()));
  }
}

function cleanWhy(basis: "caught_up_to_leader" | "needed_for_every_commit"): string {
  return basis === "caught_up_to_leader"
    ? "it holds the leader's high watermark, asked for just now, in every partition"
    : "the leader needs min.insync.replicas copies and has no more replicas than that: every record it made visible or acknowledged needed this follower's durable copy";
}

import type { LeaderFacts } from "./replication-state.ts";

/** One partition of the follower asking to be promoted. */
export interface FollowerPartition {
  topic: string;
  partition: number;
  /** One past the last offset this follower holds. */
  logEndOffset: number;
  /** The high watermark the leader last sent (a lower bound of the leader's: it may have moved on since). */
  lastHighWatermark: number | undefined;
}

/** The leader's answer, asked for just now (GET /api/v1/replication/status, short timeout). */
export interface LeaderPosition {
  topic: string;
  partition: number;
  highWatermark: number;
  logEndOffset: number;
}

export interface PromotionFacts {
  /** The follower has replicated from this leader at least once (it knows the leader's id). */
  replicated: boolean;
  partitions: FollowerPartition[];
  /** The leader's N, R and lease period as last stated on the stream; null when never heard. */
  leader: LeaderFacts | null;
  /** The leader's positions now; undefined when it did not answer in time (partitioned, stopped, dead). */
  leaderNow: LeaderPosition[] | undefined;
}

/** Per partition, what promoting this follower may give up. */
export interface PartitionShortfall {
  topic: string;
  partition: number;
  log_end_offset: number;
  /** The leader's high watermark now (leader reachable) or the last one it sent (not reachable). */
  high_watermark: number | null;
  /** Whether high_watermark is the leader's answer now or only the last one it sent. */
  high_watermark_source: "leader" | "last_sent";
  /** The leader's log end, when it answered: what the old leader loses of its own log with force. */
  leader_log_end_offset: number | null;
  /** Records visible or acknowledged on the leader that this follower lacks, at least (0 when none known). */
  missing_at_least: number;
}

export type PromotionVerdict =
  | {
      clean: true;
      /** Why the follower holds everything the leader could have made visible or acknowledged. */
      basis: "caught_up_to_leader" | "needed_for_every_commit";
      shortfall: PartitionShortfall[];
    }
  | {
      clean: false;
      /** Why it cannot be shown to hold everything; said to the operator. */
      reason: string;
      /** Whether some records are known to be missing (else: nothing can be known). */
      knownMissing: boolean;
      shortfall: PartitionShortfall[];
    };

/**
 * Whether promoting a follower is a clean election: it holds everything the
 * old leader could have made visible or acknowledged with acks=all, i.e. up
 * to the leader's high watermark (docs/operations.md "Promotion").
 *
 * - The leader answered: the follower must hold its high watermark now
 *   (the caller lets it catch up first).
 * - The leader did not answer: the last high watermark it sent proves
 *   nothing (it may have moved on without this follower), except by
 *   construction. The high watermark never passes what N replicas hold
 *   durably (rule 1), so when the leader has R <= N replicas, each of its
 *   advances needed this follower's durable copy, whether or not the
 *   follower was in sync; with N = 1, or more replicas than N, it may have
 *   advanced without it, and nothing here can tell how far.
 */
export function judgePromotion(facts: PromotionFacts): PromotionVerdict {
  const now = facts.leaderNow === undefined ? undefined : new Map(facts.leaderNow.map((p) => [`${p.topic}\u0000${p.partition}`, p]));
  const shortfall = facts.partitions.map((mine): PartitionShortfall => {
    const theirs = now?.get(`${mine.topic}\u0000${mine.partition}`);
    const highWatermark = theirs?.highWatermark ?? mine.lastHighWatermark ?? null;
    return {
      topic: mine.topic,
      partition: mine.partition,
      log_end_offset: mine.logEndOffset,
      high_watermark: highWatermark,
      high_watermark_source: theirs === undefined ? "last_sent" : "leader",
      leader_log_end_offset: theirs?.logEndOffset ?? null,
      missing_at_least: Math.max(0, (highWatermark ?? 0) - mine.logEndOffset),
    };
  });
  const knownMissing = shortfall.some((p) => p.missing_at_least > 0);
  if (!facts.replicated) {
    return { clean: false, knownMissing, shortfall, reason: "it has never replicated from its leader; promoting it would lose everything the leader held" };
  }
  if (knownMissing) {
    const behind = shortfall.filter((p) => p.missing_at_least > 0);
    const first = behind[0]!;
    const source = first.high_watermark_source === "leader" ? "the leader's high watermark" : "the last high watermark the leader sent";
    return {
      clean: false,
      knownMissing,
      shortfall,
      reason:
        `it lacks records its leader had made visible (${behind.length} partition(s), ${behind.reduce((sum, p) => sum + p.missing_at_least, 0)} record(s) at least; ` +
        `e.g. ${first.topic}-${first.partition} ends at ${first.log_end_offset}, below ${source} ${first.high_watermark})`,
    };
  }
  if (facts.leaderNow !== undefined) return { clean: true, basis: "caught_up_to_leader", shortfall };
  const leader = facts.leader;
  if (leader === null) {
    return { clean: false, knownMissing, shortfall, reason: "the leader cannot be reached and never stated its min.insync.replicas: what it made visible since it was last heard is unknown" };
  }
  if (leader.minInsyncReplicas >= 2 && leader.replicas <= leader.minInsyncReplicas) {
    return { clean: true, basis: "needed_for_every_commit", shortfall };
  }
  const why =
    leader.minInsyncReplicas < 2
      ? `with min.insync.replicas=${leader.minInsyncReplicas} the leader may have made records visible and acknowledged them without this follower`
      : `the leader has ${leader.replicas} replicas and needs ${leader.minInsyncReplicas}: it may have made records visible with copies on the others only`;
  return {
    clean: false,
    knownMissing,
    shortfall,
    reason: `the leader cannot be reached, and ${why} since it was last heard; how many cannot be known here`,
  };
}

import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { FollowerReplica } from "./follower-replica.ts";
import type { LeaderLease } from "./leader-lease.ts";

export interface FollowerExpiryRules {
  /** --follower-expiry: how long a follower may go unheard (no stream, no ack) before it is dropped. */
  expiryMs: number;
  /** --replica-lag-max: the in-sync window and the lease period. */
  replicaLagMaxMs: number;
  lease: LeaderLease;
}

/**
 * Whether the leader may drop `follower` from its followers (and replication.json) now, freeing
 * its slot (limits.followersMax). Only a follower that counts for nothing may go, so an expiry
 * never changes a high watermark, an acks=all or group-commit quorum, or the lease:
 *
 * - no open stream, and nothing heard (stream, ack) for --follower-expiry, and for at least
 *   --replica-lag-max (so the offsets quorum no longer counts it either);
 * - in no partition's in-sync set, and caught up nowhere within --replica-lag-max (a follower
 *   that caught up recently holds the high watermark back until it joins: not dropped then);
 * - not renewing the lease.
 *
 * The replica count R the leader states to its followers is not lowered by an expiry
 * (LeaderReplicator.replicasStated): the high watermark may have advanced with copies on the
 * expired follower, and R <= N is what a follower's promotion relies on to call itself complete.
 */
export function mayExpire(follower: FollowerReplica, nowMs: number, rules: FollowerExpiryRules): boolean {
  if (follower.session !== undefined) return false;
  if (nowMs - follower.lastContactMs < Math.max(rules.expiryMs, rules.replicaLagMaxMs)) return false;
  if (rules.lease.isCurrent(follower.id, nowMs)) return false;
  for (const replica of follower.partitions.values()) {
    if (replica.inSync || nowMs - replica.lastCaughtUpMs <= rules.replicaLagMaxMs) return false;
  }
  return true;
}

/** A new follower finds every slot taken by followers that may not expire yet: retriable 429. */
export function followersFull(expiryMs: number): GafkaError {
  return new GafkaError(
    "too_many_requests",
    `this leader has ${limits.followersMax} followers, the most it keeps, each heard from within --follower-expiry ` +
      `(${expiryMs} ms) or still counted in an in-sync set or the lease; retry once one expires`,
    { retriable: true, details: { followers_max: limits.followersMax, follower_expiry_ms: expiryMs } },
  );
}

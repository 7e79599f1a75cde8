/** The leader's lease as GET /api/v1/replication/status reports it. */
export interface LeaseStatus {
  held: boolean;
  periodMs: number;
  /** Followers whose last echo is within the lease period. */
  followersHeard: number;
  /** Followers needed: min.insync.replicas - 1. */
  followersNeeded: number;
  /** Until the lease ends unless someone is heard again; null with N = 1 (always held), 0 once ended. */
  remainingMs: number | null;
}

/**
 * The leader's lease (issue 13, rule 4): the leader acts as leader — advances
 * high watermarks, acknowledges acks=all writes, answers group coordination —
 * only while it has heard, within the lease period, from enough followers to
 * meet min.insync.replicas (N - 1 followers; the leader is the N-th).
 *
 * "Heard from" counts only an echo: a follower's ack carrying the `sent_at`
 * stamp of a stream message the leader sent (stream-codec.ts). An echo proves
 * both directions worked, and a renewal runs from the echoed SEND time, not
 * from when the ack arrived: a follower that has received nothing from the
 * leader for the lease period (plus a margin for clock rate) therefore knows
 * the leader's lease has ended, whatever the network did to the acks.
 *
 * Times are the leader's monotonic clock (ms). With N = 1 the lease is always
 * held: the leader alone meets N.
 */
export class LeaderLease {
  /** Per follower id: the newest send time it echoed. */
  private readonly renewedAtMs = new Map<number, number>();

  constructor(
    /** The lease period: --replica-lag-max. */
    readonly periodMs: number,
    /** min.insync.replicas, the leader included. */
    readonly minInsyncReplicas: number,
  ) {}

  /** A follower echoed `sentAtMs`; an echo from the future (a foreign clock) is not trusted past `nowMs`. */
  renew(followerId: number, sentAtMs: number, nowMs: number): void {
    if (!Number.isFinite(sentAtMs)) return;
    const at = Math.min(sentAtMs, nowMs);
    if (at > (this.renewedAtMs.get(followerId) ?? -Infinity)) this.renewedAtMs.set(followerId, at);
  }

  /** The follower left (clean shutdown) or is gone: it no longer counts. */
  forget(followerId: number): void {
    this.renewedAtMs.delete(followerId);
  }

  /** The newest send time `followerId` echoed, or undefined when it has not (since it last left). */
  renewedAt(followerId: number): number | undefined {
    return this.renewedAtMs.get(followerId);
  }

  /** Whether the follower's last echo is within the lease period. */
  isCurrent(followerId: number, nowMs: number): boolean {
    const at = this.renewedAtMs.get(followerId);
    return at !== undefined && nowMs - at <= this.periodMs;
  }

  /** Followers whose echo is within the lease period. */
  currentFollowers(nowMs: number): number {
    let count = 0;
    for (const id of this.renewedAtMs.keys()) if (this.isCurrent(id, nowMs)) count++;
    return count;
  }

  held(nowMs: number): boolean {
    return this.minInsyncReplicas <= 1 || this.currentFollowers(nowMs) >= this.minInsyncReplicas - 1;
  }

  /**
   * When the lease ends if nobody is heard again: the (N-1)-th newest echo
   * plus the period. Infinity with N = 1; -Infinity when too few followers
   * ever echoed.
   */
  expiresAtMs(): number {
    const needed = this.minInsyncReplicas - 1;
    if (needed <= 0) return Infinity;
    const newestFirst = [...this.renewedAtMs.values()].sort((a, b) => b - a);
    return newestFirst.length < needed ? -Infinity : newestFirst[needed - 1]! + this.periodMs;
  }

  status(nowMs: number): LeaseStatus {
    const expiresAtMs = this.expiresAtMs();
    return {
      held: this.held(nowMs),
      periodMs: this.periodMs,
      followersHeard: this.currentFollowers(nowMs),
      followersNeeded: Math.max(0, this.minInsyncReplicas - 1),
      remainingMs: expiresAtMs === Infinity ? null : Math.max(0, Math.round(expiresAtMs - nowMs)),
    };
  }
}

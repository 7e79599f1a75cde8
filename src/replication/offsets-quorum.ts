import { GafkaError } from "../core/errors.ts";

/**
 * The leader's count of copies of its committed group offsets (issue 13,
 * rule 3: commits are replicated like records). Positions in the offsets
 * stream are the leader's offset-store write sequences (OffsetStore): the
 * leader holds a write once it is fdatasync'ed, a follower once it reports
 * the sequence back after making it durable (its snapshot, then each later
 * write, in order). A write is acknowledged once minInsyncReplicas replicas
 * (the leader included) hold it; waiters are acks=all's, for commits.
 *
 * A follower can still supply a copy while it has reported every offsets
 * message sent to it more than replicaLagMaxMs ago and its stream has not
 * been down for longer than that (the partitions' lag rule, for this
 * stream); one that leaves cleanly stops counting at once. A wait fails with
 * not_enough_replicas_after_append as soon as too few such followers remain,
 * and at the latest replicaLagMaxMs after it began: the commit is stored on
 * the leader, not acknowledged. Time is passed in (monotonic ms), so a test
 * drives it.
 */
export interface OffsetsQuorumOptions {
  minInsyncReplicas: number;
  replicaLagMaxMs: number;
}

interface FollowerCopy {
  /** The sequence the follower holds durably in its current stream; 0 until it reports one. */
  heldSequence: number;
  /** Offsets messages not yet reported, oldest first (a new stream keeps the oldest one's time). */
  unreported: { sequence: number; sentAtMs: number }[];
  /** When its stream ended; undefined while it has one. */
  streamEndedAtMs: number | undefined;
}

interface Waiter {
  sequence: number;
  deadlineMs: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Unreported messages remembered per follower; a follower this far behind is out of sync anyway. */
const UNREPORTED_KEPT_MAX = 1024;

export class OffsetsQuorum {
  private leaderSequence = 0;
  private acknowledgedSequence = 0;
  /** Followers that had a stream under this leadership and did not leave. */
  private readonly followers = new Map<number, FollowerCopy>();
  private waiters: Waiter[] = [];
  private stoppedBy: unknown;

  constructor(private readonly options: OffsetsQuorumOptions) {}

  /** The last sequence minInsyncReplicas replicas hold. */
  get acknowledged(): number {
    return this.acknowledgedSequence;
  }

  /** The leader holds its writes through `sequence` durably. */
  leaderHolds(sequence: number): void {
    this.leaderSequence = Math.max(this.leaderSequence, sequence);
    this.advance();
  }

  /** A follower's new stream began with a snapshot covering writes through `sequence`. */
  streamStarted(followerId: number, sequence: number, nowMs: number): void {
    // Reconnecting does not make a follower that stopped reporting younger.
    const sentAtMs = Math.min(nowMs, this.followers.get(followerId)?.unreported[0]?.sentAtMs ?? nowMs);
    this.followers.set(followerId, { heldSequence: 0, unreported: [{ sequence, sentAtMs }], streamEndedAtMs: undefined });
  }

  /** Its stream ended: what it reported no longer counts (a new stream reports again from its snapshot). */
  streamEnded(followerId: number, nowMs: number): void {
    const follower = this.followers.get(followerId);
    if (follower === undefined) return;
    follower.heldSequence = 0;
    follower.streamEndedAtMs ??= nowMs;
  }

  /** It shut down cleanly: it supplies no copy until it has a stream again. */
  left(followerId: number, nowMs: number): void {
    this.followers.delete(followerId);
    if (this.waiters.length > 0 && !this.canMeet(nowMs)) this.failAll(nowMs);
  }

  /** An offsets message ending at `sequence` went out on the follower's stream. */
  sent(followerId: number, sequence: number, nowMs: number): void {
    const follower = this.followers.get(followerId);
    if (follower === undefined) return;
    follower.unreported.push({ sequence, sentAtMs: nowMs });
    if (follower.unreported.length > UNREPORTED_KEPT_MAX) follower.unreported.shift();
  }

  /** The follower holds the offsets stream through `sequence` durably (its ack). */
  reported(followerId: number, sequence: number): void {
    const follower = this.followers.get(followerId);
    if (follower === undefined || follower.streamEndedAtMs !== undefined) return;
    while (follower.unreported.length > 0 && follower.unreported[0]!.sequence <= sequence) follower.unreported.shift();
    if (sequence <= follower.heldSequence) return;
    follower.heldSequence = sequence;
    this.advance();
  }

  /** Throws not_enough_replicas (503, nothing written) when fewer than minInsyncReplicas replicas could hold a commit now. */
  admit(nowMs: number): void {
    if (this.canMeet(nowMs)) return;
    const inSync = this.replicasInSync(nowMs);
    throw new GafkaError(
      "not_enough_replicas",
      `only ${inSync} replica(s) could hold the commit, fewer than --min-insync-replicas ${this.options.minInsyncReplicas}; nothing was committed`,
      { retriable: true, details: { in_sync_replicas: inSync, min_insync_replicas: this.options.minInsyncReplicas } },
    );
  }

  /** Whether enough replicas (the leader included) can hold a write now. */
  canMeet(nowMs: number): boolean {
    return this.replicasInSync(nowMs) >= this.options.minInsyncReplicas;
  }

  replicasInSync(nowMs: number): number {
    let count = 1;
    const lagMaxMs = this.options.replicaLagMaxMs;
    for (const follower of this.followers.values()) {
      const oldest = follower.unreported[0];
      const reporting = oldest === undefined || nowMs - oldest.sentAtMs <= lagMaxMs;
      const connected = follower.streamEndedAtMs === undefined || nowMs - follower.streamEndedAtMs <= lagMaxMs;
      if (reporting && connected) count++;
    }
    return count;
  }

  /**
   * Resolves once minInsyncReplicas replicas hold the writes through
   * `sequence`; rejects with not_enough_replicas_after_append when too few
   * replicas can still hold it or replicaLagMaxMs passes, or with the stop
   * reason when this broker stops leading.
   */
  waitFor(sequence: number, nowMs: number): Promise<void> {
    if (this.stoppedBy !== undefined) return Promise.reject(this.stoppedBy);
    if (sequence <= this.acknowledgedSequence) return Promise.resolve();
    if (!this.canMeet(nowMs)) return Promise.reject(this.notEnough(nowMs));
    return new Promise((resolve, reject) => this.waiters.push({ sequence, deadlineMs: nowMs + this.options.replicaLagMaxMs, resolve, reject }));
  }

  /** Called periodically: fails the waits that can no longer be met or waited too long. */
  tick(nowMs: number): void {
    if (this.waiters.length === 0) return;
    if (!this.canMeet(nowMs)) {
      this.failAll(nowMs);
      return;
    }
    const expired = this.waiters.filter((waiter) => waiter.deadlineMs < nowMs);
    if (expired.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.deadlineMs >= nowMs);
    for (const waiter of expired) waiter.reject(this.notEnough(nowMs));
  }

  /** This broker stops leading: every wait fails with `reason`, and so does every later one. */
  stop(reason: unknown): void {
    this.stoppedBy = reason;
    for (const waiter of this.waiters.splice(0)) waiter.reject(reason);
  }

  private advance(): void {
    // The leader's copy and the best minInsyncReplicas - 1 of the followers' (a follower may hold
    // more than the leader: a snapshot carries writes the leader has not fsynced yet).
    const followersNeeded = this.options.minInsyncReplicas - 1;
    const held = [...this.followers.values()].map((follower) => follower.heldSequence).sort((a, b) => b - a);
    const followersHold = followersNeeded <= 0 ? Number.POSITIVE_INFINITY : held[followersNeeded - 1];
    if (followersHold === undefined) return;
    const quorum = Math.min(this.leaderSequence, followersHold);
    if (quorum <= this.acknowledgedSequence) return;
    this.acknowledgedSequence = quorum;
    const waiting: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.sequence <= quorum) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  private failAll(nowMs: number): void {
    const error = this.notEnough(nowMs);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private notEnough(nowMs: number): GafkaError {
    const inSync = this.replicasInSync(nowMs);
    return new GafkaError(
      "not_enough_replicas_after_append",
      `the commit is stored on the leader but fewer than --min-insync-replicas ${this.options.minInsyncReplicas} replicas hold it ` +
        `(${inSync} in sync; a follower that has not confirmed within --replica-lag-max ${this.options.replicaLagMaxMs} ms does not count); it is not acknowledged`,
      { retriable: true, details: { in_sync_replicas: inSync, min_insync_replicas: this.options.minInsyncReplicas } },
    );
  }
}

import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { FollowerReplica } from "./follower-replica.ts";
import { checkpointKey, type PartitionCheckpoint } from "./high-watermark-checkpoint.ts";
import { failWaiters, failWaitersNeedingMore, type LeaderPartition, resolveWaiters } from "./leader-partition.ts";
import type { LeaderLease } from "./leader-lease.ts";

export interface InSyncSetOptions {
  /** The leader's partitions and followers, owned (added to, removed from) by the LeaderReplicator. */
  partitions: ReadonlyMap<string, LeaderPartition>;
  followers: ReadonlyMap<number, FollowerReplica>;
  lease: LeaderLease;
  clock: Clock;
  logger: Logger;
  replicaLagMaxMs: number;
  minInsyncReplicas: number;
}

/**
 * The in-sync set of each partition and the high watermark it allows, by the
 * rules of the LeaderReplicator's class comment (Kafka's replica.lag.time.max.ms
 * and issue 13's commit rule). It reads the followers' positions and changes
 * only their `inSync` flags, the logs' high watermarks and the acks=all waits.
 */
export class InSyncSet {
  constructor(private readonly options: InSyncSetOptions) {}

  /**
   * At start-up: followers in sync at the last checkpoint stay so, at its high
   * watermark, until they catch up or time out; with N >= 2 each high
   * watermark goes back to what N replicas held then.
   */
  restore(checkpoint: ReadonlyMap<string, PartitionCheckpoint>, now: number): void {
    for (const [key, saved] of checkpoint) {
      const leaderPartition = this.options.partitions.get(key);
      if (leaderPartition === undefined) continue;
      // Restarted with N >= 2: what was visible is what N replicas held at the checkpoint, not this log's end.
      if (this.options.minInsyncReplicas >= 2) {
        leaderPartition.log.resetHighWatermarkLimit(Math.min(saved.highWatermark, leaderPartition.log.durableEndOffset));
      }
      // Followers in sync at the last checkpoint stay so, at its high watermark, until they catch up or time out.
      for (const id of saved.inSync) {
        const replica = this.options.followers.get(id)?.partitions.get(key);
        if (replica === undefined) continue;
        Object.assign(replica, { ackedOffset: saved.highWatermark, lastCaughtUpMs: now, inSync: true });
      }
      this.recompute(leaderPartition, true);
    }
  }

  /** Moves followers in and out of the partition's in-sync set, then recomputes its high watermark. */
  evaluate(leaderPartition: LeaderPartition, now: number): void {
    const key = checkpointKey(leaderPartition.topic, leaderPartition.partition);
    for (const follower of this.options.followers.values()) {
      const replica = follower.partitions.get(key);
      if (replica === undefined) continue;
      const recent = now - replica.lastCaughtUpMs <= this.options.replicaLagMaxMs;
      if (replica.inSync && !recent) {
        replica.inSync = false;
        this.options.logger.warn(`follower ${follower.id} fell out of sync for ${key} (no catch-up for ${this.options.replicaLagMaxMs} ms)`);
      } else if (!replica.inSync && recent && replica.ackedOffset >= leaderPartition.log.highWatermark) {
        replica.inSync = true;
        this.options.logger.info(`follower ${follower.id} is in sync for ${key}`);
      }
    }
    this.recompute(leaderPartition, false, now);
  }

  /**
   * Sets the partition's high watermark under the commit rule (see the
   * LeaderReplicator's class comment), then settles acks=all waits: those it
   * reached succeed; with fewer than N replicas in sync the rest fail, as
   * their copies may never come.
   */
  recompute(leaderPartition: LeaderPartition, reset: boolean, now = this.options.clock.monotonicMs()): void {
    const key = checkpointKey(leaderPartition.topic, leaderPartition.partition);
    const log = leaderPartition.log;
    let limit: number | undefined;
    let inSyncReplicas = 1;
    for (const follower of this.options.followers.values()) {
      const replica = follower.partitions.get(key);
      if (replica === undefined) continue;
      if (replica.inSync) inSyncReplicas++;
      // A follower that caught up recently but has not joined yet holds the high watermark back until it does.
      const counted = replica.inSync || now - replica.lastCaughtUpMs <= this.options.replicaLagMaxMs;
      if (counted) limit = limit === undefined ? replica.ackedOffset : Math.min(limit, replica.ackedOffset);
    }
    const mayAdvance = inSyncReplicas >= this.options.minInsyncReplicas && this.options.lease.held(now);
    // Held where it is (never past what N replicas hold): only a start-up from a checkpoint may lower it.
    if (!mayAdvance) limit = Math.min(limit ?? Infinity, log.highWatermark);
    const before = log.highWatermark;
    if (reset && limit !== undefined && limit < before) {
      // Only at start-up from a checkpoint: hold the high watermark where the in-sync set was known to be.
      log.resetHighWatermarkLimit(limit);
    } else {
      log.setHighWatermarkLimit(limit);
    }
    if (log.highWatermark !== before) {
      resolveWaiters(leaderPartition);
      for (const follower of this.options.followers.values()) follower.session?.wake();
    }
    if (inSyncReplicas < this.options.minInsyncReplicas) failWaiters(leaderPartition, inSyncReplicas, this.options.minInsyncReplicas);
    else failWaitersNeedingMore(leaderPartition, inSyncReplicas);
  }

  /** In-sync followers of the partition (the leader itself not counted). */
  followersInSync(leaderPartition: LeaderPartition): number {
    const key = checkpointKey(leaderPartition.topic, leaderPartition.partition);
    let count = 0;
    for (const follower of this.options.followers.values()) if (follower.partitions.get(key)?.inSync) count++;
    return count;
  }

  /** Every partition's high watermark and who is in sync for it (replication-offset-checkpoint). */
  checkpoint(): PartitionCheckpoint[] {
    return [...this.options.partitions.entries()].map(([key, leaderPartition]) => ({
      topic: leaderPartition.topic,
      partition: leaderPartition.partition,
      highWatermark: leaderPartition.log.highWatermark,
      inSync: [...this.options.followers.values()].filter((follower) => follower.partitions.get(key)?.inSync).map((follower) => follower.id),
    }));
  }
}

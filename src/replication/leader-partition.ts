import { GafkaError } from "../core/errors.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";

/** An acks=all write waiting for the high watermark to reach its end. */
interface AckWaiter {
  endOffset: number;
  /** The write's topic's min.insync.replicas (at least the leader's): fewer in sync fails it. */
  minInsyncReplicas: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A partition as its leader replicates it: its log and the acks=all writes waiting on it. */
export interface LeaderPartition {
  topic: string;
  partition: number;
  topicCreatedAtMs: number;
  log: PartitionLogApi;
  waiters: AckWaiter[];
}

/** Resolves once the partition's high watermark reaches `endOffset` (at once when it has). */
export function waitForHighWatermark(leaderPartition: LeaderPartition, endOffset: number, minInsyncReplicas: number): Promise<void> {
  if (leaderPartition.log.highWatermark >= endOffset) return Promise.resolve();
  return new Promise((resolve, reject) => leaderPartition.waiters.push({ endOffset, minInsyncReplicas, resolve, reject }));
}

/** Settles the waits the high watermark has reached. */
export function resolveWaiters(leaderPartition: LeaderPartition): void {
  if (leaderPartition.waiters.length === 0) return;
  const highWatermark = leaderPartition.log.highWatermark;
  const waiting: AckWaiter[] = [];
  for (const waiter of leaderPartition.waiters) {
    if (waiter.endOffset <= highWatermark) waiter.resolve();
    else waiting.push(waiter);
  }
  leaderPartition.waiters = waiting;
}

/** Fails every wait with `reason`. */
export function rejectWaiters(leaderPartition: LeaderPartition, reason: unknown): void {
  for (const waiter of leaderPartition.waiters.splice(0)) waiter.reject(reason);
}

/**
 * An acks=all write refused before its append (503, retriable): fewer than N
 * replicas are in sync, and nothing was written, so a retry stores it once.
 */
export function notEnoughReplicas(inSyncReplicas: number, minInsyncReplicas: number): GafkaError {
  return new GafkaError(
    "not_enough_replicas",
    `only ${inSyncReplicas} replica(s) are in sync, fewer than min.insync.replicas ${minInsyncReplicas}; nothing was written`,
    { retriable: true, details: { in_sync_replicas: inSyncReplicas, min_insync_replicas: minInsyncReplicas } },
  );
}

/** An acks=all write appended but left with fewer than N replicas in sync (503, retriable): stored on the leader, not acknowledged. */
export function notEnoughReplicasAfterAppend(inSyncReplicas: number, minInsyncReplicas: number): GafkaError {
  return new GafkaError(
    "not_enough_replicas_after_append",
    `the in-sync set is down to ${inSyncReplicas} replica(s), fewer than min.insync.replicas ${minInsyncReplicas}, ` +
      "after the write was appended: it is stored on the leader but not replicated, and not acknowledged (a retry may store it twice)",
    { retriable: true, details: { in_sync_replicas: inSyncReplicas, min_insync_replicas: minInsyncReplicas } },
  );
}

/** acks=all waits that can no longer be met: the records stay stored on the leader, unacknowledged. */
export function failWaiters(leaderPartition: LeaderPartition, inSyncReplicas: number, minInsyncReplicas: number): void {
  if (leaderPartition.waiters.length === 0) return;
  rejectWaiters(leaderPartition, notEnoughReplicasAfterAppend(inSyncReplicas, minInsyncReplicas));
}

/** Fails the waits whose topic needs more than `inSyncReplicas` (a topic's min.insync.replicas above the leader's). */
export function failWaitersNeedingMore(leaderPartition: LeaderPartition, inSyncReplicas: number): void {
  if (leaderPartition.waiters.length === 0) return;
  const waiting: AckWaiter[] = [];
  for (const waiter of leaderPartition.waiters) {
    if (waiter.minInsyncReplicas > inSyncReplicas) waiter.reject(notEnoughReplicasAfterAppend(inSyncReplicas, waiter.minInsyncReplicas));
    else waiting.push(waiter);
  }
  leaderPartition.waiters = waiting;
}

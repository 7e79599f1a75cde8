import type { Clock, Timer } from "../core/clock.ts";
import { GafkaError, invalidRequest } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { SecuritySnapshot } from "../security/security-snapshot.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { type FollowerReplica, type FollowerStatus, followerStatus, NEVER, newFollowerReplica } from "./follower-replica.ts";
import { checkpointKey, type PartitionCheckpoint } from "./high-watermark-checkpoint.ts";
import { followersFull, mayExpire } from "./follower-expiry.ts";
import { InSyncSet } from "./in-sync-set.ts";
import { type LeaderPartition, notEnoughReplicas, notEnoughReplicasAfterAppend, rejectWaiters, resolveWaiters, waitForHighWatermark } from "./leader-partition.ts";
import { LeaderLease, type LeaseStatus } from "./leader-lease.ts";
import { leaderMetadata } from "./leader-metadata.ts";
import { OffsetsQuorum } from "./offsets-quorum.ts";
import type { ReplicatedOffset, StreamMessage, TopicInfo } from "./stream-codec.ts";
import { newSessionId } from "./session-id.ts";
import { type SessionSource, StreamSession } from "./stream-session.ts";
import { fromFirstSegment, type StreamStart, streamStart } from "./truncation.ts";
import type { AckReport, StreamRequest } from "./follower-requests.ts";
import type { LeaderReplicatorOptions } from "./leader-replicator-options.ts";

export type { FollowerStatus } from "./follower-replica.ts";
export type { AckReport, StreamRequest } from "./follower-requests.ts";
export type { LeaseStatus } from "./leader-lease.ts";
export type { LeaderReplicatorOptions } from "./leader-replicator-options.ts";

const SENT_KEPT_MAX = 1024;
/** A stream that had to leave out an unreadable partition ends after this long, so the follower starts over with it. */
const POSTPONED_RETRY_MS = 2000;

/**
 * The leader's side of replication: the followers' streams, their durable
 * positions, the in-sync set, the lease and the high watermark of every
 * partition.
 *
 * In sync (Kafka's rule, replica.lag.time.max.ms = replicaLagMaxMs): a
 * follower is caught up as of a time T when it has acknowledged an offset at
 * or past the leader's durable end as of T, T being the send time of
 * something it has since acknowledged or echoed (lastCaughtUpMs). It is
 * in sync while T is within replicaLagMaxMs; it joins once T is recent and
 * it holds the high watermark. The high watermark waits for a follower that
 * caught up recently but has not joined yet (as Kafka's does), so a follower
 * close behind rejoins instead of chasing a high watermark that runs on.
 *
 * Commit rule (issue 13, rule 1): with N = minInsyncReplicas, the high
 * watermark — what readers see, what acks=all acknowledges — is the least
 * durable position among the leader and its in-sync followers, and it moves
 * only while at least N replicas (the leader included) are in sync and the
 * lease (leader-lease.ts) is held. The in-sync set may shrink below N, so
 * acks=1 goes on, but then nothing more becomes visible: the high watermark
 * never passes what N replicas hold durably. It never goes back. An acks=all
 * write waiting when the in-sync set drops below N fails with
 * not_enough_replicas_after_append: stored on the leader, not acknowledged.
 */
export class LeaderReplicator implements SessionSource {
  readonly leaderEpoch: number;
  readonly logger: Logger;
  private readonly partitions = new Map<string, LeaderPartition>();
  private readonly byLog = new Map<PartitionLogApi, LeaderPartition>();
  private readonly followers = new Map<number, FollowerReplica>();
  /** Copies of the committed group offsets, for commits under min.insync.replicas. */
  private readonly offsetsQuorum: OffsetsQuorum;
  private tickTimer: Timer | undefined;
  private stopped = false;
  readonly heartbeatIntervalMs: number;
  readonly clock: Clock;
  private readonly lease: LeaderLease;
  /** The lease as last evaluated: a change is logged, and regaining it lets high watermarks move again. */
  private leaseWasHeld: boolean;
  private readonly inSync: InSyncSet;
  /**
   * R, stated to followers in the metadata: the leader plus the most followers it has had at once
   * under this leadership, expired ones included. Never lowered (follower-expiry.ts says why).
   */
  private replicasStated: number;

  constructor(private readonly options: LeaderReplicatorOptions) {
    this.leaderEpoch = options.leaderEpoch;
    this.logger = options.logger;
    this.clock = options.clock;
    this.offsetsQuorum = new OffsetsQuorum({ minInsyncReplicas: options.minInsyncReplicas, replicaLagMaxMs: options.replicaLagMaxMs });
    // Several heartbeats per lease period, so an idle follower renews the lease well before it ends.
    this.heartbeatIntervalMs = Math.max(10, Math.min(1000, Math.floor(options.replicaLagMaxMs / 4)));
    this.lease = new LeaderLease(options.replicaLagMaxMs, options.minInsyncReplicas);
    this.leaseWasHeld = this.lease.held(options.clock.monotonicMs());
    this.inSync = new InSyncSet({
      partitions: this.partitions,
      followers: this.followers,
      lease: this.lease,
      clock: options.clock,
      logger: options.logger,
      replicaLagMaxMs: options.replicaLagMaxMs,
      minInsyncReplicas: options.minInsyncReplicas,
    });
    const now = options.clock.monotonicMs();
    for (const known of options.knownFollowers) {
      // Not heard from yet: in sync only where the checkpoint says so; a whole --follower-expiry to come back.
      this.followers.set(known.id, newFollowerReplica(known.id, known.address, now));
    }
    this.replicasStated = Math.max(options.replicasStated ?? 0, 1 + this.followers.size);
    this.refreshPartitions();
    this.inSync.restore(options.checkpoint, now);
    const tickMs = Math.max(20, Math.min(250, Math.floor(options.replicaLagMaxMs / 4)));
    this.tickTimer = options.clock.setInterval(() => this.tick(), tickMs);
  }

  // ---------------------------------------------------------------- partitions

  /** Picks up created and deleted topics; acks=all waits on a deleted one fail. */
  refreshPartitions(): void {
    const seen = new Set<string>();
    const now = this.options.clock.monotonicMs();
    for (const entry of this.options.broker.partitionEntries()) {
      if (entry.log === undefined) continue;
      const key = checkpointKey(entry.topic, entry.partition);
      seen.add(key);
      const existing = this.partitions.get(key);
      if (existing !== undefined && existing.log === entry.log) continue;
      if (existing !== undefined) this.dropPartition(key, existing);
      const leaderPartition: LeaderPartition = { ...entry, log: entry.log, waiters: [] };
      this.partitions.set(key, leaderPartition);
      this.byLog.set(entry.log, leaderPartition);
      for (const follower of this.followers.values()) {
        // A new partition is empty: a follower held all of it as of the last send it echoed.
        follower.partitions.set(key, { ackedOffset: 0, lastCaughtUpMs: this.lease.renewedAt(follower.id) ?? NEVER, inSync: false, sent: [] });
        follower.session?.startPartition(key, entry.topic, entry.partition, 0);
      }
      this.inSync.evaluate(leaderPartition, now);
    }
    for (const [key, leaderPartition] of this.partitions) if (!seen.has(key)) this.dropPartition(key, leaderPartition);
  }

  private dropPartition(key: string, leaderPartition: LeaderPartition): void {
    this.partitions.delete(key);
    this.byLog.delete(leaderPartition.log);
    const gone = new GafkaError("topic_not_found", `topic '${leaderPartition.topic}' was deleted before the write was replicated`);
    rejectWaiters(leaderPartition, gone);
    for (const follower of this.followers.values()) {
      follower.partitions.delete(key);
      follower.session?.stopPartition(key);
    }
  }

  logOf(key: string): PartitionLogApi | undefined {
    return this.partitions.get(key)?.log;
  }

  securitySnapshot(): SecuritySnapshot | undefined {
    return this.options.securitySnapshot?.();
  }

  sendTimeMs(): number {
    return this.options.clock.monotonicMs();
  }

  /** A log became durable further: streams have more to send, and with no follower in sync the high watermark moved. */
  durableAdvanced(log: PartitionLogApi): void {
    for (const follower of this.followers.values()) follower.session?.wake();
    const leaderPartition = this.byLog.get(log);
    if (leaderPartition !== undefined) resolveWaiters(leaderPartition);
  }

  // ---------------------------------------------------------------- streams

  /** Opens a follower's stream: computes where each of its partitions starts (cutting back what diverged). */
  openSession(request: StreamRequest, metadata: () => TopicInfo[]): StreamSession {
    if (this.stopped) throw new GafkaError("shutting_down", "this broker no longer leads", { retriable: true });
    let follower = this.followers.get(request.followerId);
    const now = this.options.clock.monotonicMs();
    if (follower === undefined && this.followers.size >= limits.followersMax) this.expireFollowers(now);
    if (follower === undefined && this.followers.size >= limits.followersMax) throw followersFull(this.followerExpiryMs);
    if (follower === undefined) {
      follower = newFollowerReplica(request.followerId, request.address, now);
      this.followers.set(follower.id, follower);
      this.replicasStated = Math.max(this.replicasStated, 1 + this.followers.size);
      for (const key of this.partitions.keys()) follower.partitions.set(key, { ackedOffset: 0, lastCaughtUpMs: NEVER, inSync: false, sent: [] });
      this.options.onFollowerSeen({ id: follower.id, address: follower.address });
    } else if (follower.address !== request.address) {
      follower.address = request.address;
      this.options.onFollowerSeen({ id: follower.id, address: follower.address });
    }
    const kafkaAddressChanged = follower.kafkaAddress !== request.kafkaAddress;
    follower.kafkaAddress = request.kafkaAddress;
    const isNew = follower.session === undefined && follower.lastSessionId === undefined;
    follower.session?.close();
    follower.lastContactMs = now;
    const session = new StreamSession(newSessionId(), follower.id, this);
    follower.session = session;
    follower.lastSessionId = session.id;
    session.send(this.metadataMessage(session, metadata()));
    const security = this.securitySnapshot();
    if (security !== undefined) session.send({ type: "security", snapshot: security });
    // The others learn of a new fellow follower (whichever of them is promoted tells it) or of its new Kafka address.
    if (isNew || kafkaAddressChanged) for (const other of this.followers.values()) if (other !== follower) this.sendMetadata(other, metadata());
    const offsets = this.options.offsetsSnapshot();
    follower.offsetsSnapshotSequence = offsets.sequence;
    session.send({ type: "offsets", snapshot: true, sequence: offsets.sequence, entries: offsets.entries });
    this.offsetsQuorum.streamStarted(follower.id, offsets.sequence, now);
    const reported = new Map(request.partitions.map((p) => [checkpointKey(p.topic, p.partition), p]));
    let postponed = 0;
    for (const [key, leaderPartition] of this.partitions) {
      const replica = follower.partitions.get(key)!;
      const mine = reported.get(key);
      if (mine !== undefined && mine.logEndOffset === null) continue; // the follower cannot take it now
      const sameTopic = mine !== undefined && mine.topicCreatedAtMs === leaderPartition.topicCreatedAtMs;
      let start: StreamStart;
      try {
        start = sameTopic ? streamStart(leaderPartition.log, mine.epochs, mine.logEndOffset!) : fromFirstSegment(leaderPartition.log, 0);
      } catch (error) {
        // This partition is offline here (being recovered): stream the others, and start over soon.
        this.logger.warn(`replication to follower ${follower.id}: ${key} is not readable now: ${error instanceof Error ? error.message : error}`);
        postponed++;
        continue;
      }
      replica.ackedOffset = sameTopic && !start.restart ? Math.min(start.offset, mine.durableEndOffset) : 0;
      replica.sent = [];
      session.startPartition(key, leaderPartition.topic, leaderPartition.partition, start.offset, start.restart);
    }
    if (postponed > 0) this.options.clock.setTimeout(() => session.close(), POSTPONED_RETRY_MS);
    return session;
  }

  sessionEnded(session: StreamSession): void {
    const follower = this.followers.get(session.followerId);
    if (follower?.session !== session) return;
    follower.session = undefined;
    follower.lastContactMs = this.options.clock.monotonicMs();
    this.offsetsQuorum.streamEnded(follower.id, follower.lastContactMs);
    this.logger.info(`follower ${follower.id} (${follower.address}) disconnected`);
  }

  noteSent(followerId: number, key: string, endOffset: number, reachedEnd: boolean, sentAtMs: number): void {
    if (!reachedEnd) return;
    const replica = this.followers.get(followerId)?.partitions.get(key);
    if (replica === undefined) return;
    replica.sent.push({ endOffset, atMs: sentAtMs });
    if (replica.sent.length > SENT_KEPT_MAX) replica.sent.shift();
  }

  /**
   * A follower's durable positions (POST /api/v1/replication/ack); false when
   * `sessionId` is not the current session of that follower (the one its
   * stream's metadata message named). A position past the partition's log end
   * is no copy of anything: invalid_request, and nothing of the ack counts. `leaving`: it is shutting down
   * cleanly, so it leaves every in-sync set (and stops counting for the
   * lease) now. `offsetsSequence`: the offsets stream's position it holds
   * durably (OffsetsQuorum), when it reports one. `sentAtMs`: the newest
   * stream stamp it received (its echo), which renews the lease and, where it
   * holds the leader's durable end, dates its catching up.
   */
  acknowledge(
    followerId: number,
    sessionId: string,
    positions: { topic: string; partition: number; offset: number }[],
    report: AckReport = {},
  ): boolean {
    const { leaving = false, offsetsSequence, sentAtMs } = report;
    const follower = this.followers.get(followerId);
    if (leaving && follower !== undefined && follower.lastSessionId === sessionId) {
      this.leave(follower);
      return true;
    }
    if (follower === undefined || follower.session?.id !== sessionId) return false;
    for (const position of positions) {
      const log = this.partitions.get(checkpointKey(position.topic, position.partition))?.log;
      if (log !== undefined && position.offset > log.logEndOffset) {
        throw invalidRequest(
          `follower ${followerId} acknowledged offset ${position.offset} of ${position.topic}-${position.partition}, past the leader's log end ${log.logEndOffset}`,
          { field: "positions" },
        );
      }
    }
    const now = this.options.clock.monotonicMs();
    follower.lastContactMs = now;
    if (offsetsSequence !== undefined) this.offsetsQuorum.reported(followerId, offsetsSequence);
    if (sentAtMs !== undefined) this.lease.renew(follower.id, sentAtMs, now);
    const echoedMs = sentAtMs === undefined ? undefined : Math.min(sentAtMs, now);
    const changed = new Set<string>();
    for (const position of positions) {
      const key = checkpointKey(position.topic, position.partition);
      const replica = follower.partitions.get(key);
      if (replica === undefined || !this.partitions.has(key)) continue;
      replica.ackedOffset = Math.max(replica.ackedOffset, position.offset);
      while (replica.sent.length > 0 && replica.sent[0]!.endOffset <= replica.ackedOffset) {
        replica.lastCaughtUpMs = Math.max(replica.lastCaughtUpMs, replica.sent.shift()!.atMs);
      }
      changed.add(key);
    }
    if (echoedMs !== undefined) {
      // Holding all the leader holds now, it held all it held when the echoed stamp went out.
      for (const [key, replica] of follower.partitions) {
        const log = this.partitions.get(key)?.log;
        if (log === undefined || replica.ackedOffset < log.durableEndOffset || replica.lastCaughtUpMs >= echoedMs) continue;
        replica.lastCaughtUpMs = echoedMs;
        changed.add(key);
      }
    }
    if (this.leaseChanged(now)) {
      for (const leaderPartition of this.partitions.values()) this.inSync.evaluate(leaderPartition, now);
    } else {
      for (const key of changed) this.inSync.evaluate(this.partitions.get(key)!, now);
    }
    return true;
  }

  /** Whether the lease was gained or lost since last asked (logged). */
  private leaseChanged(now: number): boolean {
    const held = this.lease.held(now);
    if (held === this.leaseWasHeld) return false;
    this.leaseWasHeld = held;
    if (held) this.logger.info(`leader lease held again: heard from ${this.lease.currentFollowers(now)} follower(s) within ${this.lease.periodMs} ms`);
    else {
      this.logger.warn(
        `leader lease lost: heard from ${this.lease.currentFollowers(now)} of the ${this.options.minInsyncReplicas - 1} follower(s) --min-insync-replicas needs ` +
          `within ${this.lease.periodMs} ms; high watermarks, acks=all and group coordination wait until they are heard`,
      );
    }
    return true;
  }

  /** Whether this leader holds its lease now (leader-lease.ts): it acts as leader only while it does. */
  leaseHeld(): boolean {
    return !this.stopped && this.lease.held(this.options.clock.monotonicMs());
  }

  leaseStatus(): LeaseStatus {
    return this.lease.status(this.options.clock.monotonicMs());
  }

  private leave(follower: FollowerReplica): void {
    this.lease.forget(follower.id);
    follower.session?.close();
    this.offsetsQuorum.left(follower.id, this.options.clock.monotonicMs());
    for (const replica of follower.partitions.values()) {
      replica.inSync = false;
      replica.lastCaughtUpMs = NEVER;
    }
    this.logger.info(`follower ${follower.id} (${follower.address}) left: out of every in-sync set`);
    for (const leaderPartition of this.partitions.values()) this.inSync.recompute(leaderPartition, false);
  }

  // ---------------------------------------------------------------- in-sync set and high watermark (in-sync-set.ts)

  private get followerExpiryMs(): number {
    return this.options.followerExpiryMs ?? limits.followerExpiryMsDefault;
  }

  /** Drops the followers follower-expiry.ts lets go: they count for nothing, and free their slots. */
  private expireFollowers(now: number): void {
    const rules = { expiryMs: this.followerExpiryMs, replicaLagMaxMs: this.options.replicaLagMaxMs, lease: this.lease };
    const expired = [...this.followers.values()].filter((follower) => mayExpire(follower, now, rules));
    for (const follower of expired) {
      this.followers.delete(follower.id);
      this.lease.forget(follower.id);
      this.offsetsQuorum.left(follower.id, now);
      this.logger.warn(`follower ${follower.id} (${follower.address}) expired: unheard for ${Math.round(now - follower.lastContactMs)} ms, in no in-sync set`);
    }
    if (expired.length > 0) this.options.onFollowersExpired?.(expired.map((follower) => follower.id));
  }

  /** Times followers out of in-sync sets, expires those long gone, and notices the lease ending (acks do the rest). */
  private tick(): void {
    const now = this.options.clock.monotonicMs();
    this.offsetsQuorum.tick(now);
    this.leaseChanged(now);
    this.expireFollowers(now);
    if (this.followers.size === 0) return;
    for (const leaderPartition of this.partitions.values()) this.inSync.evaluate(leaderPartition, now);
  }

  /** In-sync followers of the partition (the leader itself not counted). */
  inSyncFollowers(log: PartitionLogApi): number {
    const leaderPartition = this.partitionOf(log);
    return leaderPartition === undefined ? 0 : this.inSync.followersInSync(leaderPartition);
  }

  /** acks=all, before the append: not_enough_replicas with fewer than N in sync (the topic's min.insync.replicas, never below the leader's: the high watermark moves only with that many); nothing is written, so a retry stores the records once (as Kafka). */
  checkInSync(log: PartitionLogApi, topicMinInsyncReplicas = this.options.minInsyncReplicas): void {
    const needed = Math.max(topicMinInsyncReplicas, this.options.minInsyncReplicas);
    const inSync = 1 + this.inSyncFollowers(log);
    if (inSync < needed) throw notEnoughReplicas(inSync, needed);
  }

  /** acks=all, after the append: resolves once the high watermark reaches `endOffset`; not_enough_replicas_after_append with fewer than N (as checkInSync) in sync, now or while waiting. */
  waitForInSync(log: PartitionLogApi, endOffset: number, topicMinInsyncReplicas = this.options.minInsyncReplicas): Promise<void> {
    const leaderPartition = this.partitionOf(log);
    if (leaderPartition === undefined) return Promise.reject(new GafkaError("topic_not_found", "the topic was deleted before the write was replicated"));
    const needed = Math.max(topicMinInsyncReplicas, this.options.minInsyncReplicas);
    const inSync = 1 + this.inSyncFollowers(log);
    if (inSync < needed) return Promise.reject(notEnoughReplicasAfterAppend(inSync, needed));
    return waitForHighWatermark(leaderPartition, endOffset, needed);
  }

  private partitionOf(log: PartitionLogApi): LeaderPartition | undefined {
    return this.byLog.get(log);
  }

  // ---------------------------------------------------------------- ship, report, stop

  /** Sends topic metadata to every stream (after a topic change). */
  broadcastMetadata(topics: TopicInfo[]): void {
    for (const follower of this.followers.values()) this.sendMetadata(follower, topics);
  }

  private sendMetadata(follower: FollowerReplica, topics: TopicInfo[]): void {
    const session = follower.session;
    if (session !== undefined) session.send(this.metadataMessage(session, topics));
  }

  /** What a follower needs to know of this leader, its promotion's safety check included (N, R, the lease period). */
  private metadataMessage(session: StreamSession, topics: TopicInfo[]): StreamMessage {
    const facts = { ...this.options, leaderEpoch: this.leaderEpoch, replicas: this.replicasStated };
    return leaderMetadata(session.id, facts, this.followers.values(), topics);
  }

  /** The credential store changed (durably): every stream sends its state, once per burst of changes. */
  broadcastSecurity(): void {
    for (const follower of this.followers.values()) follower.session?.securityChanged();
  }

  /**
   * A durable offset-store write (`sequence`): the leader holds it; it goes to
   * every stream whose snapshot does not already cover it.
   */
  broadcastOffsets(entries: ReplicatedOffset[], sequence: number): void {
    this.offsetsQuorum.leaderHolds(sequence);
    const now = this.options.clock.monotonicMs();
    for (const follower of this.followers.values()) {
      const session = follower.session;
      if (session === undefined || session.isClosed || sequence <= follower.offsetsSnapshotSequence) continue;
      session.send({ type: "offsets", snapshot: false, sequence, entries });
      this.offsetsQuorum.sent(follower.id, sequence, now);
    }
  }

  /**
   * Throws not_enough_replicas (503, nothing written) when fewer than
   * minInsyncReplicas replicas could hold a group commit now.
   */
  admitOffsets(): void {
    this.offsetsQuorum.admit(this.options.clock.monotonicMs());
  }

  /**
   * A group commit: resolves once minInsyncReplicas replicas (the leader
   * included) hold the offset-store writes through `sequence` durably;
   * fails with not_enough_replicas_after_append when they cannot (see OffsetsQuorum).
   */
  waitForOffsets(sequence: number): Promise<void> {
    return this.offsetsQuorum.waitFor(sequence, this.options.clock.monotonicMs());
  }

  /** The followers as this leader tracks them, for the Kafka door's view of the cluster (kafka-cluster.ts): read, never changed. */
  followerReplicas(): Iterable<Readonly<FollowerReplica>> {
    return this.followers.values();
  }

  status(): FollowerStatus[] {
    const now = this.options.clock.monotonicMs();
    return [...this.followers.values()]
      .sort((a, b) => a.id - b.id)
      .map((follower) => followerStatus(follower, this.partitions, this.lease.renewedAt(follower.id), now));
  }

  checkpoint(): PartitionCheckpoint[] {
    return this.inSync.checkpoint();
  }

  /** Ends every stream and fails every acks=all wait with `reason` (leadership lost, or shutting down). */
  stop(reason: GafkaError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.tickTimer?.cancel();
    for (const follower of this.followers.values()) follower.session?.close();
    for (const leaderPartition of this.partitions.values()) rejectWaiters(leaderPartition, reason);
    this.offsetsQuorum.stop(reason);
  }
}


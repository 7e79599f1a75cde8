import type { Broker, FetchFormat, Operation, Principal } from "../broker/broker.ts";
import { ANONYMOUS } from "../broker/write-gate.ts";
import type { Clock, Timer } from "../core/clock.ts";
import { GafkaError, invalidRequest, isGafkaError } from "../core/errors.ts";
import { idProblem, limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { StoredRecord } from "../protocol/record.ts";
import {
  ASSIGNOR_NAMES,
  type Assignor,
  type AssignorName,
  comparePartitions,
  partitionKey,
  type TopicPartition,
} from "./assignor.ts";
import type { CommitGuard } from "./commit-guard.ts";
import { Group, Member } from "./group.ts";
import type { FileSystem } from "../storage/file-system.ts";
import { type CommittedOffset, OffsetStore } from "./offset-store.ts";
import { roundRobinAssignor } from "./round-robin-assignor.ts";
import { stickyAssignor } from "./sticky-assignor.ts";

const ASSIGNORS: Record<AssignorName, Assignor> = { "round-robin": roundRobinAssignor, sticky: stickyAssignor };

export interface JoinOptions {
  topics: string[];
  sessionTimeoutMs?: number;
  assignor?: AssignorName;
}

export interface MembershipView {
  groupId: string;
  memberId: string;
  generation: number;
  assignment: TopicPartition[];
  sessionTimeoutMs: number;
}

export interface GroupRecord extends StoredRecord {
  topic: string;
  partition: number;
}

/**
 * The stored batches of one partition a group consume delivers (format
 * "batches"): the records [offset, nextOffset), as FetchResult.batches holds them.
 */
export interface GroupChunk extends TopicPartition {
  offset: number;
  nextOffset: number;
  batches: Uint8Array;
}

export interface GroupConsumeRequest extends JoinOptions {
  maxRecords: number;
  waitMs: number;
  /** When given, must be the current generation (else 409 stale_generation). */
  generation?: number;
  /** Ask for one partition only; it must be the member's (else 409 partition_not_owned). */
  only?: TopicPartition;
  signal?: AbortSignal;
  /** Records decoded ("records", the default) or the stored batches holding them ("batches"). */
  format?: FetchFormat;
  /**
   * "previous" (the default): this call commits what the member's previous
   * call delivered, durably, before it is answered. "none": it commits
   * nothing; the member reads on from where its last call ended and commits
   * through commit() when it chooses (Kafka's consumer model: no fsync on the
   * poll's path, and after a crash or rebalance the records since its last
   * commit are delivered again).
   */
  commit?: GroupConsumeCommit;
}

export type GroupConsumeCommit = "previous" | "none";

export interface GroupConsumeResult extends MembershipView {
  /** Format "records": the records delivered; empty for "batches". */
  records: GroupRecord[];
  /** Format "batches": one chunk per partition that delivered records, in read order; empty for "records". */
  chunks: GroupChunk[];
}

/** What one read across a member's partitions delivered, in either format. */
interface Delivery {
  records: GroupRecord[];
  chunks: GroupChunk[];
  /** Records delivered: the sum of nextOffset - offset over `ends`. */
  count: number;
  /** Each partition that delivered records, one past the last of them, and what was delivered (for onConsumed). */
  ends: (TopicPartition & { nextOffset: number; records: number; bytes: number })[];
}

export interface OffsetCommit extends TopicPartition {
  offset: number;
}

export interface PartitionStatus extends TopicPartition {
  committedOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  owner: string | null;
}

export interface GroupStatus {
  groupId: string;
  state: "empty" | "stable";
  generation: number;
  assignor: AssignorName;
  members: {
    memberId: string;
    topics: string[];
    sessionTimeoutMs: number;
    lastHeartbeatAtMs: number;
    assignment: TopicPartition[];
  }[];
  partitions: PartitionStatus[];
}

export type ResetTarget =
  | { to: "earliest" }
  | { to: "latest" }
  | { to: "offset"; offset: number }
  | { to: "timestamp"; timestampMs: number };

export interface CoordinatorOptions {
  broker: Broker;
  offsets: OffsetStore;
  clock: Clock;
  logger: Logger;
  /** How often expired sessions are looked for. */
  sweepIntervalMs?: number;
  /** The leader epoch this broker coordinates under, stated in 409 answers as in membership answers (0 without replication). */
  leaderEpoch?: () => number;
}

/**
 * The group coordinator (spec/seed.md §3): membership by heartbeats and
 * consume calls, assignment on every membership change (a new generation),
 * exclusive ownership of partitions, and at-least-once delivery — records
 * handed to a member are committed by its next consume call or an explicit
 * commit; a member that dies leaves its uncommitted records to the next owner.
 *
 * Every group call passes the broker's one write gate first (Broker.admit:
 * leadership, fencing and the leader's lease today, so that two coordinators
 * never answer at once; ACLs next). Its writes to the offset store are the
 * coordinator's own (append origin "coordinator"), taken under the call's
 * admission and the CommitGuard; a follower's store takes its leader's
 * commits through replication (src/replication/offsets-replica.ts) instead.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly sweepTimer: Timer;
  private readonly broker: Broker;
  /** Committed offsets; replication ships their changes (OffsetStore.onCommit). */
  readonly offsets: OffsetStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private commitGuard: CommitGuard | undefined;
  private readonly leaderEpoch: () => number;

  constructor(options: CoordinatorOptions) {
    this.leaderEpoch = options.leaderEpoch ?? (() => 0);
    this.broker = options.broker;
    this.offsets = options.offsets;
    this.clock = options.clock;
    this.logger = options.logger;
    this.sweepTimer = options.clock.setInterval(() => this.expireSessions(), options.sweepIntervalMs ?? 100);
  }

  /** Opens the committed-offset store in dataDir and a coordinator over it. */
  static open(options: Omit<CoordinatorOptions, "offsets"> & { dataDir: string; fs: FileSystem }): GroupCoordinator {
    const offsets = OffsetStore.open({ dataDir: options.dataDir, fs: options.fs, logger: options.logger, clock: options.clock });
    return new GroupCoordinator({ ...options, offsets });
  }

  /** Lets replication decide who may commit and when a commit is acknowledged (see CommitGuard). */
  setCommitGuard(guard: CommitGuard): void {
    this.commitGuard = guard;
  }

  /** Ends every member's long poll, then closes the offset store (after its last fsync). */
  async close(): Promise<void> {
    this.sweepTimer.cancel();
    for (const group of this.groups.values()) for (const member of group.members.values()) member.wake.abort();
    await this.offsets.close();
  }

  // ---------------------------------------------------------------- membership

  /** Joins (or re-joins with new topics); a change of membership or subscription rebalances. */
  join(groupId: string, memberId: string, options: JoinOptions, principal: Principal = ANONYMOUS): MembershipView {
    this.admit(principal, "group_join", groupId);
    return this.joinAdmitted(groupId, memberId, options);
  }

  private joinAdmitted(groupId: string, memberId: string, options: JoinOptions): MembershipView {
    checkIds(groupId, memberId);
    const topics = this.checkTopics(options.topics);
    const sessionTimeoutMs = checkSessionTimeout(options.sessionTimeoutMs);
    const assignorName = options.assignor ?? "round-robin";
    if (!ASSIGNOR_NAMES.includes(assignorName)) {
      throw invalidRequest(`assignor must be one of ${ASSIGNOR_NAMES.join(", ")}`, { field: "assignor" });
    }
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new Group(groupId, assignorName);
      this.groups.set(groupId, group);
    } else if (group.members.size === 0) {
      group.assignorName = assignorName;
    } else if (options.assignor !== undefined && options.assignor !== group.assignorName) {
      throw invalidRequest(`group '${groupId}' uses the ${group.assignorName} assignor, not ${options.assignor}`, {
        field: "assignor",
      });
    }
    let member = group.members.get(memberId);
    const subscriptionChanged = member !== undefined && member.topics.join(",") !== topics.join(",");
    if (member === undefined) {
      if (group.members.size >= limits.groupMembersMax) {
        throw new GafkaError("too_many_requests", `group '${groupId}' already has ${limits.groupMembersMax} members`);
      }
      member = new Member(memberId, topics, sessionTimeoutMs, this.clock.monotonicMs(), this.clock.nowMs());
      group.members.set(memberId, member);
      this.logger.info(`group ${groupId}: member ${memberId} joined (topics ${topics.join(",")})`);
      this.rebalance(group);
    } else {
      this.touch(member);
      member.sessionTimeoutMs = options.sessionTimeoutMs === undefined ? member.sessionTimeoutMs : sessionTimeoutMs;
      if (subscriptionChanged) {
        member.topics = topics;
        this.rebalance(group);
      }
    }
    return this.view(group, member);
  }

  /** The seed's heartbeat: keeps the member alive and tells it the current generation and assignment. */
  heartbeat(groupId: string, memberId: string, principal: Principal = ANONYMOUS): MembershipView {
    this.admit(principal, "group_heartbeat", groupId);
    return this.heartbeatAdmitted(groupId, memberId);
  }

  private heartbeatAdmitted(groupId: string, memberId: string): MembershipView {
    const { group, member } = this.memberOrThrow(groupId, memberId);
    this.touch(member);
    return this.view(group, member);
  }

  leave(groupId: string, memberId: string, principal: Principal = ANONYMOUS): void {
    this.admit(principal, "group_leave", groupId);
    const { group, member } = this.memberOrThrow(groupId, memberId);
    this.removeMember(group, member, "left");
  }

  // ---------------------------------------------------------------- consume

  /**
   * A group member's consume call: joins if needed, commits what its previous
   * call delivered (implicit acknowledgement; not with `commit: "none"`), then
   * reads from its partitions where its last call ended (at first, their
   * committed offsets), long-polling across all of them.
   */
  async consume(groupId: string, memberId: string, request: GroupConsumeRequest, principal: Principal = ANONYMOUS): Promise<GroupConsumeResult> {
    this.admit(principal, "group_consume", groupId);
    // A poll the client already gave up on must not re-join a member that has
    // since left (its DELETE may overtake this request).
    if (request.signal?.aborted) throw new GafkaError("unknown_member", `the consume call of ${memberId} was abandoned`);
    // Asking for one partition of a topic the member already subscribes to is a
    // filter, not a new subscription: it must not rebalance the group.
    const existing = this.groups.get(groupId)?.members.get(memberId);
    if (request.only !== undefined && existing?.topics.includes(request.only.topic)) this.heartbeatAdmitted(groupId, memberId);
    else this.joinAdmitted(groupId, memberId, request);
    const group = this.groups.get(groupId)!;
    const member = group.members.get(memberId)!;
    if (request.generation !== undefined && request.generation !== group.generation) {
      throw this.conflict("stale_generation", `generation ${request.generation} is stale; the group is at ${group.generation}`, group, member);
    }
    if (request.only !== undefined && !member.owns(request.only)) {
      throw this.conflict(
        "partition_not_owned",
        `partition ${request.only.topic}/${request.only.partition} is not assigned to ${memberId} in generation ${group.generation}`,
        group,
        member,
      );
    }
    member.pollsInFlight++;
    try {
      // The implicit commit's fsync (and its copies on the followers) overlaps the read and the
      // long poll; the answer waits for it, so nothing is answered before the commit is acknowledged.
      member.commitsOnConsume = request.commit !== "none";
      const committing = member.commitsOnConsume ? this.commitDelivered(group, member) : Promise.resolve();
      let commitSettled = !member.commitsOnConsume;
      const settle = () => {
        commitSettled = true;
      };
      committing.then(settle, settle); // also: awaited below, so no unhandled rejection while polling
      const owned = request.only !== undefined ? [request.only] : member.assignment;
      const generation = group.generation;
      const format = request.format ?? "records";
      let delivery = await this.readOwned(group, member, owned, request.maxRecords, format);
      if (delivery.count === 0 && request.waitMs > 0 && !request.signal?.aborted) {
        await this.waitForAny(group, member, owned, request.waitMs, request.signal);
        if (group.generation === generation && group.members.get(memberId) === member) {
          delivery = await this.readOwned(group, member, owned, request.maxRecords, format);
        }
      }
      if (group.members.get(memberId) !== member) {
        throw new GafkaError("unknown_member", `member ${memberId} left group '${groupId}' during the poll`);
      }
      const readBeforeCommitSettled = !commitSettled;
      await committing;
      // Records made durable while the commit synced go out now rather than a whole poll later:
      // the answer was waiting anyway, and with records at hand on arrival it mostly is.
      if (readBeforeCommitSettled && delivery.count < request.maxRecords && group.generation === generation && group.members.get(memberId) === member) {
        delivery = await this.readOwned(group, member, owned, request.maxRecords, format);
      }
      // In either format: one past the last record handed out, for the next call to commit.
      this.admit(principal, "group_consume", groupId); // the lease may have ended during the long poll
      for (const end of delivery.ends) {
        member.delivered.set(partitionKey(end), end.nextOffset);
        this.broker.countConsumed(end.topic, end.partition, end.records, end.bytes);
      }
      return { ...this.view(group, member), records: delivery.records, chunks: delivery.chunks };
    } finally {
      member.pollsInFlight--;
      this.touch(member);
    }
  }

  /**
   * Commits what the member was handed and has now acknowledged by calling
   * again. The store takes the entries synchronously (so positions read right
   * after see them); the promise resolves once they are acknowledged
   * (writeCommit). Refused before anything is written, the member keeps its
   * positions and its next call commits them.
   */
  private async commitDelivered(group: Group, member: Member): Promise<void> {
    if (member.delivered.size === 0) return;
    const term = this.commitGuard?.admitCommit() ?? 0;
    const nowMs = this.clock.nowMs();
    const entries: CommittedOffset[] = [];
    for (const tp of member.assignment) {
      const offset = member.delivered.get(partitionKey(tp));
      if (offset !== undefined) entries.push({ group: group.groupId, topic: tp.topic, partition: tp.partition, offset, committedAtMs: nowMs });
    }
    member.delivered.clear();
    await this.settle(term, this.offsets.commit(entries));
  }

  /**
   * Writes commit entries: admitted by the guard, durable in the store, then
   * acknowledged once enough replicas hold them (the store's acknowledged
   * view, what the group's status reports, takes them only then).
   */
  private writeCommit(entries: CommittedOffset[]): Promise<void> {
    const term = this.commitGuard?.admitCommit() ?? 0;
    return this.settle(term, this.offsets.commit(entries));
  }

  private async settle(term: number, written: Promise<number>): Promise<void> {
    const sequence = await written;
    if (sequence === 0) return;
    await this.commitGuard?.settleCommit(term, sequence);
    this.offsets.acknowledge(sequence);
  }

  /** Where a partition's owner starts: the committed offset, kept inside the log's bounds. */
  private position(groupId: string, tp: TopicPartition): number {
    const { earliest, highWatermark } = this.broker.partitionBounds(tp.topic, tp.partition);
    const committed = this.offsets.get(groupId, tp.topic, tp.partition)?.offset ?? earliest;
    return Math.min(Math.max(committed, earliest), highWatermark);
  }

  /** Reads up to maxRecords from the owned partitions, sharing the count fairly, in the format asked for. */
  private async readOwned(group: Group, member: Member, owned: TopicPartition[], maxRecords: number, format: FetchFormat): Promise<Delivery> {
    const delivery: Delivery = { records: [], chunks: [], count: 0, ends: [] };
    for (let i = 0; i < owned.length && delivery.count < maxRecords; i++) {
      const tp = owned[i]!;
      const share = Math.max(1, Math.ceil((maxRecords - delivery.count) / (owned.length - i)));
      try {
        const start = member.delivered.get(partitionKey(tp)) ?? this.position(group.groupId, tp);
        const result = await this.broker.fetch({ topic: tp.topic, partition: tp.partition, offset: start, maxRecords: share, waitMs: 0, format });
        if (result.nextOffset === result.offset) continue;
        const count = result.nextOffset - result.offset;
        delivery.count += count;
        let bytes = format === "batches" ? result.batches.length : 0;
        for (const record of result.records) {
          delivery.records.push({ ...record, topic: tp.topic, partition: tp.partition });
          bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
        }
        delivery.ends.push({ topic: tp.topic, partition: tp.partition, nextOffset: result.nextOffset, records: count, bytes });
        if (format === "batches") {
          delivery.chunks.push({ topic: tp.topic, partition: tp.partition, offset: result.offset, nextOffset: result.nextOffset, batches: result.batches });
        }
      } catch (error) {
        // A subscribed topic was deleted (or shrank): assign again without it.
        if (isGafkaError(error) && (error.code === "topic_not_found" || error.code === "partition_not_found")) {
          this.rebalance(group);
          continue;
        }
        throw error;
      }
    }
    return delivery;
  }

  /**
   * Waits until any owned partition has data past its position, the wait
   * ends, the assignment changes (member.wake) or the client goes away. A
   * failure (a topic deleted meanwhile, the broker stopping, too many
   * waiting polls) ends the wait; the read after it says what happened.
   */
  private async waitForAny(group: Group, member: Member, owned: TopicPartition[], waitMs: number, signal?: AbortSignal): Promise<void> {
    try {
      const positions = owned.map((tp) => ({
        topic: tp.topic,
        partition: tp.partition,
        offset: member.delivered.get(partitionKey(tp)) ?? this.position(group.groupId, tp),
      }));
      await this.broker.waitForAny(positions, waitMs, [member.wake.signal, signal]);
    } catch {
      // Not the poll's failure: it answers with what its next read finds.
    }
  }

  // ---------------------------------------------------------------- offsets

  /**
   * An explicit commit. From a member: only for partitions it owns in the
   * current generation. Without a member: only while the group has none
   * (an operator or a standalone consumer storing its position).
   */
  async commit(
    groupId: string,
    memberId: string | undefined,
    generation: number | undefined,
    commits: OffsetCommit[],
    principal: Principal = ANONYMOUS,
  ): Promise<void> {
    this.admit(principal, "group_commit", groupId);
    const groupProblem = idProblem("group_id", groupId);
    if (groupProblem) throw invalidRequest(groupProblem, { field: "group_id" });
    const group = this.groups.get(groupId);
    if (memberId !== undefined) {
      const { member } = this.memberOrThrow(groupId, memberId);
      this.touch(member);
      if (generation !== undefined && generation !== group!.generation) {
        throw this.conflict("stale_generation", `generation ${generation} is stale; the group is at ${group!.generation}`, group!, member);
      }
      for (const commit of commits) {
        if (!member.owns(commit)) {
          throw this.conflict("partition_not_owned", `partition ${commit.topic}/${commit.partition} is not assigned to ${memberId}`, group!, member);
        }
      }
      // For a member whose consume calls commit, this commit takes the place of the next implicit one;
      // a member that commits for itself reads on from where it is, whatever it commits.
      if (member.commitsOnConsume) for (const commit of commits) member.delivered.delete(partitionKey(commit));
    } else if (group !== undefined && group.members.size > 0) {
      throw new GafkaError("group_not_empty", `group '${groupId}' has live members; commit as one of them (consumer_id)`, {
        details: { members: [...group.members.keys()] },
      });
    }
    for (const commit of commits) {
      const { earliest, highWatermark } = this.broker.partitionBounds(commit.topic, commit.partition);
      if (!Number.isInteger(commit.offset) || commit.offset < 0 || commit.offset > highWatermark) {
        throw new GafkaError("offset_out_of_range", `offset ${commit.offset} is out of range [${earliest}, ${highWatermark}]`, {
          details: { earliest, latest: highWatermark },
        });
      }
    }
    const nowMs = this.clock.nowMs();
    await this.writeCommit(commits.map((c) => ({ group: groupId, topic: c.topic, partition: c.partition, offset: c.offset, committedAtMs: nowMs })));
  }

  /** Moves a stopped group's committed offsets (409 while it has members). */
  async resetOffsets(
    groupId: string,
    topic: string,
    partitions: number[] | undefined,
    target: ResetTarget,
    principal: Principal = ANONYMOUS,
  ): Promise<CommittedOffset[]> {
    this.admit(principal, "group_reset_offsets", groupId);
    this.checkKnownGroup(groupId);
    this.checkNoMembers(groupId, "reset its offsets");
    const description = this.broker.describeTopic(topic);
    const chosen = partitions ?? description.partitions.map((p) => p.partition);
    const nowMs = this.clock.nowMs();
    const entries: CommittedOffset[] = chosen.map((partition) => {
      const { earliest, highWatermark } = this.broker.partitionBounds(topic, partition);
      let offset: number;
      if (target.to === "earliest") offset = earliest;
      else if (target.to === "latest") offset = highWatermark;
      else if (target.to === "timestamp") offset = this.broker.offsetForTimestamp(topic, partition, target.timestampMs);
      else offset = Math.min(Math.max(target.offset, earliest), highWatermark);
      return { group: groupId, topic, partition, offset, committedAtMs: nowMs };
    });
    await this.writeCommit(entries);
    return entries;
  }

  async deleteGroup(groupId: string, principal: Principal = ANONYMOUS): Promise<void> {
    this.admit(principal, "group_delete", groupId);
    this.checkKnownGroup(groupId);
    this.checkNoMembers(groupId, "delete it");
    const term = this.commitGuard?.admitCommit() ?? 0;
    await this.settle(term, this.offsets.deleteGroup(groupId, this.clock.nowMs()));
    this.groups.delete(groupId);
  }

  // ---------------------------------------------------------------- status

  /** A client's list of the groups: list(), once the gate admits it (only the leader answers group calls). */
  listGroups(principal: Principal = ANONYMOUS): ReturnType<GroupCoordinator["list"]> {
    this.broker.admit(principal, "group_list", { kind: "cluster" });
    return this.list();
  }

  /** A client's view of one group: status(), once the gate admits it (only the leader answers group calls). */
  describeGroup(groupId: string, principal: Principal = ANONYMOUS): GroupStatus {
    this.admit(principal, "group_describe", groupId);
    return this.status(groupId);
  }

  /** Every group, live or with committed offsets: the broker's own view (metrics), passing no gate. */
  list(): { groupId: string; state: "empty" | "stable"; generation: number; members: number }[] {
    const ids = new Set([...this.groups.keys(), ...this.offsets.groups()]);
    return [...ids].sort().map((groupId) => {
      const group = this.groups.get(groupId);
      return { groupId, state: group?.state ?? "empty", generation: group?.generation ?? 0, members: group?.members.size ?? 0 };
    });
  }

  /** One group's members, committed offsets and lag: the broker's own view (metrics), passing no gate. */
  status(groupId: string): GroupStatus {
    this.checkKnownGroup(groupId);
    const group = this.groups.get(groupId);
    const members = group ? [...group.members.values()] : [];
    const partitions = new Map<string, TopicPartition>();
    // Committed means acknowledged: a commit that enough replicas do not hold yet is not reported.
    for (const committed of this.offsets.acknowledgedOf(groupId)) partitions.set(partitionKey(committed), committed);
    for (const member of members) for (const tp of member.assignment) partitions.set(partitionKey(tp), tp);
    return {
      groupId,
      state: group?.state ?? "empty",
      generation: group?.generation ?? 0,
      assignor: group?.assignorName ?? "round-robin",
      members: members
        .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
        .map((m) => ({
          memberId: m.memberId,
          topics: m.topics,
          sessionTimeoutMs: m.sessionTimeoutMs,
          lastHeartbeatAtMs: m.lastSeenAtMs,
          assignment: m.assignment,
        })),
      partitions: [...partitions.values()].sort(comparePartitions).map((tp) => this.partitionStatus(groupId, group, tp)),
    };
  }

  private partitionStatus(groupId: string, group: Group | undefined, tp: TopicPartition): PartitionStatus {
    const committedOffset = this.offsets.acknowledged(groupId, tp.topic, tp.partition)?.offset ?? null;
    let logEndOffset: number | null = null;
    try {
      logEndOffset = this.broker.partitionBounds(tp.topic, tp.partition).highWatermark;
    } catch {
      // The topic was deleted or the partition is offline: no log end to report.
    }
    const lag = logEndOffset === null ? null : logEndOffset - (committedOffset ?? this.safeEarliest(tp));
    return { ...tp, committedOffset, logEndOffset, lag, owner: group?.ownerOf(tp)?.memberId ?? null };
  }

  private safeEarliest(tp: TopicPartition): number {
    try {
      return this.broker.partitionBounds(tp.topic, tp.partition).earliest;
    } catch {
      return 0;
    }
  }

  // ---------------------------------------------------------------- internals

  /** The broker's one write gate, for a call on group `groupId`. */
  private admit(principal: Principal, operation: Operation, groupId: string): void {
    this.broker.admit(principal, operation, { kind: "group", id: groupId });
  }

  /** Every membership change: a new generation and a fresh assignment. */
  private rebalance(group: Group): void {
    group.generation++;
    const counts = new Map(this.broker.listTopics().map((t) => [t.name, t.partitionCount] as const));
    const members = [...group.members.values()];
    const assignment = ASSIGNORS[group.assignorName].assign(
      members.map((m) => ({ memberId: m.memberId, topics: m.topics, owned: m.assignment })),
      counts,
    );
    for (const member of members) member.reassign(assignment.get(member.memberId) ?? []);
    this.logger.info(
      `group ${group.groupId}: generation ${group.generation}: ` +
        members.map((m) => `${m.memberId}=[${m.assignment.map((tp) => `${tp.topic}-${tp.partition}`).join(",")}]`).join(" "),
    );
  }

  private removeMember(group: Group, member: Member, why: string): void {
    group.members.delete(member.memberId);
    member.wake.abort();
    this.logger.info(`group ${group.groupId}: member ${member.memberId} ${why}`);
    this.rebalance(group);
  }

  private expireSessions(): void {
    const now = this.clock.monotonicMs();
    for (const group of this.groups.values()) {
      for (const member of [...group.members.values()]) {
        if (member.pollsInFlight === 0 && now - member.lastSeenMonotonicMs > member.sessionTimeoutMs) {
          this.removeMember(group, member, `missed its session timeout of ${member.sessionTimeoutMs} ms`);
        }
      }
    }
  }

  private touch(member: Member): void {
    member.lastSeenMonotonicMs = this.clock.monotonicMs();
    member.lastSeenAtMs = this.clock.nowMs();
  }

  private view(group: Group, member: Member): MembershipView {
    return {
      groupId: group.groupId,
      memberId: member.memberId,
      generation: group.generation,
      assignment: member.assignment,
      sessionTimeoutMs: member.sessionTimeoutMs,
    };
  }

  private conflict(code: "stale_generation" | "partition_not_owned", message: string, group: Group, member: Member): GafkaError {
    return new GafkaError(code, message, {
      details: { generation: group.generation, member_id: member.memberId, assignment: member.assignment, leader_epoch: this.leaderEpoch() },
    });
  }

  private memberOrThrow(groupId: string, memberId: string): { group: Group; member: Member } {
    checkIds(groupId, memberId);
    const group = this.groups.get(groupId);
    if (group === undefined) {
      throw new GafkaError("group_not_found", `group '${groupId}' has no live members`, { details: { group: groupId } });
    }
    const member = group.members.get(memberId);
    if (member === undefined) {
      throw new GafkaError("unknown_member", `'${memberId}' is not a member of group '${groupId}' (its session may have expired); join again`, {
        details: { group: groupId, member_id: memberId, generation: group.generation },
      });
    }
    return { group, member };
  }

  private checkKnownGroup(groupId: string): void {
    const problem = idProblem("group_id", groupId);
    if (problem) throw invalidRequest(problem, { field: "group_id" });
    if (!this.groups.has(groupId) && this.offsets.offsetsOf(groupId).length === 0) {
      throw new GafkaError("group_not_found", `group '${groupId}' does not exist`, { details: { group: groupId } });
    }
  }

  private checkNoMembers(groupId: string, action: string): void {
    const group = this.groups.get(groupId);
    if (group !== undefined && group.members.size > 0) {
      throw new GafkaError("group_not_empty", `group '${groupId}' has live members; stop them before you ${action}`, {
        details: { members: [...group.members.keys()] },
      });
    }
  }

  private checkTopics(topics: string[]): string[] {
    if (!Array.isArray(topics) || topics.length === 0) throw invalidRequest("subscribe to at least one topic", { field: "topic" });
    const unique = [...new Set(topics)].sort();
    for (const topic of unique) this.broker.describeTopic(topic); // 400 for a bad name, 404 for an unknown topic
    return unique;
  }
}

function checkIds(groupId: string, memberId: string): void {
  const groupProblem = idProblem("group_id", groupId);
  if (groupProblem) throw invalidRequest(groupProblem, { field: "group_id" });
  const memberProblem = idProblem("consumer_id", memberId);
  if (memberProblem) throw invalidRequest(memberProblem, { field: "consumer_id" });
}

function checkSessionTimeout(sessionTimeoutMs: number | undefined): number {
  if (sessionTimeoutMs === undefined) return limits.sessionTimeoutMsDefault;
  if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < limits.sessionTimeoutMsMin || sessionTimeoutMs > limits.sessionTimeoutMsMax) {
    throw invalidRequest(
      `session_timeout_ms must be an integer in [${limits.sessionTimeoutMsMin}, ${limits.sessionTimeoutMsMax}]`,
      { field: "session_timeout_ms" },
    );
  }
  return sessionTimeoutMs;
}

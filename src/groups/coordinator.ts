import type { Broker, Operation, Principal } from "../broker/broker.ts";
import { ANONYMOUS } from "../broker/write-gate.ts";
import { CLUSTER } from "../security/operations.ts";
import type { Clock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "../storage/file-system.ts";
import { ClassicCoordinator } from "./classic-coordinator.ts";
import type { CommitGuard } from "./commit-guard.ts";
import type { GroupConsumeRequest, GroupConsumeResult, GroupStatus, GroupSummary, JoinOptions, MembershipView, OffsetCommit, ResetTarget } from "./coordinator-types.ts";
import { GroupConsume } from "./group-consume.ts";
import { GroupStatusView } from "./group-status.ts";
import { Membership } from "./membership.ts";
import { OffsetCommits } from "./offset-commits.ts";
import { type CommittedOffset, OffsetStore } from "./offset-store.ts";
import { SessionExpiry } from "./session-expiry.ts";

export type {
  GroupChunk,
  GroupConsumeCommit,
  GroupConsumeRequest,
  GroupConsumeResult,
  GroupRecord,
  GroupStatus,
  GroupSummary,
  JoinOptions,
  MembershipView,
  OffsetCommit,
  PartitionStatus,
  ResetTarget,
} from "./coordinator-types.ts";

export interface CoordinatorOptions {
  broker: Broker;
  offsets: OffsetStore;
  clock: Clock;
  logger: Logger;
  /** How often expired sessions are looked for. */
  sweepIntervalMs?: number;
  /** The leader epoch this broker coordinates under, stated in 409 answers as in membership answers (0 without replication). */
  leaderEpoch?: () => number;
  /** Groups this broker coordinates, live or with committed offsets; a new one past it is refused (409 limit_reached). Default limits.groupsMaxDefault. */
  groupsMax?: number;
}

/**
 * The group coordinator (spec/seed.md §3): membership by heartbeats and
 * consume calls, assignment on every membership change (a new generation),
 * exclusive ownership of partitions, and at-least-once delivery — records
 * handed to a member are committed by its next consume call or an explicit
 * commit; a member that dies leaves its uncommitted records to the next owner.
 *
 * Every group call passes the broker's one write gate first (Broker.admit:
 * the principal's ACLs on the group, and on each topic a member reads or
 * commits; leadership, fencing and the leader's lease, so that two
 * coordinators never answer at once). Its writes to the offset store are the
 * coordinator's own (append origin "coordinator"), taken under the call's
 * admission and the CommitGuard; a follower's store takes its leader's
 * commits through replication (src/replication/offsets-replica.ts) instead.
 */
export class GroupCoordinator {
  private readonly broker: Broker;
  /** Committed offsets; replication ships their changes (OffsetStore.onCommit). */
  readonly offsets: OffsetStore;
  private readonly membership: Membership;
  private readonly sessions: SessionExpiry;
  private readonly commits: OffsetCommits;
  private readonly consumePath: GroupConsume;
  private readonly statusView: GroupStatusView;
  private readonly groupsMax: number;
  /** Kafka's classic consumer groups (the Kafka door's), sharing the offset store, the groups cap and status. */
  readonly classic: ClassicCoordinator;

  constructor(options: CoordinatorOptions) {
    this.broker = options.broker;
    this.groupsMax = options.groupsMax ?? limits.groupsMaxDefault;
    this.offsets = options.offsets;
    this.membership = new Membership({
      broker: options.broker,
      offsets: options.offsets,
      clock: options.clock,
      logger: options.logger,
      leaderEpoch: options.leaderEpoch ?? (() => 0),
    });
    this.sessions = new SessionExpiry(this.membership, options.clock, options.sweepIntervalMs ?? 100);
    this.commits = new OffsetCommits(this.membership, options.broker, options.offsets, options.clock);
    this.consumePath = new GroupConsume(this.membership, this.commits, options.broker);
    this.classic = new ClassicCoordinator({
      broker: options.broker,
      offsets: options.offsets,
      clock: options.clock,
      logger: options.logger,
      sweepIntervalMs: options.sweepIntervalMs,
      writeCommits: (entries) => this.commits.writeCommit(entries),
      isHttpGroupLive: (groupId) => (this.membership.groups.get(groupId)?.members.size ?? 0) > 0,
      checkGroupRoom: (groupId) => this.checkGroupRoom(groupId),
    });
    this.statusView = new GroupStatusView(this.membership, options.broker, options.offsets, this.classic.groups);
  }

  /** Opens the committed-offset store in dataDir and a coordinator over it. */
  static open(options: Omit<CoordinatorOptions, "offsets"> & { dataDir: string; fs: FileSystem }): GroupCoordinator {
    const offsets = OffsetStore.open({ dataDir: options.dataDir, fs: options.fs, logger: options.logger, clock: options.clock });
    return new GroupCoordinator({ ...options, offsets });
  }

  /** Lets replication decide who may commit and when a commit is acknowledged (see CommitGuard). */
  setCommitGuard(guard: CommitGuard): void {
    this.commits.setCommitGuard(guard);
  }

  /** Ends every member's long poll, then closes the offset store (after its last fsync). */
  async close(): Promise<void> {
    this.sessions.cancel();
    this.classic.close();
    this.membership.wakeAll();
    await this.offsets.close();
  }

  // ---------------------------------------------------------------- membership

  /** Joins (or re-joins with new topics); a change of membership or subscription rebalances. */
  join(groupId: string, memberId: string, options: JoinOptions, principal: Principal = ANONYMOUS): MembershipView {
    this.admit(principal, "group_join", groupId);
    this.authorizeTopics(principal, options.topics);
    this.checkNotKafkaGroup(groupId, "join it");
    this.checkGroupRoom(groupId);
    return this.membership.join(groupId, memberId, options);
  }

  /** The seed's heartbeat: keeps the member alive and tells it the current generation and assignment. */
  heartbeat(groupId: string, memberId: string, principal: Principal = ANONYMOUS): MembershipView {
    this.admit(principal, "group_heartbeat", groupId);
    return this.membership.heartbeat(groupId, memberId);
  }

  leave(groupId: string, memberId: string, principal: Principal = ANONYMOUS): void {
    this.admit(principal, "group_leave", groupId);
    this.membership.leave(groupId, memberId);
  }

  // ---------------------------------------------------------------- consume

  /**
   * A group member's consume call: joins if needed, commits what its previous
   * call delivered (implicit acknowledgement; not with `commit: "none"`), then
   * reads from its partitions where its last call ended (at first, their
   * committed offsets), long-polling across all of them (GroupConsume).
   */
  async consume(groupId: string, memberId: string, request: GroupConsumeRequest, principal: Principal = ANONYMOUS): Promise<GroupConsumeResult> {
    this.admit(principal, "group_consume", groupId);
    this.authorizeTopics(principal, request.only === undefined ? request.topics : [...request.topics, request.only.topic]);
    this.checkNotKafkaGroup(groupId, "consume in it");
    this.checkGroupRoom(groupId);
    return this.consumePath.consume(groupId, memberId, request, () => this.admit(principal, "group_consume", groupId));
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
    this.authorizeTopics(principal, commits.map((commit) => commit.topic));
    this.checkNotKafkaGroup(groupId, "commit its offsets", "group_not_empty");
    this.checkGroupRoom(groupId);
    await this.commits.commit(groupId, memberId, generation, commits);
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
    this.authorizeTopics(principal, [topic]);
    this.checkNotKafkaGroup(groupId, "reset its offsets", "group_not_empty");
    this.checkGroupRoom(groupId);
    return this.commits.resetOffsets(groupId, topic, partitions, target);
  }

  async deleteGroup(groupId: string, principal: Principal = ANONYMOUS): Promise<void> {
    this.admit(principal, "group_delete", groupId);
    this.checkNotKafkaGroup(groupId, "delete it", "group_not_empty");
    await this.commits.deleteGroup(groupId);
    this.classic.forget(groupId);
  }

  // ---------------------------------------------------------------- status

  /**
   * A client's list of the groups (only the leader answers group calls), as
   * Kafka's ListGroups: every group for a principal that may describe the
   * cluster, else those it may describe (an empty list when none; 401 for
   * no credentials where the policy needs them).
   */
  listGroups(principal: Principal = ANONYMOUS): ReturnType<GroupCoordinator["list"]> {
    const all = this.broker.mayListAll(principal, "group_list", CLUSTER);
    this.broker.admitLeadership();
    const groups = this.list();
    return all ? groups : this.broker.visible(principal, groups, "group_describe", (group) => ({ kind: "group", id: group.groupId }));
  }

  /**
   * A client's view of one group: status(), once the gate admits it (only
   * the leader answers group calls). Committed offsets and lag are shown
   * for the topics the principal may describe, as Kafka's OffsetFetch
   * leaves out the others.
   */
  describeGroup(groupId: string, principal: Principal = ANONYMOUS): GroupStatus {
    this.admit(principal, "group_describe", groupId);
    const status = this.status(groupId);
    const partitions = this.broker.visible(principal, status.partitions, "describe_topic", (partition) => ({ kind: "topic", name: partition.topic }));
    return partitions.length === status.partitions.length ? status : { ...status, partitions };
  }

  /** Every group, live or with committed offsets: the broker's own view (metrics), passing no gate. */
  list(): { groupId: string; state: "empty" | "stable"; generation: number; members: number }[] {
    return this.statusView.list();
  }

  /** One group's members, committed offsets and lag: the broker's own view (metrics), passing no gate. */
  status(groupId: string): GroupStatus {
    return this.statusView.status(groupId);
  }

  /** status() of every group list() names, reading the offset store once: the metrics scrape's view, passing no gate. */
  statusAll(): GroupStatus[] {
    return this.statusView.statusAll();
  }

  /** statusAll() reduced to a few figures per group, at a fraction of its cost: the default metrics' view, passing no gate. */
  summaryAll(): GroupSummary[] {
    return this.statusView.summaryAll();
  }

  /**
   * Refuses to start coordinating a group past groupsMax (409
   * limit_reached): every known group costs memory, offset-store space and
   * metrics series. Known groups, live or with committed offsets, pass.
   */
  private checkGroupRoom(groupId: string): void {
    if (this.statusView.isKnown(groupId)) return;
    const groups = this.statusView.count();
    if (groups < this.groupsMax) return;
    throw new GafkaError("limit_reached", `this broker already coordinates ${groups} consumer groups, the most it may (--groups-max); group '${groupId}' is not created`, {
      details: { limit: this.groupsMax, groups, group: groupId },
    });
  }

  /**
   * A group with Kafka members (joined by the classic protocol) is theirs
   * while it has any: HTTP calls that would join it or change its offsets
   * are refused: joining with 409 inconsistent_group_protocol (as a Kafka
   * member's JoinGroup is for a group with HTTP members), offset changes
   * with 409 group_not_empty (as for a group with HTTP members). Once it
   * has no members either kind may take it, with its committed offsets.
   */
  private checkNotKafkaGroup(groupId: string, action: string, code: "inconsistent_group_protocol" | "group_not_empty" = "inconsistent_group_protocol"): void {
    if (!this.classic.isLive(groupId)) return;
    throw new GafkaError(
      code,
      `group '${groupId}' has members that joined over the Kafka protocol; it takes HTTP consumers once it has none, so you cannot ${action} now`,
      { details: { group: groupId } },
    );
  }

  /**
   * A member's reads and commits need READ on each topic too, besides READ
   * on the group (Kafka checks both): asked before anything is joined,
   * read or committed, and before a topic is looked up (403, never 404,
   * for a topic the principal may not read).
   */
  private authorizeTopics(principal: Principal, topics: readonly string[]): void {
    for (const topic of new Set(topics)) this.broker.authorize(principal, "consume", { kind: "topic", name: topic });
  }

  /** The broker's one write gate, for a call on group `groupId`. */
  private admit(principal: Principal, operation: Operation, groupId: string): void {
    this.broker.admit(principal, operation, { kind: "group", id: groupId });
  }
}

import type { Clock, Timer } from "../core/clock.ts";
import { idProblem, limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import {
  ClassicGroup,
  type ClassicGroupError,
  ClassicMember,
  type GroupProtocol,
  type JoinAnswer,
  selectProtocol,
  type SyncAnswer,
} from "./classic-group.ts";

export interface ClassicGroupsOptions {
  clock: Clock;
  logger: Logger;
  /** How often expired sessions are looked for. */
  sweepIntervalMs?: number;
  /** A fresh member id; random by default, so that no client can guess another's. */
  newMemberId?: (clientId: string) => string;
}

/** A JoinGroup, as the protocol states it. */
export interface JoinRequest {
  /** Empty for a member joining for the first time. */
  memberId: string;
  clientId: string;
  clientHost: string;
  protocolType: string;
  protocols: readonly GroupProtocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** From JoinGroup v4: a member without an id is handed one (MEMBER_ID_REQUIRED) and must join again with it. */
  requireKnownMemberId: boolean;
}

const NO_BYTES = new Uint8Array(0);

/**
 * The classic groups' state machine (Kafka's GroupCoordinator for the
 * classic protocol), over the injected clock: joins, the rebalance and its
 * timeout, the leader's assignment handed out by SyncGroup, heartbeats and
 * session expiry, leaves. It passes no gate: ClassicCoordinator admits each
 * call first. JoinGroup and SyncGroup answers are promises resolved when the
 * rebalance gets there; the Kafka listener holds each connection's request
 * open meanwhile without holding up other connections.
 */
export class ClassicGroups {
  readonly groups = new Map<string, ClassicGroup>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly newMemberId: (clientId: string) => string;
  private readonly sweep: Timer;

  constructor(options: ClassicGroupsOptions) {
    this.clock = options.clock;
    this.logger = options.logger;
    this.newMemberId =
      options.newMemberId ?? ((clientId) => `${clientId.slice(0, limits.kafkaMemberIdClientIdLengthMax)}-${crypto.randomUUID()}`);
    this.sweep = this.clock.setInterval(() => this.expireSessions(), options.sweepIntervalMs ?? 100);
  }

  /** Stops the timers and answers every held request: the broker is going away. */
  close(): void {
    this.sweep.cancel();
    for (const group of this.groups.values()) {
      group.rebalanceTimer?.cancel();
      for (const member of group.members.values()) this.dropWaiters(member, "coordinator_not_available");
    }
  }

  /** Joins or rejoins; resolves when the rebalance completes (or at once with an error or the current generation). */
  join(groupId: string, request: JoinRequest): Promise<JoinAnswer> {
    if (idProblem("group_id", groupId) !== undefined) return Promise.resolve(joinError("invalid_group_id", request.memberId));
    const { sessionTimeoutMs } = request;
    if (sessionTimeoutMs < limits.kafkaGroupSessionTimeoutMsMin || sessionTimeoutMs > limits.kafkaGroupSessionTimeoutMsMax) {
      return Promise.resolve(joinError("invalid_session_timeout", request.memberId));
    }
    if (request.protocolType === "" || request.protocols.length === 0) return Promise.resolve(joinError("inconsistent_group_protocol", request.memberId));
    const existing = this.groups.get(groupId);
    if (existing !== undefined && !existing.accepts(request.protocolType, request.protocols, request.memberId || undefined)) {
      return Promise.resolve(joinError("inconsistent_group_protocol", request.memberId));
    }
    const group = existing ?? this.created(groupId);
    return request.memberId === "" ? this.joinNewMember(group, request) : this.joinKnownMember(group, request);
  }

  /** The member's assignment once the leader has handed it in (at once in Stable). */
  sync(groupId: string, memberId: string, generationId: number, assignments: ReadonlyMap<string, Uint8Array>): Promise<SyncAnswer> {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return Promise.resolve({ error: "unknown_member_id", assignment: NO_BYTES });
    if (generationId !== group.generationId) return Promise.resolve({ error: "illegal_generation", assignment: NO_BYTES });
    if (group.state === "PreparingRebalance") return Promise.resolve({ error: "rebalance_in_progress", assignment: NO_BYTES });
    this.touch(member);
    if (group.state === "Stable") return Promise.resolve({ error: null, assignment: member.assignment });
    return new Promise((resolve) => {
      member.awaitingSync?.({ error: "rebalance_in_progress", assignment: NO_BYTES });
      member.awaitingSync = resolve;
      if (memberId === group.leaderId) this.completeSync(group, assignments);
    });
  }

  /** A heartbeat's answer: null when all is well, rebalance_in_progress when the member must rejoin. */
  heartbeat(groupId: string, memberId: string, generationId: number): ClassicGroupError | null {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return "unknown_member_id";
    if (generationId !== group.generationId) return "illegal_generation";
    this.touch(member);
    return group.state === "PreparingRebalance" ? "rebalance_in_progress" : null;
  }

  /** Members leave; one answer per member id, in order. The group rebalances without them. */
  leave(groupId: string, memberIds: readonly string[]): (ClassicGroupError | null)[] {
    const group = this.groups.get(groupId);
    if (group === undefined) return memberIds.map(() => "unknown_member_id");
    let removed = false;
    const answers = memberIds.map((memberId): ClassicGroupError | null => {
      const member = group.members.get(memberId);
      if (member !== undefined) {
        this.removeMember(group, member, "left the group");
        removed = true;
        return null;
      }
      return group.pendingMembers.delete(memberId) ? null : "unknown_member_id";
    });
    if (removed) this.rebalanceAfterRemoval(group);
    else this.tryCompleteJoin(group);
    return answers;
  }

  /**
   * Whether an OffsetCommit may be taken: from a member of the current
   * generation (not while the generation waits for its assignment), or,
   * with generation -1 and no member id, for a group without members.
   */
  commitCheck(groupId: string, memberId: string, generationId: number): ClassicGroupError | null {
    const group = this.groups.get(groupId);
    if (generationId < 0 && memberId === "") return group?.isLive ? "unknown_member_id" : null;
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return "unknown_member_id";
    if (generationId !== group.generationId) return "illegal_generation";
    if (group.state === "CompletingRebalance") return "rebalance_in_progress";
    this.touch(member);
    return null;
  }

  /** Forgets a group without members (its committed offsets were deleted). */
  forget(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined || group.isLive) return;
    group.state = "Dead";
    this.groups.delete(groupId);
  }

  // ---------------------------------------------------------------- joins

  private joinNewMember(group: ClassicGroup, request: JoinRequest): Promise<JoinAnswer> {
    if (group.members.size + group.pendingMembers.size >= limits.groupMembersMax) {
      this.dropIfEmpty(group);
      return Promise.resolve(joinError("group_max_size_reached", ""));
    }
    const memberId = this.newMemberId(request.clientId);
    if (request.requireKnownMemberId) {
      group.pendingMembers.set(memberId, { sinceMonotonicMs: this.clock.monotonicMs(), sessionTimeoutMs: request.sessionTimeoutMs });
      return Promise.resolve(joinError("member_id_required", memberId));
    }
    return this.addMember(group, memberId, request);
  }

  private joinKnownMember(group: ClassicGroup, request: JoinRequest): Promise<JoinAnswer> {
    const { memberId } = request;
    if (group.pendingMembers.delete(memberId)) return this.addMember(group, memberId, request);
    const member = group.members.get(memberId);
    if (member === undefined) {
      this.dropIfEmpty(group);
      return Promise.resolve(joinError("unknown_member_id", memberId));
    }
    const changed = !sameProtocols(member.protocols, request.protocols);
    this.update(member, request);
    if (group.state === "PreparingRebalance") return this.awaitJoin(group, member);
    // A member rejoining unchanged (it missed its answer) gets the current generation again; the leader's
    // rejoin or a change of protocols starts a new one.
    if (group.state === "CompletingRebalance" && !changed) return Promise.resolve(this.joinAnswer(group, member));
    if (group.state === "Stable" && !changed && memberId !== group.leaderId) return Promise.resolve(this.joinAnswer(group, member));
    this.prepareRebalance(group, `member ${memberId} rejoined${changed ? " with other protocols" : ""}`);
    return this.awaitJoin(group, member);
  }

  private addMember(group: ClassicGroup, memberId: string, request: JoinRequest): Promise<JoinAnswer> {
    if (group.members.size === 0) group.protocolType = request.protocolType;
    const now = this.clock.monotonicMs();
    const member = new ClassicMember(
      memberId,
      request.clientId,
      request.clientHost,
      request.sessionTimeoutMs,
      rebalanceTimeoutOf(request),
      request.protocols,
      now,
      this.clock.nowMs(),
    );
    group.members.set(memberId, member);
    this.logger.info(`kafka group ${group.groupId}: member ${memberId} joined`);
    if (group.state !== "PreparingRebalance") this.prepareRebalance(group, `member ${memberId} joined`);
    return this.awaitJoin(group, member);
  }

  private update(member: ClassicMember, request: JoinRequest): void {
    member.protocols = request.protocols;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = rebalanceTimeoutOf(request);
    this.touch(member);
  }

  private awaitJoin(group: ClassicGroup, member: ClassicMember): Promise<JoinAnswer> {
    return new Promise((resolve) => {
      // A second JoinGroup from the same member replaces the first, which is answered so that the client is not left waiting.
      member.awaitingJoin?.(joinError("rebalance_in_progress", member.memberId));
      member.awaitingJoin = resolve;
      this.tryCompleteJoin(group);
    });
  }

  // ---------------------------------------------------------------- rebalance

  /** A new generation is needed: members must rejoin within the rebalance timeout (the longest any member asked for). */
  private prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.state === "CompletingRebalance") {
      for (const member of group.members.values()) {
        member.awaitingSync?.({ error: "rebalance_in_progress", assignment: NO_BYTES });
        member.awaitingSync = undefined;
      }
    }
    group.state = "PreparingRebalance";
    group.rebalanceTimer?.cancel();
    const timeoutMs = Math.max(0, ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    group.rebalanceTimer = this.clock.setTimeout(() => this.rebalanceTimedOut(group), timeoutMs);
    this.logger.info(`kafka group ${group.groupId}: rebalancing (${reason})`);
  }

  /** The rebalance timeout passed: members that did not rejoin are removed, and the join completes with the others. */
  private rebalanceTimedOut(group: ClassicGroup): void {
    group.rebalanceTimer = undefined;
    if (group.state !== "PreparingRebalance") return;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === undefined) this.removeMember(group, member, "did not rejoin within the rebalance timeout");
    }
    group.pendingMembers.clear();
    this.completeJoin(group);
  }

  private tryCompleteJoin(group: ClassicGroup): void {
    if (group.state !== "PreparingRebalance") return;
    if (group.pendingMembers.size > 0) return;
    for (const member of group.members.values()) if (member.awaitingJoin === undefined) return;
    this.completeJoin(group);
  }

  /** Forms the next generation: its protocol, its leader (the previous one if still here, else the first member), each joiner answered. */
  private completeJoin(group: ClassicGroup): void {
    group.rebalanceTimer?.cancel();
    group.rebalanceTimer = undefined;
    group.generationId++;
    if (group.members.size === 0) {
      group.state = "Empty";
      group.protocolName = null;
      group.protocolType = null;
      group.leaderId = null;
      this.dropIfEmpty(group);
      return;
    }
    const members = [...group.members.values()];
    const leader = group.members.get(group.leaderId ?? "") ?? members[0];
    group.leaderId = leader.memberId;
    group.protocolName = selectProtocol(members, leader);
    group.state = "CompletingRebalance";
    for (const member of members) member.assignment = NO_BYTES;
    this.logger.info(`kafka group ${group.groupId}: generation ${group.generationId} with ${members.length} members, protocol ${group.protocolName}`);
    for (const member of members) {
      this.touch(member);
      const answer = member.awaitingJoin;
      member.awaitingJoin = undefined;
      answer?.(this.joinAnswer(group, member));
    }
  }

  /** The leader's assignments arrived: each member gets its own, and the group is Stable. */
  private completeSync(group: ClassicGroup, assignments: ReadonlyMap<string, Uint8Array>): void {
    group.state = "Stable";
    for (const member of group.members.values()) {
      member.assignment = assignments.get(member.memberId) ?? NO_BYTES;
      const answer = member.awaitingSync;
      member.awaitingSync = undefined;
      answer?.({ error: null, assignment: member.assignment });
    }
  }

  private joinAnswer(group: ClassicGroup, member: ClassicMember): JoinAnswer {
    const protocolName = group.protocolName!;
    const isLeader = member.memberId === group.leaderId;
    return {
      error: null,
      generationId: group.generationId,
      protocolName,
      leader: group.leaderId!,
      memberId: member.memberId,
      members: isLeader ? [...group.members.values()].map((m) => ({ memberId: m.memberId, metadata: m.metadataFor(protocolName) })) : [],
    };
  }

  // ---------------------------------------------------------------- removal

  private removeMember(group: ClassicGroup, member: ClassicMember, reason: string): void {
    group.members.delete(member.memberId);
    this.dropWaiters(member, "unknown_member_id");
    this.logger.info(`kafka group ${group.groupId}: member ${member.memberId} ${reason}`);
  }

  private rebalanceAfterRemoval(group: ClassicGroup): void {
    if (group.state === "Stable" || group.state === "CompletingRebalance") this.prepareRebalance(group, "a member left");
    this.tryCompleteJoin(group);
  }

  /** Members and handed-out ids that missed their session timeout are removed; the group rebalances without them. */
  private expireSessions(): void {
    const now = this.clock.monotonicMs();
    for (const group of [...this.groups.values()]) {
      let removed = false;
      for (const [memberId, pending] of group.pendingMembers) {
        if (now - pending.sinceMonotonicMs > pending.sessionTimeoutMs) group.pendingMembers.delete(memberId);
      }
      for (const member of [...group.members.values()]) {
        if (!member.isWaiting && now - member.lastSeenMonotonicMs > member.sessionTimeoutMs) {
          this.removeMember(group, member, `missed its session timeout of ${member.sessionTimeoutMs} ms`);
          removed = true;
        }
      }
      if (removed) this.rebalanceAfterRemoval(group);
      else this.tryCompleteJoin(group);
      this.dropIfEmpty(group);
    }
  }

  private dropWaiters(member: ClassicMember, error: ClassicGroupError): void {
    member.awaitingJoin?.(joinError(error, member.memberId));
    member.awaitingJoin = undefined;
    member.awaitingSync?.({ error, assignment: NO_BYTES });
    member.awaitingSync = undefined;
  }

  private touch(member: ClassicMember): void {
    member.lastSeenMonotonicMs = this.clock.monotonicMs();
    member.lastSeenAtMs = this.clock.nowMs();
  }

  private created(groupId: string): ClassicGroup {
    const group = new ClassicGroup(groupId);
    this.groups.set(groupId, group);
    return group;
  }

  /** An Empty group keeps nothing worth memory: its committed offsets are in the OffsetStore. */
  private dropIfEmpty(group: ClassicGroup): void {
    if (group.state === "Empty" && !group.isLive) this.groups.delete(group.groupId);
  }
}

function joinError(error: ClassicGroupError, memberId: string): JoinAnswer {
  return { error, generationId: -1, protocolName: "", leader: "", memberId, members: [] };
}

/** JoinGroup v0 has no rebalance timeout: the session timeout stands for it, as in Kafka. */
function rebalanceTimeoutOf(request: JoinRequest): number {
  const asked = request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs;
  return Math.min(asked, limits.kafkaGroupRebalanceTimeoutMsMax);
}

function sameProtocols(a: readonly GroupProtocol[], b: readonly GroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && Buffer.from(p.metadata).equals(b[i].metadata));
}

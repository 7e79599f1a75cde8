import type { Broker } from "../broker/broker.ts";
import type { Clock } from "../core/clock.ts";
import { GafkaError, invalidRequest } from "../core/errors.ts";
import { idProblem, limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import { ASSIGNOR_NAMES, type Assignor, type AssignorName } from "./assignor.ts";
import type { JoinOptions, MembershipView } from "./coordinator-types.ts";
import { Group, Member } from "./group.ts";
import type { OffsetStore } from "./offset-store.ts";
import { roundRobinAssignor } from "./round-robin-assignor.ts";
import { stickyAssignor } from "./sticky-assignor.ts";

const ASSIGNORS: Record<AssignorName, Assignor> = { "round-robin": roundRobinAssignor, sticky: stickyAssignor };

export interface MembershipOptions {
  broker: Broker;
  /** Read only to tell a group with committed offsets (known, though without members) from an unknown one. */
  offsets: OffsetStore;
  clock: Clock;
  logger: Logger;
  leaderEpoch: () => number;
}

/**
 * The live groups and their members, in memory (spec/seed.md §3): joins,
 * heartbeats, leaves, and a rebalance (a new generation, a fresh assignment)
 * on every membership change. Calls arrive here already admitted by the
 * broker's write gate (GroupCoordinator).
 */
export class Membership {
  readonly groups = new Map<string, Group>();
  private readonly broker: Broker;
  private readonly offsets: OffsetStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaderEpoch: () => number;

  constructor(options: MembershipOptions) {
    this.broker = options.broker;
    this.offsets = options.offsets;
    this.clock = options.clock;
    this.logger = options.logger;
    this.leaderEpoch = options.leaderEpoch;
  }

  /** Ends every member's long poll. */
  wakeAll(): void {
    for (const group of this.groups.values()) for (const member of group.members.values()) member.wake.abort();
  }

  /** Joins (or re-joins with new topics); a change of membership or subscription rebalances. */
  join(groupId: string, memberId: string, options: JoinOptions): MembershipView {
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

  /** Keeps the member alive and tells it the current generation and assignment. */
  heartbeat(groupId: string, memberId: string): MembershipView {
    const { group, member } = this.memberOrThrow(groupId, memberId);
    this.touch(member);
    return this.view(group, member);
  }

  leave(groupId: string, memberId: string): void {
    const { group, member } = this.memberOrThrow(groupId, memberId);
    this.removeMember(group, member, "left");
  }

  /** Every membership change: a new generation and a fresh assignment. */
  rebalance(group: Group): void {
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

  removeMember(group: Group, member: Member, why: string): void {
    group.members.delete(member.memberId);
    member.wake.abort();
    this.logger.info(`group ${group.groupId}: member ${member.memberId} ${why}`);
    this.rebalance(group);
  }

  /** A sign of life from the member. */
  touch(member: Member): void {
    member.lastSeenMonotonicMs = this.clock.monotonicMs();
    member.lastSeenAtMs = this.clock.nowMs();
  }

  view(group: Group, member: Member): MembershipView {
    return {
      groupId: group.groupId,
      memberId: member.memberId,
      generation: group.generation,
      assignment: member.assignment,
      sessionTimeoutMs: member.sessionTimeoutMs,
    };
  }

  /** A 409 that tells the member where the group is now. */
  conflict(code: "stale_generation" | "partition_not_owned", message: string, group: Group, member: Member): GafkaError {
    return new GafkaError(code, message, {
      details: { generation: group.generation, member_id: member.memberId, assignment: member.assignment, leader_epoch: this.leaderEpoch() },
    });
  }

  memberOrThrow(groupId: string, memberId: string): { group: Group; member: Member } {
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

  /** A group is known while it has members or committed offsets. */
  checkKnownGroup(groupId: string): void {
    const problem = idProblem("group_id", groupId);
    if (problem) throw invalidRequest(problem, { field: "group_id" });
    if (!this.groups.has(groupId) && this.offsets.offsetsOf(groupId).length === 0) {
      throw new GafkaError("group_not_found", `group '${groupId}' does not exist`, { details: { group: groupId } });
    }
  }

  checkNoMembers(groupId: string, action: string): void {
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

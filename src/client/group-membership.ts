import { GafkaClientError } from "./client-error.ts";
import type { Membership } from "./group-consumer-options.ts";
import type { TopicPartition } from "./topic-partition.ts";
import type { WireMembership } from "./wire.ts";

/** 409s and re-joins one call rides out before it gives up: each one means the group changed under it. */
export const REBALANCE_RETRIES_MAX = 10;

/**
 * What a group member believes about its membership: the broker's last
 * answer, the highest leader epoch any answer carried, and whether the
 * broker may know (or must first forget) this member.
 *
 * Leader epochs: every membership answer says under which leader epoch its
 * coordinator led. The highest seen is kept and an answer with a lower one —
 * a deposed leader's coordinator may still be answering — is dropped as if
 * the member owned nothing.
 */
export class GroupMembership {
  /** The generation and assignment as of the last answer; undefined before joining or after the session was lost. */
  current: Membership | undefined;
  /** The highest leader epoch any membership answer carried; answers under a lower one are a deposed coordinator's. */
  private leaderEpochSeen = -1;
  /** A join or consume call was sent since the last leave: the broker may know this member. */
  mayBeMember = false;
  /** The broker may hold deliveries that never reached us: leave before joining again. */
  mustLeaveFirst = false;

  /**
   * Takes a membership answer as the truth, unless it comes under an older
   * leader epoch than one seen: then the membership is forgotten (this member
   * owns nothing) and `stale_leader_epoch` is thrown, which the callers treat
   * as retriable — the next attempt joins again.
   */
  adopt(answer: WireMembership): void {
    const leaderEpoch = typeof answer.leader_epoch === "number" ? answer.leader_epoch : 0;
    this.checkLeaderEpoch(leaderEpoch);
    this.current = {
      groupId: answer.group_id,
      consumerId: answer.consumer_id,
      generation: answer.generation,
      assignment: answer.assignment.map(({ topic, partition }) => ({ topic, partition })),
      sessionTimeoutMs: answer.session_timeout_ms,
      leaderEpoch,
    };
  }

  /**
   * A heartbeat's answer. One that raced a newer one (from a poll) must not
   * roll the generation back; a coordinator under a newer leader epoch counts
   * its generations afresh.
   */
  adoptHeartbeat(answer: WireMembership): void {
    const epoch = typeof answer.leader_epoch === "number" ? answer.leader_epoch : 0;
    const current = this.current;
    if (current !== undefined && (epoch > current.leaderEpoch || epoch < this.leaderEpochSeen || answer.generation >= current.generation)) this.adopt(answer);
  }

  /** A 409 carries the current generation and assignment; a 404 means join again. */
  adoptConflict(error: GafkaClientError): void {
    const { generation, assignment, leader_epoch } = error.details as { generation?: unknown; assignment?: unknown; leader_epoch?: unknown };
    const stale = typeof leader_epoch === "number" && leader_epoch < this.leaderEpochSeen;
    if (stale || isMembershipLost(error) || this.current === undefined || typeof generation !== "number" || !Array.isArray(assignment)) {
      this.forget(false);
      return;
    }
    if (typeof leader_epoch === "number") this.leaderEpochSeen = leader_epoch;
    this.current = { ...this.current, generation, assignment: assignment as TopicPartition[], ...(typeof leader_epoch === "number" ? { leaderEpoch: leader_epoch } : {}) };
  }

  /** The broker no longer counts this member (or must forget it first); the next call joins again. */
  forget(leaveFirst: boolean): void {
    this.current = undefined;
    if (leaveFirst) this.mustLeaveFirst = true;
  }

  /** The member left: the broker knows it no more. */
  left(): void {
    this.mustLeaveFirst = false;
    this.mayBeMember = false;
    this.current = undefined;
  }

  private checkLeaderEpoch(leaderEpoch: number): void {
    if (leaderEpoch >= this.leaderEpochSeen) {
      this.leaderEpochSeen = leaderEpoch;
      return;
    }
    this.forget(false);
    throw new GafkaClientError(
      "stale_leader_epoch",
      `a coordinator answered under leader epoch ${leaderEpoch}, older than ${this.leaderEpochSeen}: its assignment is dropped and the member joins again`,
      { retriable: true, details: { leader_epoch: leaderEpoch, leader_epoch_seen: this.leaderEpochSeen } },
    );
  }
}

/** The group moved on (409) or forgot this member (404): retry with what the answer says. */
export function isRebalance(error: GafkaClientError): boolean {
  return error.code === "stale_generation" || error.code === "partition_not_owned" || isMembershipLost(error);
}

export function isMembershipLost(error: GafkaClientError): boolean {
  return error.code === "unknown_member" || error.code === "group_not_found";
}

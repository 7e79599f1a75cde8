import type { PartitionLogApi } from "../storage/log-types.ts";
import { isGafkaError } from "../core/errors.ts";
import { type AccessPolicy, OPEN_POLICY } from "../security/access-policy.ts";
import type { Operation, Resource } from "../security/operations.ts";
import type { Principal } from "../security/principal.ts";
import type { Acks } from "./acks.ts";

export { ANONYMOUS, type Principal } from "../security/principal.ts";
export type { Operation, Resource } from "../security/operations.ts";

/**
 * Where an append comes from (Kafka's AppendOrigin): a client's records,
 * which pass the gate and get their offsets here; the leader's stored
 * frames replicated to a follower, which keep their offsets and pass no
 * gate (the leader admitted them); or the group coordinator's own writes
 * (committed offsets), admitted as the group call that caused them.
 */
export type AppendOrigin = "client" | "replication" | "coordinator";

/**
 * Replication's say over writes (src/replication/replica-manager.ts).
 * Without one, a broker alone takes every write and acks=all means acks=1.
 */
export interface WriteGuard {
  /**
   * Throws not_leader when this broker may not take writes (a follower, a
   * fenced leader, or one stopping); returns the leadership term the write
   * is taken under.
   */
  admitWrite(): number;
  /**
   * Throws unless this broker may act as group coordinator now: not_leader
   * as admitWrite, not_leader_lease (503, retriable) when it leads without
   * its lease, so that two coordinators never answer at once.
   */
  checkLease(): void;
  /**
   * Just before the local append of an acks=all write to `log`: throws
   * not_enough_replicas (503, retriable) when too few replicas are in sync
   * to meet it. Nothing is written then, so the client's retry stores the
   * records once; refused after the append, a retry would store them twice.
   * `minInsyncReplicas` is the topic's min.insync.replicas (the leader's
   * --min-insync-replicas when absent: never fewer than it).
   */
  checkAppend(acks: Acks, log: PartitionLogApi, minInsyncReplicas?: number): void;
  /**
   * After the local append of offsets below `endOffset`: resolves when `acks`
   * is satisfied; throws not_leader when the term ended first (a deposed
   * leader never acknowledges a write), not_enough_replicas_after_append
   * when acks=all cannot be met (the records stay, unacknowledged).
   */
  settle(term: number, acks: Acks, log: PartitionLogApi, endOffset: number, minInsyncReplicas?: number): Promise<void>;
}

/**
 * The one gate every request passes, whichever door it came in by. Writes
 * (Broker: produce, topic create and delete; GroupCoordinator: every group
 * call) call admit(): whether the principal may (the AccessPolicy:
 * authentication, ACLs), then whether this broker may take the write now
 * (leadership, fencing, the coordinator's lease). Reads and cluster calls
 * call authorize(): the principal's half alone.
 */
export class WriteGate {
  private guard: WriteGuard | undefined;
  private policy: AccessPolicy = OPEN_POLICY;

  /** Decides who may do what (src/security); open to everyone until set. */
  setPolicy(policy: AccessPolicy): void {
    this.policy = policy;
  }

  /** Throws unauthenticated (401) or forbidden (403) unless `principal` may do `operation` on `resource`. */
  authorize(principal: Principal, operation: Operation, resource: Resource): void {
    this.policy.check(principal, operation, resource);
  }

  /** authorize() as a boolean, for filtering what a list shows. */
  allows(principal: Principal, operation: Operation, resource: Resource): boolean {
    return this.policy.allows(principal, operation, resource);
  }

  /**
   * What a list shows `principal`, Kafka's way: 401 for no credentials where
   * the policy needs them; otherwise each item the principal may do
   * `operation` on (`resource` names it), the others left out. A principal
   * allowed none gets an empty list, not a 403: it learns only that it may
   * see nothing.
   */
  visible<T>(principal: Principal, items: readonly T[], operation: Operation, resource: (item: T) => Resource): T[] {
    this.policy.checkAuthenticated(principal);
    return items.filter((item) => this.policy.allows(principal, operation, resource(item)));
  }

  /**
   * For a list that one right on a wider resource shows whole (the groups:
   * DESCRIBE on the cluster shows every group, as in Kafka's ListGroups):
   * true when `principal` may do `operation` on `resource`, false when it is
   * forbidden (the caller then filters with visible()); throws
   * unauthenticated (401) for no credentials where the policy needs them.
   */
  mayListAll(principal: Principal, operation: Operation, resource: Resource): boolean {
    try {
      this.policy.check(principal, operation, resource);
      return true;
    } catch (error) {
      if (isGafkaError(error) && error.code === "forbidden") return false;
      throw error;
    }
  }

  /**
   * Replication's half of admit() alone: throws not_leader unless this
   * broker may take writes now (no guard: always). For a call whose
   * principal's half was decided item by item (a filtered list).
   */
  admitLeadership(): void {
    this.guard?.admitWrite();
  }

  /** Lets replication decide who may write (see WriteGuard). */
  setGuard(guard: WriteGuard): void {
    this.guard = guard;
  }

  /** Replication's guard, for settling an admitted write (absent without replication). */
  get writeGuard(): WriteGuard | undefined {
    return this.guard;
  }

  /**
   * Throws a typed error (unauthenticated, forbidden, not_leader,
   * not_leader_lease) when `principal` may not do `operation` on `resource`
   * here and now; returns the leadership term the write is taken under (0
   * without replication).
   */
  admit(principal: Principal, operation: Operation, resource: Resource): number {
    this.policy.check(principal, operation, resource);
    const guard = this.guard;
    if (guard === undefined) return 0;
    const term = guard.admitWrite();
    if (NEEDS_LEASE[operation]) guard.checkLease();
    return term;
  }
}

/**
 * Which operations need the leader's lease as well as its leadership: the
 * coordinator's group calls that change or hand out state, and changes to
 * users, tokens and ACLs. Group reads need leadership only.
 */
const NEEDS_LEASE: Partial<Record<Operation, boolean>> = {
  produce: false,
  create_topic: false,
  delete_topic: false,
  delete_records: false,
  alter_topic_config: false,
  group_join: true,
  group_heartbeat: true,
  group_leave: true,
  group_consume: true,
  group_commit: true,
  group_reset_offsets: true,
  group_delete: true,
  group_describe: false,
  group_list: false,
  // A leader that may already be deposed must not take a change to who may
  // do what: the new leader's store would drop it, undoing a revocation.
  alter_security: true,
};

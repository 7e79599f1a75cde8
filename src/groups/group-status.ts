import type { Broker } from "../broker/broker.ts";
import { comparePartitions, partitionKey, type TopicPartition } from "./assignor.ts";
import type { GroupStatus, PartitionStatus } from "./coordinator-types.ts";
import type { Group } from "./group.ts";
import type { Membership } from "./membership.ts";
import type { OffsetStore } from "./offset-store.ts";

/** What a group looks like from outside: its members, committed offsets and lag. It passes no gate. */
export class GroupStatusView {
  constructor(
    private readonly membership: Membership,
    private readonly broker: Broker,
    private readonly offsets: OffsetStore,
  ) {}

  /** Every group, live or with committed offsets: the broker's own view (metrics), passing no gate. */
  list(): { groupId: string; state: "empty" | "stable"; generation: number; members: number }[] {
    const ids = new Set([...this.membership.groups.keys(), ...this.offsets.groups()]);
    return [...ids].sort().map((groupId) => {
      const group = this.membership.groups.get(groupId);
      return { groupId, state: group?.state ?? "empty", generation: group?.generation ?? 0, members: group?.members.size ?? 0 };
    });
  }

  /** Whether the group is live or has committed offsets. */
  isKnown(groupId: string): boolean {
    return this.membership.groups.has(groupId) || this.offsets.hasGroup(groupId);
  }

  /** How many groups are live or have committed offsets. */
  count(): number {
    const ids = new Set(this.membership.groups.keys());
    for (const groupId of this.offsets.groups()) ids.add(groupId);
    return ids.size;
  }

  /** One group's members, committed offsets and lag: the broker's own view (metrics), passing no gate. */
  status(groupId: string): GroupStatus {
    this.membership.checkKnownGroup(groupId);
    return this.statusOf(groupId, this.offsets.acknowledgedOf(groupId));
  }

  /**
   * Every group's status (as list() names them), reading the offset store
   * once for all: what a metrics scrape needs, at the cost of one pass
   * rather than one per group.
   */
  statusAll(): GroupStatus[] {
    const acknowledged = this.offsets.acknowledgedByGroup();
    return this.list().map(({ groupId }) => this.statusOf(groupId, acknowledged.get(groupId) ?? []));
  }

  private statusOf(groupId: string, acknowledged: readonly TopicPartition[]): GroupStatus {
    const group = this.membership.groups.get(groupId);
    const members = group ? [...group.members.values()] : [];
    const partitions = new Map<string, TopicPartition>();
    // Committed means acknowledged: a commit that enough replicas do not hold yet is not reported.
    for (const committed of acknowledged) partitions.set(partitionKey(committed), committed);
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
    let logStartOffset: number | null = null;
    try {
      const bounds = this.broker.partitionBounds(tp.topic, tp.partition);
      logEndOffset = bounds.highWatermark;
      logStartOffset = bounds.earliest;
    } catch {
      // The topic was deleted or the partition is offline: no log end to report.
    }
    const belowLogStart = committedOffset !== null && logStartOffset !== null && committedOffset < logStartOffset;
    // Lag from where the group will read next: a committed offset below the log start resumes at the log start.
    const position = committedOffset === null || belowLogStart ? (logStartOffset ?? this.safeEarliest(tp)) : committedOffset;
    const lag = logEndOffset === null ? null : logEndOffset - position;
    return { ...tp, committedOffset, logStartOffset, belowLogStart, logEndOffset, lag, owner: group?.ownerOf(tp)?.memberId ?? null };
  }

  private safeEarliest(tp: TopicPartition): number {
    try {
      return this.broker.partitionBounds(tp.topic, tp.partition).earliest;
    } catch {
      return 0;
    }
  }
}

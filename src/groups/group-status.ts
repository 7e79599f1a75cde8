import type { Broker } from "../broker/broker.ts";
import { comparePartitions, partitionKey, type TopicPartition } from "./assignor.ts";
import type { ClassicGroup } from "./classic-group.ts";
import type { ClassicGroups } from "./classic-groups.ts";
import { assignedPartitions, subscribedTopics } from "./consumer-protocol.ts";
import type { GroupStatus, GroupSummary, PartitionStatus } from "./coordinator-types.ts";
import type { Membership } from "./membership.ts";
import type { OffsetStore } from "./offset-store.ts";

/**
 * What a group looks like from outside: its members, committed offsets and
 * lag, for HTTP groups and Kafka (classic protocol) groups alike, which
 * share the committed offsets. It passes no gate.
 */
export class GroupStatusView {
  constructor(
    private readonly membership: Membership,
    private readonly broker: Broker,
    private readonly offsets: OffsetStore,
    private readonly kafkaGroups: ClassicGroups,
  ) {}

  /** Every group, live or with committed offsets: the broker's own view (metrics), passing no gate. */
  list(): { groupId: string; state: "empty" | "stable"; generation: number; members: number }[] {
    return [...this.ids()].sort().map((groupId) => {
      const kafkaGroup = this.liveKafkaGroup(groupId);
      if (kafkaGroup !== undefined) return { groupId, state: "stable", generation: kafkaGroup.generationId, members: kafkaGroup.members.size };
      const group = this.membership.groups.get(groupId);
      return { groupId, state: group?.state ?? "empty", generation: group?.generation ?? 0, members: group?.members.size ?? 0 };
    });
  }

  /** Whether the group is live (over HTTP or Kafka) or has committed offsets. */
  isKnown(groupId: string): boolean {
    return this.membership.groups.has(groupId) || this.kafkaGroups.groups.has(groupId) || this.offsets.hasGroup(groupId);
  }

  /** How many groups are live or have committed offsets. */
  count(): number {
    return this.ids().size;
  }

  /** One group's members, committed offsets and lag: the broker's own view (metrics), passing no gate. */
  status(groupId: string): GroupStatus {
    if (this.liveKafkaGroup(groupId) === undefined) this.membership.checkKnownGroup(groupId);
    return this.statusOf(groupId, this.offsets.acknowledgedOf(groupId));
  }

  private ids(): Set<string> {
    const ids = new Set([...this.membership.groups.keys(), ...this.kafkaGroups.groups.keys()]);
    for (const groupId of this.offsets.groups()) ids.add(groupId);
    return ids;
  }

  private liveKafkaGroup(groupId: string): ClassicGroup | undefined {
    const group = this.kafkaGroups.groups.get(groupId);
    return group?.isLive ? group : undefined;
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

  /**
   * Every group's summary (as list() names them): what statusAll() would
   * give, counted without building a status per partition. A metrics scrape
   * of 1,000 groups on a 100-partition topic is 100,000 group-partitions;
   * each partition's log bounds are read once per call for all groups, and a
   * group's committed offsets are taken as the store holds them, with no
   * lookup, key or sort per partition.
   */
  summaryAll(): GroupSummary[] {
    const acknowledged = this.offsets.acknowledgedByGroup();
    const bounds = new PartitionBoundsCache(this.broker);
    return this.list().map(({ groupId, members }) => {
      const committed = acknowledged.get(groupId) ?? [];
      let lag = 0;
      for (const offset of committed) lag += bounds.lag(offset.topic, offset.partition, offset.offset) ?? 0;
      let partitions = committed.length;
      const assigned = this.assignedPartitions(groupId);
      if (assigned.length > 0) {
        const counted = new Set(committed.map(partitionKey));
        for (const tp of assigned) {
          const key = partitionKey(tp);
          if (counted.has(key)) continue;
          counted.add(key);
          partitions++;
          lag += bounds.lag(tp.topic, tp.partition, null) ?? 0;
        }
      }
      return { groupId, members, partitions, lag };
    });
  }

  /** The partitions the group's live members are assigned (a Kafka group's as its leader handed them out). */
  private assignedPartitions(groupId: string): TopicPartition[] {
    const kafkaGroup = this.liveKafkaGroup(groupId);
    if (kafkaGroup !== undefined) return [...kafkaGroup.members.values()].flatMap((m) => assignedPartitions(m.assignment));
    const group = this.membership.groups.get(groupId);
    return group === undefined ? [] : [...group.members.values()].flatMap((m) => m.assignment);
  }

  private statusOf(groupId: string, acknowledged: readonly TopicPartition[]): GroupStatus {
    const kafkaGroup = this.liveKafkaGroup(groupId);
    if (kafkaGroup !== undefined) return this.withPartitions(groupId, acknowledged, this.kafkaGroupStatus(kafkaGroup));
    const group = this.membership.groups.get(groupId);
    const members = group ? [...group.members.values()] : [];
    return this.withPartitions(groupId, acknowledged, {
      groupId,
      state: group?.state ?? "empty",
      generation: group?.generation ?? 0,
      assignor: group?.assignorName ?? "round-robin",
      members: members.map((m) => ({
        memberId: m.memberId,
        topics: m.topics,
        sessionTimeoutMs: m.sessionTimeoutMs,
        lastHeartbeatAtMs: m.lastSeenAtMs,
        assignment: m.assignment,
      })),
      partitions: [],
    });
  }

  /**
   * A Kafka group's members, their topics and partitions read from the
   * consumer protocol's bytes they exchanged (consumer-protocol.ts); the
   * assignor is the protocol the generation chose.
   */
  private kafkaGroupStatus(group: ClassicGroup): GroupStatus {
    const protocolName = group.protocolName ?? "";
    return {
      groupId: group.groupId,
      state: "stable",
      generation: group.generationId,
      assignor: protocolName,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        topics: subscribedTopics(m.metadataFor(protocolName || (m.protocols[0]?.name ?? ""))),
        sessionTimeoutMs: m.sessionTimeoutMs,
        lastHeartbeatAtMs: m.lastSeenAtMs,
        assignment: assignedPartitions(m.assignment),
      })),
      partitions: [],
    };
  }

  /** Sorts the members and adds every partition the group has committed on or assigned, with lag and owner. */
  private withPartitions(groupId: string, acknowledged: readonly TopicPartition[], status: GroupStatus): GroupStatus {
    const members = [...status.members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
    const partitions = new Map<string, TopicPartition>();
    // Committed means acknowledged: a commit that enough replicas do not hold yet is not reported.
    for (const committed of acknowledged) partitions.set(partitionKey(committed), committed);
    for (const member of members) for (const tp of member.assignment) partitions.set(partitionKey(tp), tp);
    const owners = new Map<string, string>();
    for (const member of members) for (const tp of member.assignment) owners.set(partitionKey(tp), member.memberId);
    return {
      ...status,
      members,
      partitions: [...partitions.values()].sort(comparePartitions).map((tp) => this.partitionStatus(groupId, owners.get(partitionKey(tp)) ?? null, tp)),
    };
  }

  private partitionStatus(groupId: string, owner: string | null, tp: TopicPartition): PartitionStatus {
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
    // As lagFrom() below counts it for summaryAll().
    const lag = logEndOffset === null ? null : logEndOffset - position;
    return { ...tp, committedOffset, logStartOffset, belowLogStart, logEndOffset, lag, owner };
  }

  private safeEarliest(tp: TopicPartition): number {
    try {
      return this.broker.partitionBounds(tp.topic, tp.partition).earliest;
    } catch {
      return 0;
    }
  }
}

/**
 * The log bounds of partitions read once each, for a pass over many groups
 * (summaryAll): null for a partition that is offline or gone.
 */
class PartitionBoundsCache {
  private readonly byTopic = new Map<string, ({ earliest: number; highWatermark: number } | null)[]>();

  constructor(private readonly broker: Broker) {}

  /** lagFrom() for the partition, or null when it has no bounds. */
  lag(topic: string, partition: number, committedOffset: number | null): number | null {
    let partitions = this.byTopic.get(topic);
    if (partitions === undefined) {
      partitions = [];
      this.byTopic.set(topic, partitions);
    }
    let bounds = partitions[partition];
    if (bounds === undefined) {
      try {
        bounds = this.broker.partitionBounds(topic, partition);
      } catch {
        bounds = null; // the topic was deleted or the partition is offline
      }
      partitions[partition] = bounds;
    }
    return bounds === null ? null : lagFrom(bounds, committedOffset);
  }
}

/**
 * Records the group has not committed yet: from where it reads next (its
 * committed offset, or the log start when it has none or it lies below the
 * log start) to the high watermark. partitionStatus() counts it the same way.
 */
function lagFrom(bounds: { earliest: number; highWatermark: number }, committedOffset: number | null): number {
  const position = committedOffset === null || committedOffset < bounds.earliest ? bounds.earliest : committedOffset;
  return bounds.highWatermark - position;
}

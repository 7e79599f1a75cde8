/**
 * Partition assignment within a consumer group. An assignor is a pure
 * function of the membership and the topics' partition counts, so every
 * rebalance is deterministic and testable on its own.
 */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface AssignorMember {
  memberId: string;
  /** Topics the member subscribes to. */
  topics: readonly string[];
  /** What the member owned before this rebalance (used by the sticky assignor). */
  owned: readonly TopicPartition[];
}

/** memberId → its partitions, sorted by topic then partition. */
export type Assignment = Map<string, TopicPartition[]>;

export interface Assignor {
  readonly name: AssignorName;
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Assignment;
}

export type AssignorName = "round-robin" | "sticky";

export const ASSIGNOR_NAMES: readonly AssignorName[] = ["round-robin", "sticky"];

export function comparePartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

/** Every partition of every topic some member subscribes to, sorted. */
export function subscribedPartitions(
  members: readonly AssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
): TopicPartition[] {
  const topics = new Set<string>();
  for (const member of members) for (const topic of member.topics) if (partitionCounts.has(topic)) topics.add(topic);
  const partitions: TopicPartition[] = [];
  for (const topic of [...topics].sort()) {
    const count = partitionCounts.get(topic)!;
    for (let partition = 0; partition < count; partition++) partitions.push({ topic, partition });
  }
  return partitions;
}

export function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}

export function emptyAssignment(members: readonly AssignorMember[]): Assignment {
  const assignment: Assignment = new Map();
  for (const member of members) assignment.set(member.memberId, []);
  return assignment;
}

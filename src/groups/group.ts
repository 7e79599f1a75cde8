import { type AssignorName, partitionKey, type TopicPartition } from "./assignor.ts";

/**
 * One live member of a consumer group, as the coordinator keeps it in memory
 * (the seed keeps group membership in memory; committed offsets are durable
 * in the OffsetStore).
 */
export class Member {
  /** Partitions this member owns in the current generation, sorted. */
  assignment: TopicPartition[] = [];
  /**
   * Per owned partition, the offset after the last record handed to this
   * member and not yet committed: where its next read starts. Its next
   * consume call commits it (the implicit acknowledgement) unless the member
   * commits for itself (`commit: "none"`); if it dies first, the next owner
   * starts again from the committed offset, so nothing is skipped.
   */
  readonly delivered = new Map<string, number>();
  /** Whether the member's last consume call committed what it had been handed (the default) or left commits to it. */
  commitsOnConsume = true;
  /** Consume calls in progress: a member blocked in a long poll is alive. */
  pollsInFlight = 0;
  /** Aborted to end this member's long poll early (its assignment changed). */
  wake = new AbortController();

  constructor(
    readonly memberId: string,
    public topics: string[],
    public sessionTimeoutMs: number,
    /** Monotonic ms of the last sign of life. */
    public lastSeenMonotonicMs: number,
    /** Wall-clock ms of the last sign of life, for status. */
    public lastSeenAtMs: number,
  ) {}

  owns(tp: TopicPartition): boolean {
    return this.assignment.some((owned) => owned.topic === tp.topic && owned.partition === tp.partition);
  }

  /** Replaces the assignment; forgets deliveries of partitions taken away; wakes a waiting poll if it changed. */
  reassign(assignment: TopicPartition[]): boolean {
    const before = this.assignment.map(partitionKey).join(",");
    const after = assignment.map(partitionKey).join(",");
    this.assignment = assignment;
    const keep = new Set(assignment.map(partitionKey));
    for (const key of this.delivered.keys()) if (!keep.has(key)) this.delivered.delete(key);
    if (before === after) return false;
    this.wake.abort();
    this.wake = new AbortController();
    return true;
  }
}

export class Group {
  readonly members = new Map<string, Member>();
  generation = 0;

  constructor(
    readonly groupId: string,
    public assignorName: AssignorName,
  ) {}

  get state(): "empty" | "stable" {
    return this.members.size === 0 ? "empty" : "stable";
  }

  /** Who owns a partition in this generation, if anyone. */
  ownerOf(tp: TopicPartition): Member | undefined {
    for (const member of this.members.values()) if (member.owns(tp)) return member;
    return undefined;
  }
}

import type { Broker } from "../broker/broker.ts";
import type { Clock } from "../core/clock.ts";
import { GafkaError, invalidRequest } from "../core/errors.ts";
import { idProblem } from "../core/limits.ts";
import { partitionKey, type TopicPartition } from "./assignor.ts";
import type { CommitGuard } from "./commit-guard.ts";
import type { OffsetCommit, ResetTarget } from "./coordinator-types.ts";
import type { Group, Member } from "./group.ts";
import type { Membership } from "./membership.ts";
import type { CommittedOffset, OffsetStore } from "./offset-store.ts";

/**
 * The coordinator's writes to the committed-offset store (append origin
 * "coordinator"): explicit commits, the implicit commit of a consume call,
 * resets and group deletes. Each is admitted by the CommitGuard, made durable
 * in the store, then acknowledged once enough replicas hold it. Calls arrive
 * here already admitted by the broker's write gate (GroupCoordinator).
 */
export class OffsetCommits {
  private commitGuard: CommitGuard | undefined;

  constructor(
    private readonly membership: Membership,
    private readonly broker: Broker,
    private readonly offsets: OffsetStore,
    private readonly clock: Clock,
  ) {}

  /** Lets replication decide who may commit and when a commit is acknowledged (see CommitGuard). */
  setCommitGuard(guard: CommitGuard): void {
    this.commitGuard = guard;
  }

  /**
   * An explicit commit. From a member: only for partitions it owns in the
   * current generation. Without a member: only while the group has none
   * (an operator or a standalone consumer storing its position).
   */
  async commit(groupId: string, memberId: string | undefined, generation: number | undefined, commits: OffsetCommit[]): Promise<void> {
    const groupProblem = idProblem("group_id", groupId);
    if (groupProblem) throw invalidRequest(groupProblem, { field: "group_id" });
    const group = this.membership.groups.get(groupId);
    if (memberId !== undefined) {
      const { member } = this.membership.memberOrThrow(groupId, memberId);
      this.membership.touch(member);
      if (generation !== undefined && generation !== group!.generation) {
        throw this.membership.conflict("stale_generation", `generation ${generation} is stale; the group is at ${group!.generation}`, group!, member);
      }
      for (const commit of commits) {
        if (!member.owns(commit)) {
          throw this.membership.conflict(
            "partition_not_owned",
            `partition ${commit.topic}/${commit.partition} is not assigned to ${memberId}`,
            group!,
            member,
          );
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
  async resetOffsets(groupId: string, topic: string, partitions: number[] | undefined, target: ResetTarget): Promise<CommittedOffset[]> {
    this.membership.checkKnownGroup(groupId);
    this.membership.checkNoMembers(groupId, "reset its offsets");
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

  async deleteGroup(groupId: string): Promise<void> {
    this.membership.checkKnownGroup(groupId);
    this.membership.checkNoMembers(groupId, "delete it");
    const term = this.commitGuard?.admitCommit() ?? 0;
    await this.settle(term, this.offsets.deleteGroup(groupId, this.clock.nowMs()));
    this.membership.groups.delete(groupId);
  }

  /**
   * Commits what the member was handed and has now acknowledged by calling
   * again. The store takes the entries synchronously (so positions read right
   * after see them); the promise resolves once they are acknowledged
   * (writeCommit). Refused before anything is written, the member keeps its
   * positions and its next call commits them.
   */
  async commitDelivered(group: Group, member: Member): Promise<void> {
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

  /** Where a partition's owner starts: the committed offset, kept inside the log's bounds. */
  position(groupId: string, tp: TopicPartition): number {
    const { earliest, highWatermark } = this.broker.partitionBounds(tp.topic, tp.partition);
    const committed = this.offsets.get(groupId, tp.topic, tp.partition)?.offset ?? earliest;
    return Math.min(Math.max(committed, earliest), highWatermark);
  }

  /**
   * Writes commit entries: admitted by the guard, durable in the store, then
   * acknowledged once enough replicas hold them (the store's acknowledged
   * view, what the group's status reports, takes them only then).
   */
  writeCommit(entries: CommittedOffset[]): Promise<void> {
    const term = this.commitGuard?.admitCommit() ?? 0;
    return this.settle(term, this.offsets.commit(entries));
  }

  private async settle(term: number, written: Promise<number>): Promise<void> {
    const sequence = await written;
    if (sequence === 0) return;
    await this.commitGuard?.settleCommit(term, sequence);
    this.offsets.acknowledge(sequence);
  }
}

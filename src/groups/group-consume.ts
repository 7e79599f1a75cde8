import type { Broker, FetchFormat } from "../broker/broker.ts";
import { GafkaError, isGafkaError } from "../core/errors.ts";
import { partitionKey, type TopicPartition } from "./assignor.ts";
import type { GroupChunk, GroupConsumeRequest, GroupConsumeResult, GroupRecord } from "./coordinator-types.ts";
import type { Group, Member } from "./group.ts";
import type { Membership } from "./membership.ts";
import type { OffsetCommits } from "./offset-commits.ts";

/** What one read across a member's partitions delivered, in either format. */
interface Delivery {
  records: GroupRecord[];
  chunks: GroupChunk[];
  /** Records delivered: the sum of nextOffset - offset over `ends`. */
  count: number;
  /** Each partition that delivered records, one past the last of them, and what was delivered (for onConsumed). */
  ends: (TopicPartition & { nextOffset: number; records: number; bytes: number })[];
}

/**
 * The group consume path: a member's consume call joins if needed, commits
 * what its previous call delivered, then reads its partitions with a long
 * poll across all of them. Calls arrive here already admitted by the broker's
 * write gate (GroupCoordinator); `admit` passes it again before answering.
 */
export class GroupConsume {
  constructor(
    private readonly membership: Membership,
    private readonly commits: OffsetCommits,
    private readonly broker: Broker,
  ) {}

  /**
   * A group member's consume call: joins if needed, commits what its previous
   * call delivered (implicit acknowledgement; not with `commit: "none"`), then
   * reads from its partitions where its last call ended (at first, their
   * committed offsets), long-polling across all of them.
   */
  async consume(groupId: string, memberId: string, request: GroupConsumeRequest, admit: () => void): Promise<GroupConsumeResult> {
    // A poll the client already gave up on must not re-join a member that has
    // since left (its DELETE may overtake this request).
    if (request.signal?.aborted) throw new GafkaError("unknown_member", `the consume call of ${memberId} was abandoned`);
    // Asking for one partition of a topic the member already subscribes to is a
    // filter, not a new subscription: it must not rebalance the group.
    const existing = this.membership.groups.get(groupId)?.members.get(memberId);
    if (request.only !== undefined && existing?.topics.includes(request.only.topic)) this.membership.heartbeat(groupId, memberId);
    else this.membership.join(groupId, memberId, request);
    const group = this.membership.groups.get(groupId)!;
    const member = group.members.get(memberId)!;
    if (request.generation !== undefined && request.generation !== group.generation) {
      throw this.membership.conflict("stale_generation", `generation ${request.generation} is stale; the group is at ${group.generation}`, group, member);
    }
    if (request.only !== undefined && !member.owns(request.only)) {
      throw this.membership.conflict(
        "partition_not_owned",
        `partition ${request.only.topic}/${request.only.partition} is not assigned to ${memberId} in generation ${group.generation}`,
        group,
        member,
      );
    }
    member.pollsInFlight++;
    try {
      // The implicit commit's fsync (and its copies on the followers) overlaps the read and the
      // long poll; the answer waits for it, so nothing is answered before the commit is acknowledged.
      member.commitsOnConsume = request.commit !== "none";
      const committing = member.commitsOnConsume ? this.commits.commitDelivered(group, member) : Promise.resolve();
      let commitSettled = !member.commitsOnConsume;
      const settle = () => {
        commitSettled = true;
      };
      committing.then(settle, settle); // also: awaited below, so no unhandled rejection while polling
      const owned = request.only !== undefined ? [request.only] : member.assignment;
      const generation = group.generation;
      const format = request.format ?? "records";
      let delivery = await this.readOwned(group, member, owned, request.maxRecords, format);
      if (delivery.count === 0 && request.waitMs > 0 && !request.signal?.aborted) {
        await this.waitForAny(group, member, owned, request.waitMs, request.signal);
        if (group.generation === generation && group.members.get(memberId) === member) {
          delivery = await this.readOwned(group, member, owned, request.maxRecords, format);
        }
      }
      if (group.members.get(memberId) !== member) {
        throw new GafkaError("unknown_member", `member ${memberId} left group '${groupId}' during the poll`);
      }
      const readBeforeCommitSettled = !commitSettled;
      await committing;
      // Records made durable while the commit synced go out now rather than a whole poll later:
      // the answer was waiting anyway, and with records at hand on arrival it mostly is.
      if (readBeforeCommitSettled && delivery.count < request.maxRecords && group.generation === generation && group.members.get(memberId) === member) {
        delivery = await this.readOwned(group, member, owned, request.maxRecords, format);
      }
      // In either format: one past the last record handed out, for the next call to commit.
      admit(); // the lease may have ended during the long poll
      for (const end of delivery.ends) {
        member.delivered.set(partitionKey(end), end.nextOffset);
        this.broker.countConsumed(end.topic, end.partition, end.records, end.bytes);
      }
      return { ...this.membership.view(group, member), records: delivery.records, chunks: delivery.chunks };
    } finally {
      member.pollsInFlight--;
      this.membership.touch(member);
    }
  }

  /**
  }

  /** Reads up to maxRecords from the owned partitions, sharing the count fairly, in the format asked for. */
  private async readOwned(group: Group, member: Member, owned: TopicPartition[], maxRecords: number, format: FetchFormat): Promise<Delivery> {
    const delivery: Delivery = { records: [], chunks: [], count: 0, ends: [] };
    for (let i = 0; i < owned.length && delivery.count < maxRecords; i++) {
      const tp = owned[i]!;
      const share = Math.max(1, Math.ceil((maxRecords - delivery.count) / (owned.length - i)));
      try {
        const start = member.delivered.get(partitionKey(tp)) ?? this.commits.position(group.groupId, tp);
        const result = await this.broker.fetch({ topic: tp.topic, partition: tp.partition, offset: start, maxRecords: share, waitMs: 0, format });
        if (result.nextOffset === result.offset) continue;
        const count = result.nextOffset - result.offset;
        delivery.count += count;
        let bytes = format === "batches" ? result.batches.length : 0;
        for (const record of result.records) {
          delivery.records.push({ ...record, topic: tp.topic, partition: tp.partition });
          bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
        }
        delivery.ends.push({ topic: tp.topic, partition: tp.partition, nextOffset: result.nextOffset, records: count, bytes });
        if (format === "batches") {
          delivery.chunks.push({ topic: tp.topic, partition: tp.partition, offset: result.offset, nextOffset: result.nextOffset, batches: result.batches });
        }
      } catch (error) {
        // A subscribed topic was deleted (or shrank): assign again without it.
        if (isGafkaError(error) && (error.code === "topic_not_found" || error.code === "partition_not_found")) {
          this.membership.rebalance(group);
          continue;
        }
        throw error;
      }
    }
    return delivery;
  }

  /**
   * Waits until any owned partition has data past its position, the wait
   * ends, the assignment changes (member.wake) or the client goes away. A
   * failure (a topic deleted meanwhile, the broker stopping, too many
   * waiting polls) ends the wait; the read after it says what happened.
   */
  private async waitForAny(group: Group, member: Member, owned: TopicPartition[], waitMs: number, signal?: AbortSignal): Promise<void> {
    try {
      const positions = owned.map((tp) => ({
        topic: tp.topic,
        partition: tp.partition,
        offset: member.delivered.get(partitionKey(tp)) ?? this.commits.position(group.groupId, tp),
      }));
      await this.broker.waitForAny(positions, waitMs, [member.wake.signal, signal]);
    } catch {
      // Not the poll's failure: it answers with what its next read finds.
    }
  }
}

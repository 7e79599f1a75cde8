import type { Broker, Operation, Principal } from "../broker/broker.ts";
import type { Clock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { TopicPartition } from "./assignor.ts";
import type { ClassicGroupError, ClassicGroupState, JoinAnswer, SyncAnswer } from "./classic-group.ts";
import { ClassicGroups, type JoinRequest } from "./classic-groups.ts";
import type { OffsetCommit } from "./coordinator-types.ts";
import type { CommittedOffset, OffsetStore } from "./offset-store.ts";

export type { ClassicGroupError, ClassicGroupState, JoinAnswer, SyncAnswer } from "./classic-group.ts";
export type { JoinRequest } from "./classic-groups.ts";

export interface ClassicCoordinatorOptions {
  broker: Broker;
  offsets: OffsetStore;
  clock: Clock;
  logger: Logger;
  sweepIntervalMs?: number;
  /** Writes commits as the HTTP groups' do: admitted by the commit guard, durable, acknowledged once enough replicas hold them. */
  writeCommits(entries: CommittedOffset[]): Promise<void>;
  /** Whether the group has members over HTTP: then it is not a Kafka group's to take. */
  isHttpGroupLive(groupId: string): boolean;
  /** Throws limit_reached when a group new to this broker would pass groupsMax. */
  checkGroupRoom(groupId: string): void;
}

/** One partition's answer to an OffsetCommit: null, the protocol's error, or a failure (a GafkaError) on the topic or of the write. */
export interface PartitionCommitAnswer extends TopicPartition {
  error: ClassicGroupError | unknown;
  /** Whether a failure concerns the topic (its ACL, its existence) rather than the group's write. */
  onTopic: boolean;
}

export interface FetchedOffset extends TopicPartition {
  /** -1 when the group has committed none. */
  offset: number;
  /** A failure on the topic (the principal may not describe it). */
  error: unknown;
}

export interface DescribedClassicGroup {
  groupId: string;
  /** Kafka's state names; a group unknown here is Dead, a live HTTP group Stable. */
  state: ClassicGroupState;
  protocolType: string;
  protocolName: string;
  members: { memberId: string; clientId: string; clientHost: string; metadata: Uint8Array; assignment: Uint8Array }[];
}

/**
 * The classic consumer-group protocol's coordinator (Kafka's client-side
 * assignment), beside the HTTP groups' (coordinator.ts) and sharing with
 * them the committed-offset store, the groups cap and status. Every call
 * passes the broker's one gate first with the operation the HTTP routes use
 * (a member's calls: READ on the group; offsets and descriptions: DESCRIBE),
 * which also refuses a follower (not_leader: the Kafka door answers
 * NOT_COORDINATOR).
 *
 * A group is one kind or the other while it is live (has members): a
 * JoinGroup for a group with HTTP members answers
 * inconsistent_group_protocol; GroupCoordinator refuses HTTP members of a
 * live Kafka group likewise. A group without members takes either kind,
 * with its committed offsets.
 */
export class ClassicCoordinator {
  readonly groups: ClassicGroups;
  private readonly options: ClassicCoordinatorOptions;

  constructor(options: ClassicCoordinatorOptions) {
    this.options = options;
    this.groups = new ClassicGroups({ clock: options.clock, logger: options.logger, sweepIntervalMs: options.sweepIntervalMs });
  }

  close(): void {
    this.groups.close();
  }

  /** Whether the group has Kafka members (or member ids handed out to join). */
  isLive(groupId: string): boolean {
    return this.groups.groups.get(groupId)?.isLive ?? false;
  }

  join(groupId: string, request: JoinRequest, principal: Principal): Promise<JoinAnswer> {
    this.admit(principal, "group_join", groupId);
    if (this.options.isHttpGroupLive(groupId)) {
      return Promise.resolve({ error: "inconsistent_group_protocol", generationId: -1, protocolName: "", leader: "", memberId: request.memberId, members: [] });
    }
    if (!this.groups.groups.has(groupId)) this.options.checkGroupRoom(groupId);
    return this.groups.join(groupId, request);
  }

  sync(groupId: string, memberId: string, generationId: number, assignments: ReadonlyMap<string, Uint8Array>, principal: Principal): Promise<SyncAnswer> {
    this.admit(principal, "group_join", groupId);
    return this.groups.sync(groupId, memberId, generationId, assignments);
  }

  heartbeat(groupId: string, memberId: string, generationId: number, principal: Principal): ClassicGroupError | null {
    this.admit(principal, "group_heartbeat", groupId);
    return this.groups.heartbeat(groupId, memberId, generationId);
  }

  leave(groupId: string, memberIds: readonly string[], principal: Principal): (ClassicGroupError | null)[] {
    this.admit(principal, "group_leave", groupId);
    return this.groups.leave(groupId, memberIds);
  }

  /**
   * An OffsetCommit: the group's rule first (a member of the current
   * generation, or none for a group without members), then each topic's
   * (READ on it; the partition exists; the offset within [0, high
   * watermark], as HTTP commits are checked), then one durable write of
   * the partitions that passed.
   */
  async commit(groupId: string, memberId: string, generationId: number, commits: readonly OffsetCommit[], principal: Principal): Promise<PartitionCommitAnswer[]> {
    this.admit(principal, "group_commit", groupId);
    const groupError = this.options.isHttpGroupLive(groupId) ? "inconsistent_group_protocol" : this.groups.commitCheck(groupId, memberId, generationId);
    if (groupError !== null) return commits.map(({ topic, partition }) => ({ topic, partition, error: groupError, onTopic: false }));
    this.options.checkGroupRoom(groupId);
    const answers: PartitionCommitAnswer[] = [];
    const accepted: OffsetCommit[] = [];
    for (const commit of commits) {
      const error = this.topicProblem(principal, commit);
      answers.push({ topic: commit.topic, partition: commit.partition, error, onTopic: true });
      if (error === null) accepted.push(commit);
    }
    if (accepted.length === 0) return answers;
    const nowMs = this.options.clock.nowMs();
    try {
      await this.options.writeCommits(accepted.map((c) => ({ group: groupId, topic: c.topic, partition: c.partition, offset: c.offset, committedAtMs: nowMs })));
    } catch (error) {
      return answers.map((answer) => (answer.error === null ? { ...answer, error, onTopic: false } : answer));
    }
    return answers;
  }

  /**
   * Committed offsets (acknowledged ones, as status shows): of the
   * partitions named, or with `topics` null of every partition the group
   * has committed on a topic the principal may describe.
   */
  fetchOffsets(groupId: string, topics: { topic: string; partitions: number[] }[] | null, principal: Principal): FetchedOffset[] {
    this.admit(principal, "group_describe", groupId);
    const { broker, offsets } = this.options;
    const mayDescribe = (topic: string) => broker.allows(principal, "describe_topic", { kind: "topic", name: topic });
    if (topics === null) {
      return offsets
        .acknowledgedOf(groupId)
        .filter((committed) => mayDescribe(committed.topic))
        .map(({ topic, partition, offset }) => ({ topic, partition, offset, error: null }));
    }
    return topics.flatMap(({ topic, partitions }) => {
      const allowed = mayDescribe(topic);
      return partitions.map((partition) => ({
        topic,
        partition,
        offset: allowed ? (offsets.acknowledged(groupId, topic, partition)?.offset ?? -1) : -1,
        error: allowed ? null : forbiddenTopic(broker, principal, topic),
      }));
    });
  }

  /** A group as DescribeGroups shows it (DESCRIBE on the group first). */
  describe(groupId: string, principal: Principal): DescribedClassicGroup {
    this.admit(principal, "group_describe", groupId);
    const group = this.groups.groups.get(groupId);
    if (group !== undefined) {
      const protocolName = group.protocolName ?? "";
      return {
        groupId,
        state: group.state,
        protocolType: group.protocolType ?? "",
        protocolName: group.state === "Stable" ? protocolName : "",
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: m.metadataFor(protocolName),
          assignment: m.assignment,
        })),
      };
    }
    const state = this.options.isHttpGroupLive(groupId) ? "Stable" : this.options.offsets.hasGroup(groupId) ? "Empty" : "Dead";
    return { groupId, state, protocolType: "", protocolName: "", members: [] };
  }

  /** The protocol type a group's Kafka members use ("consumer"), "" for other groups. */
  protocolTypeOf(groupId: string): string {
    return this.groups.groups.get(groupId)?.protocolType ?? "";
  }

  /** Forgets a group without members whose offsets were deleted. */
  forget(groupId: string): void {
    this.groups.forget(groupId);
  }

  /** The first reason a partition's commit is refused, or null. */
  private topicProblem(principal: Principal, commit: OffsetCommit): unknown {
    try {
      this.options.broker.authorize(principal, "consume", { kind: "topic", name: commit.topic });
      const { earliest, highWatermark } = this.options.broker.partitionBounds(commit.topic, commit.partition);
      if (!Number.isInteger(commit.offset) || commit.offset < 0 || commit.offset > highWatermark) {
        return new GafkaError("offset_out_of_range", `offset ${commit.offset} is out of range [${earliest}, ${highWatermark}]`);
      }
      return null;
    } catch (error) {
      return error;
    }
  }

  private admit(principal: Principal, operation: Operation, groupId: string): void {
    this.options.broker.admit(principal, operation, { kind: "group", id: groupId });
  }
}

/** The gate's refusal for a topic the principal may not describe, as a failure to report per partition. */
function forbiddenTopic(broker: Broker, principal: Principal, topic: string): unknown {
  try {
    broker.authorize(principal, "describe_topic", { kind: "topic", name: topic });
    return null;
  } catch (error) {
    return error;
  }
}

import { HttpClient, type ClientOptions } from "./http-client.ts";
import type { TopicPartition, TopicPartitionOffset } from "./topic-partition.ts";
import type {
  WireCommitAnswer,
  WireGroupList,
  WireGroupStatus,
  WireHealth,
  WireResetAnswer,
  WireTopicDescription,
  WireTopicList,
} from "./wire.ts";

export interface TopicSummary {
  name: string;
  partitions: number;
}

export interface PartitionDescription {
  partition: number;
  earliestOffset: number;
  /** The offset the next record appended will get (the high watermark). */
  nextOffset: number;
  sizeBytes: number;
  status: "online" | "offline" | "corrupt";
  /** Why the partition is offline or corrupt. */
  error?: string;
}

export interface TopicDescription {
  name: string;
  createdAtMs: number;
  partitions: PartitionDescription[];
}

export interface BrokerHealth {
  /** `degraded` when any partition is offline or corrupt. */
  status: "ok" | "degraded";
  brokerId: number;
  offlinePartitions: { topic: string; partition: number; status: "offline" | "corrupt"; error: string }[];
}

export interface CreateTopicRequest {
  name: string;
  /** 1–100; default 1. */
  partitions?: number;
}

export interface GroupSummary {
  groupId: string;
  /** `empty`: no live members (the group is known by its committed offsets). */
  state: "empty" | "stable";
  generation: number;
  members: number;
}

export interface GroupMemberDescription {
  consumerId: string;
  topics: string[];
  sessionTimeoutMs: number;
  /** Wall-clock ms of the member's last heartbeat or consume call. */
  lastHeartbeatMs: number;
  assignment: TopicPartition[];
}

export interface GroupPartitionStatus extends TopicPartition {
  /** The next offset the group will consume; null before its first commit. */
  committedOffset: number | null;
  /** The partition's high watermark; null when the partition is offline or gone. */
  logEndOffset: number | null;
  lag: number | null;
  /** The member that owns it in this generation. */
  owner: string | null;
}

export interface GroupDescription {
  groupId: string;
  state: "empty" | "stable";
  generation: number;
  assignor: "round-robin" | "sticky";
  members: GroupMemberDescription[];
  partitions: GroupPartitionStatus[];
}

/** Where `resetOffsets` moves a stopped group's committed offsets. */
export type ResetTarget =
  | { to: "earliest" }
  | { to: "latest" }
  /** Kept inside the partition's bounds. */
  | { to: "offset"; offset: number }
  /** The first record at or after this wall-clock time (the log end when there is none). */
  | { to: "timestamp"; timestampMs: number };

export type ResetOffsetsRequest = {
  topic: string;
  /** Default: every partition of the topic. */
  partitions?: number[];
} & ResetTarget;

/** Topics, consumer groups and broker health (docs/api.md "Topics", "Consumer groups", "Health"). */
export class Admin {
  private readonly http: HttpClient;

  constructor(options: ClientOptions = {}) {
    this.http = options.transport ?? new HttpClient(options);
  }

  /** Rejects with code `topic_exists` (409) when the name is taken. */
  async createTopic(request: CreateTopicRequest): Promise<TopicDescription> {
    const body = { name: request.name, partitions: request.partitions };
    return topicDescription(await this.http.request<WireTopicDescription>("POST", "/api/v1/topics", { body }));
  }

  async listTopics(): Promise<TopicSummary[]> {
    const answer = await this.http.request<WireTopicList>("GET", "/api/v1/topics");
    return answer.topics.map(({ name, partitions }) => ({ name, partitions }));
  }

  /** Rejects with code `topic_not_found` (404) for an unknown topic. */
  async describeTopic(name: string): Promise<TopicDescription> {
    return topicDescription(await this.http.request<WireTopicDescription>("GET", topicPath(name)));
  }

  async deleteTopic(name: string): Promise<void> {
    await this.http.request<unknown>("DELETE", topicPath(name));
  }

  async health(): Promise<BrokerHealth> {
    const answer = await this.http.request<WireHealth>("GET", "/healthz");
    const offlinePartitions = (answer.offline_partitions ?? []).map(({ topic, partition, status, error }) => ({ topic, partition, status, error }));
    return { status: answer.status, brokerId: answer.broker_id, offlinePartitions };
  }

  /** Live groups and groups with committed offsets, sorted by id. */
  async listGroups(): Promise<GroupSummary[]> {
    const answer = await this.http.request<WireGroupList>("GET", "/api/v1/consumer-groups");
    return answer.groups.map((group) => ({ groupId: group.group_id, state: group.state, generation: group.generation, members: group.members }));
  }

  /** The group's state, members and per-partition committed offset, log end, lag and owner; `group_not_found` (404) when unknown. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    return groupDescription(await this.http.request<WireGroupStatus>("GET", `${groupPath(groupId)}/status`));
  }

  /**
   * Moves a stopped group's committed offsets and answers the new ones.
   * Rejects with `group_not_empty` (409) while the group has live members.
   */
  async resetOffsets(groupId: string, request: ResetOffsetsRequest): Promise<TopicPartitionOffset[]> {
    const body = {
      topic: request.topic,
      partitions: request.partitions,
      to: request.to,
      offset: request.to === "offset" ? request.offset : undefined,
      timestamp: request.to === "timestamp" ? request.timestampMs : undefined,
    };
    const answer = await this.http.request<WireResetAnswer>("POST", `${groupPath(groupId)}/offsets/reset`, { body });
    return answer.offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
  }

  /**
   * Commits offsets (each the next offset to consume). Without `member` the
   * group must have no live members; with it, only the member's own
   * partitions in its generation (else `partition_not_owned`/`stale_generation`, 409).
   */
  async commitOffsets(
    groupId: string,
    offsets: TopicPartitionOffset[],
    member?: { consumerId: string; generation?: number },
  ): Promise<TopicPartitionOffset[]> {
    const body = { consumer_id: member?.consumerId, generation: member?.generation, offsets };
    const answer = await this.http.request<WireCommitAnswer>("POST", `${groupPath(groupId)}/offsets`, { body });
    return answer.committed.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
  }

  /** Forgets a stopped group and its committed offsets; `group_not_empty` (409) while it has members. */
  async deleteGroup(groupId: string): Promise<void> {
    await this.http.request<unknown>("DELETE", groupPath(groupId));
  }
}

function topicPath(name: string): string {
  return `/api/v1/topics/${encodeURIComponent(name)}`;
}

function topicDescription(wire: WireTopicDescription): TopicDescription {
  return {
    name: wire.name,
    createdAtMs: wire.created_at,
    partitions: wire.partitions.map((partition) => ({
      partition: partition.partition,
      earliestOffset: partition.earliest_offset,
      nextOffset: partition.next_offset,
      sizeBytes: partition.size_bytes,
      status: partition.status,
      ...(partition.error === undefined ? {} : { error: partition.error }),
    })),
  };
}

function groupPath(groupId: string): string {
  return `/api/v1/consumer-groups/${encodeURIComponent(groupId)}`;
}

function groupDescription(wire: WireGroupStatus): GroupDescription {
  return {
    groupId: wire.group_id,
    state: wire.state,
    generation: wire.generation,
    assignor: wire.assignor,
    members: wire.members.map((member) => ({
      consumerId: member.consumer_id,
      topics: member.topics,
      sessionTimeoutMs: member.session_timeout_ms,
      lastHeartbeatMs: member.last_heartbeat,
      assignment: member.assignment.map(({ topic, partition }) => ({ topic, partition })),
    })),
    partitions: wire.partitions.map((partition) => ({
      topic: partition.topic,
      partition: partition.partition,
      committedOffset: partition.committed_offset,
      logEndOffset: partition.log_end_offset,
      lag: partition.lag,
      owner: partition.owner,
    })),
  };
}

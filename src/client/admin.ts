import { HttpClient, type ClientOptions } from "./http-client.ts";
import {
  type Acl,
  type AclFilter,
  aclFilterToWire,
  aclFromWire,
  type CreatedToken,
  type CreateTokenRequest,
  type TokenSummary,
  tokenSummary,
  type UserSummary,
  type WireAcl,
  type WireToken,
  type WireUser,
} from "./security-wire.ts";
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

/** One topic setting as the broker applies it: Kafka's name, its value, and whether the topic sets it or takes the broker's default. */
export interface TopicConfigEntry {
  name: string;
  value: string;
  source: "topic" | "default";
}

export interface TopicDescription {
  name: string;
  createdAtMs: number;
  partitions: PartitionDescription[];
  /** Every setting (docs/api.md "Topic configuration"); empty from a broker older than them. */
  configs: TopicConfigEntry[];
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
  /** The topic's own settings, Kafka's names to values (`{"retention.ms": "3600000"}`); the broker's defaults for the rest. */
  configs?: Record<string, string>;
}

/** Kafka's IncrementalAlterConfigs on a topic: settings to set, and settings to return to the broker's default. */
export interface AlterTopicConfigRequest {
  set?: Record<string, string>;
  delete?: string[];
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
  /** The partition's log start offset (the first it still serves); null when offline, gone, or from an older broker. */
  logStartOffset: number | null;
  /** The committed offset is below the log start (those records were deleted): the group resumes at the log start. */
  belowLogStart: boolean;
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
  /** An HTTP group's assignor; a Kafka group's, the protocol its members chose. */
  assignor: "round-robin" | "sticky" | (string & {});
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
    const body = { name: request.name, partitions: request.partitions, configs: request.configs };
    return topicDescription(await this.http.request<WireTopicDescription>("POST", "/api/v1/topics", { body }));
  }

  /**
   * Sets and removes a topic's settings; resolves with its description once
   * the change is durable and in force. Rejects with `invalid_request` (400,
   * nothing changed) for an unknown name or a bad value.
   */
  async alterTopicConfig(name: string, request: AlterTopicConfigRequest): Promise<TopicDescription> {
    const body = { set: request.set ?? {}, delete: request.delete ?? [] };
    return topicDescription(await this.http.request<WireTopicDescription>("POST", `${topicPath(name)}/configs`, { body }));
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

  /**
   * Kafka's DeleteRecords: each partition's log start moves up to `before`
   * (-1: the high watermark) and its records below are gone for good.
   * Resolves with each partition's log start offset now; rejects with
   * `offset_out_of_range` (416) for a `before` past the high watermark.
   */
  async deleteRecords(topic: string, partitions: readonly { partition: number; before: number }[]): Promise<{ partition: number; logStartOffset: number }[]> {
    const body = { partitions: partitions.map(({ partition, before }) => ({ partition, before })) };
    const answer = await this.http.request<{ partitions: { partition: number; log_start_offset: number }[] }>("POST", `${topicPath(topic)}/delete-records`, { body });
    return answer.partitions.map((p) => ({ partition: p.partition, logStartOffset: p.log_start_offset }));
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

  // Users, tokens and ACLs (docs/api.md "Security"): changes go to the leader (a follower's 421 is followed).

  /** Users by name, with their SCRAM mechanisms (never a secret). */
  async listUsers(): Promise<UserSummary[]> {
    const answer = await this.http.request<{ users: WireUser[] }>("GET", "/api/v1/security/users");
    return answer.users.map(({ name, mechanisms }) => ({ name, mechanisms }));
  }

  /** A user with SCRAM-SHA-256 and -512 credentials for `password`; `user_exists` (409) when taken. */
  async addUser(name: string, password: string, options: { iterations?: number } = {}): Promise<UserSummary> {
    const answer = await this.http.request<WireUser>("POST", "/api/v1/security/users", { body: { name, password, iterations: options.iterations } });
    return { name: answer.name, mechanisms: answer.mechanisms };
  }

  /** Removes the user and their tokens; resolves to how many tokens went. `user_not_found` (404). */
  async deleteUser(name: string): Promise<number> {
    const answer = await this.http.request<{ tokens_removed: number }>("DELETE", userPath(name));
    return answer.tokens_removed;
  }

  /** A new password (fresh salts); the user's tokens stay valid. `user_not_found` (404). */
  async setPassword(name: string, password: string, options: { iterations?: number } = {}): Promise<void> {
    await this.http.request<unknown>("POST", `${userPath(name)}/password`, { body: { password, iterations: options.iterations } });
  }

  /** Tokens (of `user` when given), oldest first, expired ones included; never a secret. */
  async listTokens(user?: string): Promise<TokenSummary[]> {
    const answer = await this.http.request<{ tokens: WireToken[] }>("GET", "/api/v1/security/tokens", { query: { user } });
    return answer.tokens.map(tokenSummary);
  }

  /** A bearer token for `user`: `token` is in this answer only. */
  async createToken(request: CreateTokenRequest): Promise<CreatedToken> {
    const body = { user: request.user, expires_in: request.expiresInMs, description: request.description };
    const answer = await this.http.request<WireToken & { token: string }>("POST", "/api/v1/security/tokens", { body });
    return { ...tokenSummary(answer), token: answer.token };
  }

  /** `token_not_found` (404) for an unknown id. */
  async revokeToken(id: string): Promise<void> {
    await this.http.request<unknown>("DELETE", `/api/v1/security/tokens/${encodeURIComponent(id)}`);
  }

  /** Bindings matching `filter` (all of them by default). */
  async listAcls(filter: AclFilter = {}): Promise<Acl[]> {
    const answer = await this.http.request<{ acls: WireAcl[] }>("GET", "/api/v1/security/acls", { query: aclFilterToWire(filter) });
    return answer.acls.map(aclFromWire);
  }

  /** Adds a binding; resolves false when the same one existed (nothing changed). */
  async addAcl(acl: Acl): Promise<boolean> {
    const answer = await this.http.request<{ created: boolean }>("POST", "/api/v1/security/acls", { body: aclFilterToWire(acl) });
    return answer.created;
  }

  /** Removes every binding matching `filter` (`{}`: all of them) and resolves to those removed. */
  async removeAcls(filter: AclFilter): Promise<Acl[]> {
    const answer = await this.http.request<{ removed: WireAcl[] }>("POST", "/api/v1/security/acls/delete", { body: aclFilterToWire(filter) });
    return answer.removed.map(aclFromWire);
  }
}

function userPath(name: string): string {
  return `/api/v1/security/users/${encodeURIComponent(name)}`;
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
    configs: (wire.configs ?? []).map(({ name, value, source }) => ({ name, value, source })),
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
      logStartOffset: partition.log_start_offset ?? null,
      belowLogStart: partition.below_log_start ?? false,
      logEndOffset: partition.log_end_offset,
      lag: partition.lag,
      owner: partition.owner,
    })),
  };
}

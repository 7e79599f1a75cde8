import { HttpClient, type ClientOptions } from "./http-client.ts";
import type { WireHealth, WireTopicDescription, WireTopicList } from "./wire.ts";

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

/** Topic administration and broker health (docs/api.md "Topics", "Health"). */
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

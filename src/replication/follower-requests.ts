import type { EpochEntry } from "../storage/leader-epoch-cache.ts";

/**
 * What a follower sends its leader: the request that opens its stream, and
 * what an ack reports besides its positions. The leader (leader-replicator.ts)
 * acts on both; the HTTP door only parses them.
 */

/** What a follower's ack says besides its positions (POST /api/v1/replication/ack). */
export interface AckReport {
  /** It is shutting down cleanly. */
  leaving?: boolean;
  /** The offsets stream's position it holds durably. */
  offsetsSequence?: number;
  /** The newest stream stamp it received (its echo). */
  sentAtMs?: number;
}

/** What a follower sends when it opens its stream (POST /api/v1/replication/stream). */
export interface StreamRequest {
  followerId: number;
  address: string;
  /**
   * Where Kafka clients reach the follower (its --kafka-advertised-address), so its
   * leader's Kafka Metadata can list it; absent when its Kafka door is off (or from an older follower).
   */
  kafkaAddress?: string;
  leaderEpoch: number;
  /** The follower's cluster id; null when it has none yet (it takes the leader's). */
  clusterId: string | null;
  partitions: {
    topic: string;
    topicCreatedAtMs: number;
    partition: number;
    /** Null when the follower cannot take writes for it now (offline, corrupt): not streamed this session. */
    logEndOffset: number | null;
    durableEndOffset: number;
    epochs: EpochEntry[];
  }[];
}

/** The stream request body in its JSON form (docs/api.md). */
export function streamRequestJson(request: StreamRequest) {
  return {
    follower_id: request.followerId,
    address: request.address,
    ...(request.kafkaAddress === undefined ? {} : { kafka_address: request.kafkaAddress }),
    leader_epoch: request.leaderEpoch,
    cluster_id: request.clusterId,
    partitions: request.partitions.map((p) => ({
      topic: p.topic,
      created_at: p.topicCreatedAtMs,
      partition: p.partition,
      log_end_offset: p.logEndOffset,
      durable_end_offset: p.durableEndOffset,
      epochs: p.epochs.map((entry) => [entry.epoch, entry.startOffset]),
    })),
  };
}

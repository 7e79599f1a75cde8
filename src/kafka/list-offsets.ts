/**
 * ListOffsets (1–5): a partition's earliest offset (timestamp -2), its
 * latest (-1: the high watermark, which is also the last stable offset, as
 * gafka has no transactions, so the isolation level changes nothing), or
 * the first offset whose record's timestamp is at or after a timestamp
 * (broker.offsetForTimestamp). Kafka answers offset -1 when no record is at
 * or after the timestamp, where gafka's look-up gives the high watermark.
 * The answer's timestamp is -1: gafka's look-up gives the offset alone.
 * Other negative timestamps (special values of later versions) answer -1.
 * Asked of a follower, every partition answers NOT_LEADER_OR_FOLLOWER.
 */
import type { Broker } from "../broker/broker.ts";
import { isGafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS, type KafkaErrorCode, kafkaErrorCode } from "./error-codes.ts";
import type { ClusterView } from "./metadata.ts";
import { LIST_OFFSETS } from "./protocol/messages/list-offsets.ts";
import type { MessageValue } from "./protocol/types.ts";

const LATEST = -1;
const EARLIEST = -2;

interface ListOffsetsRequest {
  topics: { name: string; partitions: { partitionIndex: number; timestamp: number }[] }[];
}

export function listOffsetsApi(broker: Broker, cluster: ClusterView, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: LIST_OFFSETS,
    handle: (body) => listOffsets(broker, cluster, logger, principal, body as unknown as ListOffsetsRequest),
  };
}

function listOffsets(broker: Broker, cluster: ClusterView, logger: Logger, principal: Principal, request: ListOffsetsRequest): MessageValue {
  const leads = cluster.leaderId() === cluster.brokerId;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => {
        if (!leads) return failed(partition.partitionIndex, KAFKA_ERRORS.notLeaderOrFollower);
        try {
          broker.authorize(principal, "describe_topic", { kind: "topic", name: topic.name });
          return { partitionIndex: partition.partitionIndex, errorCode: KAFKA_ERRORS.none, timestamp: -1, offset: offsetOf(broker, topic.name, partition.partitionIndex, partition.timestamp), leaderEpoch: -1 };
        } catch (error) {
          if (!isGafkaError(error)) logger.error(`kafka ListOffsets of ${topic.name}-${partition.partitionIndex} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          return failed(partition.partitionIndex, kafkaErrorCode(error));
        }
      }),
    })),
  };
}

/** The offset a timestamp asks for; -1 when no record is at or after it. */
function offsetOf(broker: Broker, topic: string, partition: number, timestampMs: number): number {
  const bounds = broker.partitionBounds(topic, partition);
  if (timestampMs === LATEST) return bounds.highWatermark;
  if (timestampMs === EARLIEST) return bounds.earliest;
  if (timestampMs < 0) return -1;
  const offset = broker.offsetForTimestamp(topic, partition, timestampMs);
  return offset >= bounds.highWatermark ? -1 : offset;
}

function failed(partitionIndex: number, errorCode: KafkaErrorCode): MessageValue {
  return { partitionIndex, errorCode, timestamp: -1, offset: -1, leaderEpoch: -1 };
}

import type { GroupDescription, GroupSummary, RecordMetadata, TopicDescription } from "../client/index.ts";

/**
 * What `--json` prints: the SDK's answers under the HTTP API's own names
 * (docs/api.md), snake_case with the API's units, so one script reads the
 * CLI and curl alike. The SDK speaks camelCase to TypeScript; the wire and
 * the command line speak the API.
 */

/** As `GET /api/v1/topics/{name}` answers it. */
export function topicDescriptionJson(topic: TopicDescription) {
  return {
    name: topic.name,
    created_at: topic.createdAtMs,
    partitions: topic.partitions.map((partition) => ({
      partition: partition.partition,
      earliest_offset: partition.earliestOffset,
      next_offset: partition.nextOffset,
      size_bytes: partition.sizeBytes,
      status: partition.status,
      ...(partition.error === undefined ? {} : { error: partition.error }),
    })),
    configs: topic.configs,
  };
}

/** As each entry of `GET /api/v1/consumer-groups`. */
export function groupSummaryJson(group: GroupSummary) {
  return { group_id: group.groupId, state: group.state, generation: group.generation, members: group.members };
}

/** As `GET /api/v1/consumer-groups/{group}/status` answers it. */
export function groupDescriptionJson(group: GroupDescription) {
  return {
    group_id: group.groupId,
    state: group.state,
    generation: group.generation,
    assignor: group.assignor,
    members: group.members.map((member) => ({
      consumer_id: member.consumerId,
      topics: member.topics,
      session_timeout_ms: member.sessionTimeoutMs,
      last_heartbeat: member.lastHeartbeatMs,
      assignment: member.assignment.map(({ topic, partition }) => ({ topic, partition })),
    })),
    partitions: group.partitions.map((partition) => ({
      topic: partition.topic,
      partition: partition.partition,
      committed_offset: partition.committedOffset,
      log_start_offset: partition.logStartOffset,
      below_log_start: partition.belowLogStart,
      log_end_offset: partition.logEndOffset,
      lag: partition.lag,
      owner: partition.owner,
    })),
  };
}

/** As `POST /api/v1/produce` answers one record: where it landed (offset -1 under acks=0). */
export function recordMetadataJson(metadata: RecordMetadata) {
  return { topic: metadata.topic, partition: metadata.partition, offset: metadata.offset, timestamp: metadata.timestamp };
}

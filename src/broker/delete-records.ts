import { GafkaError, invalidRequest } from "../core/errors.ts";
import type { BrokerState } from "./broker-state.ts";

/** One partition of a DeleteRecords request: delete every record below `before` (-1: the high watermark). */
export interface DeleteRecordsRequest {
  partition: number;
  before: number;
}

/** Where a partition's log starts after DeleteRecords (Kafka's low watermark). */
export interface DeleteRecordsResult {
  partition: number;
  logStartOffset: number;
}

/**
 * Kafka's DeleteRecords on one topic: each partition's log start moves up to
 * `before` (never back: a `before` at or below it changes nothing), and the
 * segments wholly below it are deleted; the records of a segment it cuts in
 * two stay on disk but are never served again (src/storage/log-front.ts).
 * Every partition is checked before any is changed: an unknown partition is
 * 404 partition_not_found, a `before` past the high watermark 416
 * offset_out_of_range with `earliest` and `latest`, a malformed one 400.
 * Durable when it returns (the log start checkpointed on this broker);
 * followers follow through the replication stream.
 */
export function deleteRecords(state: BrokerState, topicName: string, requests: readonly DeleteRecordsRequest[]): DeleteRecordsResult[] {
  const topic = state.topicOrThrow(topicName);
  const seen = new Set<number>();
  const checked = requests.map((request) => {
    if (seen.has(request.partition)) throw invalidRequest(`partition ${request.partition} is named twice`, { field: "partitions" });
    seen.add(request.partition);
    const log = state.logOrThrow(topic, request.partition);
    if (!Number.isSafeInteger(request.before) || request.before < -1) {
      throw invalidRequest(`'before' must be an offset, or -1 for the high watermark`, { field: "partitions" });
    }
    const highWatermark = log.highWatermark;
    const before = request.before === -1 ? highWatermark : request.before;
    if (before > highWatermark) {
      throw new GafkaError("offset_out_of_range", `cannot delete records of ${topicName}-${request.partition} before ${before}: past the high watermark ${highWatermark}`, {
        details: { earliest: log.earliestOffset, latest: highWatermark },
      });
    }
    return { log, partition: request.partition, before };
  });
  return checked.map(({ log, partition, before }) => {
    log.advanceLogStart(before, "DeleteRecords");
    return { partition, logStartOffset: log.earliestOffset };
  });
}

/**
 * Fetch (4–11), without fetch sessions: the answer's sessionId is 0, so a
 * client sends every partition each time (an incremental request is
 * answered for the partitions it names, as a full one). Each partition is
 * read through broker.consume in format "batches" (the gate's READ check,
 * the consumed-traffic hook), and its stored batches are written into the
 * answer as they are, never re-encoded.
 *
 * Sizes, as Kafka: whole batches only, within partitionMaxBytes per
 * partition and maxBytes in all, except that the first partition with data
 * gets its first batch even past both, so a client never stalls on a batch
 * larger than its limits. The answer goes out at once when it holds
 * minBytes or a partition failed; otherwise it waits up to maxWaitMs (a long
 * poll, one broker.waitForAny on every partition, woken by an append, within
 * the broker's waiting-polls limit), reading on from where it stopped.
 * There are no transactions: lastStableOffset is the high watermark and
 * no transaction is ever aborted.
 */
import type { Broker } from "../broker/broker.ts";
import type { PartitionPosition } from "../broker/broker.ts";
import { isGafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS, type KafkaErrorCode, kafkaErrorCode } from "./error-codes.ts";
import type { ClusterView } from "./metadata.ts";
import { FETCH } from "./protocol/messages/fetch.ts";
import type { MessageValue } from "./protocol/types.ts";

interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  topics: { topic: string; partitions: { partition: number; fetchOffset: number; partitionMaxBytes: number }[] }[];
}

/** One partition of the fetch as it is read, possibly over several passes. */
interface PartitionRead {
  readonly topic: string;
  readonly partition: number;
  readonly partitionMaxBytes: number;
  /** Where the next pass reads from. */
  offset: number;
  readonly chunks: Uint8Array[];
  bytes: number;
  errorCode: KafkaErrorCode;
}

export function fetchApi(broker: Broker, cluster: ClusterView, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: FETCH,
    handle: (body, _header, signal) => fetch(broker, cluster, logger, principal, body as unknown as FetchRequest, signal),
  };
}

async function fetch(broker: Broker, cluster: ClusterView, logger: Logger, principal: Principal, request: FetchRequest, signal: AbortSignal): Promise<MessageValue> {
  const reads: PartitionRead[] = request.topics.flatMap(({ topic, partitions }) =>
    partitions.map((p) => ({
      topic,
      partition: p.partition,
      partitionMaxBytes: p.partitionMaxBytes,
      offset: p.fetchOffset,
      chunks: [],
      bytes: 0,
      errorCode: KAFKA_ERRORS.none,
    })),
  );
  // Every partition has one leader, the cluster's (what Metadata tells clients): a follower sends them there.
  if (cluster.leaderId() !== cluster.brokerId) {
    for (const read of reads) read.errorCode = KAFKA_ERRORS.notLeaderOrFollower;
    return answerOf(broker, reads);
  }
  let progress = await readPass(broker, logger, principal, reads, request.maxBytes);
  const waitUntilMs = performance.now() + Math.min(Math.max(request.maxWaitMs, 0), limits.fetchWaitMsMax);
  while (progress.bytes < request.minBytes && !progress.failed && !progress.full && reads.length > 0 && !signal.aborted) {
    const leftMs = Math.floor(waitUntilMs - performance.now());
    if (leftMs <= 0) break;
    const positions: PartitionPosition[] = reads.map((read) => ({ topic: read.topic, partition: read.partition, offset: read.offset }));
    try {
      await broker.waitForAny(positions, leftMs, [signal]);
    } catch (error) {
      // Too many long polls waiting, a topic deleted meanwhile: the pass below answers with what there is (or the error).
      logger.debug(`kafka fetch wait ended early: ${error instanceof Error ? error.message : String(error)}`);
      progress = await readPass(broker, logger, principal, reads, request.maxBytes);
      break;
    }
    progress = await readPass(broker, logger, principal, reads, request.maxBytes);
  }
  return answerOf(broker, reads);
}

/**
 * Reads every partition on from where it stopped, within what is left of
 * the byte limits. `full`: a partition holds more than it could take (no
 * use waiting for more); `failed`: one answers an error (answered at once).
 */
async function readPass(
  broker: Broker,
  logger: Logger,
  principal: Principal,
  reads: PartitionRead[],
  maxBytes: number,
): Promise<{ bytes: number; failed: boolean; full: boolean }> {
  let bytes = 0;
  for (const read of reads) bytes += read.bytes;
  let full = false;
  let failed = false;
  for (const read of reads) {
    if (read.errorCode !== KAFKA_ERRORS.none) {
      failed = true;
      continue;
    }
    // The first batch of the fetch is taken whole whatever the limits; after it, only whole batches that fit.
    const first = bytes === 0;
    const room = Math.min(maxBytes - bytes, read.partitionMaxBytes - read.bytes);
    if (!first && room <= 0) {
      full = true;
      continue;
    }
    try {
      const result = await broker.consume(
        {
          topic: read.topic,
          partition: read.partition,
          offset: read.offset,
          maxRecords: limits.consumeCountMax,
          waitMs: 0,
          format: "batches",
          maxBytes: Math.max(room, 1),
          firstBatchPastMaxBytes: first,
        },
        principal,
      );
      if (result.batches.length > 0) read.chunks.push(result.batches);
      read.bytes += result.batches.length;
      bytes += result.batches.length;
      read.offset = result.nextOffset;
      if (result.nextOffset < result.highWatermark) full = true;
    } catch (error) {
      if (!isGafkaError(error)) logger.error(`kafka fetch of ${read.topic}-${read.partition} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      read.errorCode = kafkaErrorCode(error);
      failed = true;
    }
  }
  return { bytes, failed, full };
}

function answerOf(broker: Broker, reads: PartitionRead[]): MessageValue {
  const topics = new Map<string, MessageValue[]>();
  for (const read of reads) {
    let partitions = topics.get(read.topic);
    if (partitions === undefined) {
      partitions = [];
      topics.set(read.topic, partitions);
    }
    const bounds = boundsOf(broker, read);
    partitions.push({
      partitionIndex: read.partition,
      errorCode: read.errorCode,
      highWatermark: bounds.highWatermark,
      lastStableOffset: bounds.highWatermark,
      logStartOffset: bounds.earliest,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: read.chunks,
    });
  }
  return {
    throttleTimeMs: 0,
    errorCode: KAFKA_ERRORS.none,
    sessionId: 0,
    responses: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
  };
}

/**
 * The partition's bounds for the answer, as they are now: for a partition
 * read, or one asked at an offset out of its range (the client resets from
 * them); -1 for any other error (no such partition, not readable here).
 */
function boundsOf(broker: Broker, read: PartitionRead): { earliest: number; highWatermark: number } {
  if (read.errorCode !== KAFKA_ERRORS.none && read.errorCode !== KAFKA_ERRORS.offsetOutOfRange) return { earliest: -1, highWatermark: -1 };
  try {
    return broker.partitionBounds(read.topic, read.partition);
  } catch {
    return { earliest: -1, highWatermark: -1 };
  }
}

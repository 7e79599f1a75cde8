/**
 * Produce (3–8; 0–2 advertised but refused): each partition's records, raw
 * RecordBatch v2 bytes, go to broker.produceBatches as the HTTP door's
 * binary produce sends them: the same checks (src/storage/batch-check.ts),
 * gate (a follower refuses: NOT_LEADER_OR_FOLLOWER), fsync policy and acks.
 * acks=0 is answered NO_ANSWER (the client reads nothing) once the appends
 * are under way, or, when a partition refused its records, by closing the
 * connection, as Kafka does: the client's only sign to refresh its metadata
 * (a follower refuses, a topic is gone). Every partition's append starts before the handler first
 * waits, in request order, so pipelined produces from one connection land in
 * the log in the order they were sent (the listener starts them in order).
 * timeoutMs is not used: the broker bounds an acks=all wait itself.
 */
import type { Acks } from "../broker/acks.ts";
import type { Broker } from "../broker/broker.ts";
import { isGafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import { CLOSE_CONNECTION, NO_ANSWER, type ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS, type KafkaErrorCode, kafkaErrorCode, kafkaErrorMessage } from "./error-codes.ts";
import { PRODUCE, PRODUCE_REMOVED_VERSIONS } from "./protocol/messages/produce.ts";
import type { MessageValue } from "./protocol/types.ts";

interface ProduceRequest {
  acks: number;
  topicData: { name: string; partitionData: { index: number; records: Uint8Array | null }[] }[];
}

interface PartitionAnswer {
  index: number;
  errorCode: KafkaErrorCode;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: [];
  errorMessage: string | null;
}

const NO_RECORDS = new Uint8Array(0);

export function produceApi(broker: Broker, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: PRODUCE,
    handle: (body, _header, _signal, release) => produce(broker, logger, principal, body as unknown as ProduceRequest, release),
    removedVersions: { api: PRODUCE_REMOVED_VERSIONS, handle: (body) => refuseEveryPartition(body as unknown as ProduceRequest) },
  };
}

/** Kafka's acks as the domain's; undefined for anything but 0, 1 and -1. */
function acksOf(acks: number): Acks | undefined {
  return acks === 0 ? 0 : acks === 1 ? 1 : acks === -1 ? "all" : undefined;
}

/**
 * `release` (the listener's, see RequestHandler) is called only when every
 * partition's append succeeded under acks 1 or all: the batches, views of
 * the request, have been written to the log (and are read back from it,
 * never from the request, by fetches and followers). An acks=0 append is
 * still under way when its answer is due, and a refused one may have
 * stopped anywhere: their requests' memory is never reused.
 */
function produce(
  broker: Broker,
  logger: Logger,
  principal: Principal,
  request: ProduceRequest,
  release: (() => void) | undefined,
): MessageValue | Promise<MessageValue | typeof NO_ANSWER | typeof CLOSE_CONNECTION> {
  const acks = acksOf(request.acks);
  if (acks === undefined) {
    return answerOf(request, () => failed(KAFKA_ERRORS.invalidRequiredAcks, `acks must be 0, 1 or -1, not ${request.acks}`));
  }
  // Started here, synchronously and in request order: nothing above waits.
  const appends = request.topicData.map((topic) =>
    topic.partitionData.map((partition) => appendPartition(broker, logger, principal, topic.name, partition.index, partition.records, acks)),
  );
  const answered = Promise.all(appends.map((partitions) => Promise.all(partitions)));
  // Under acks=0 each append settles once checked and under way, before its fsync.
  if (acks === 0) return answered.then((answers) => (answers.flat().some((answer) => answer.errorCode !== KAFKA_ERRORS.none) ? CLOSE_CONNECTION : NO_ANSWER));
  return answered.then((answers) => {
    if (release !== undefined && answers.every((partitions) => partitions.every((answer) => answer.errorCode === KAFKA_ERRORS.none))) release();
    return {
      responses: request.topicData.map((topic, t) => ({ name: topic.name, partitionResponses: answers[t] })),
      throttleTimeMs: 0,
    };
  });
}

/** One partition's append and its answer; never rejects. */
function appendPartition(
  broker: Broker,
  logger: Logger,
  principal: Principal,
  topic: string,
  partition: number,
  records: Uint8Array | null,
  acks: Acks,
): Promise<PartitionAnswer> {
  return broker.produceBatches(topic, partition, records ?? NO_RECORDS, { acks }, principal).then(
    (result): PartitionAnswer => ({
      index: partition,
      errorCode: KAFKA_ERRORS.none,
      baseOffset: result.baseOffset,
      logAppendTimeMs: -1,
      logStartOffset: logStartOffsetOf(broker, topic, partition),
      recordErrors: [],
      errorMessage: null,
    }),
    (error: unknown): PartitionAnswer => {
      if (!isGafkaError(error)) logger.error(`kafka produce to ${topic}-${partition} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      else if (acks === 0) logger.debug(`an acks=0 Kafka produce to ${topic}-${partition} was refused: ${error.message}`);
      return { ...failed(kafkaErrorCode(error), kafkaErrorMessage(error)), index: partition };
    },
  );
}

function logStartOffsetOf(broker: Broker, topic: string, partition: number): number {
  try {
    return broker.partitionBounds(topic, partition).earliest;
  } catch {
    return -1; // deleted since the append: the answer still reports the offsets the records got
  }
}

function failed(errorCode: KafkaErrorCode, errorMessage: string): PartitionAnswer {
  return { index: -1, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

/** The same answer for every partition of the request. */
function answerOf(request: ProduceRequest, answer: () => PartitionAnswer): MessageValue {
  return {
    responses: request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((partition) => ({ ...answer(), index: partition.index })),
    })),
    throttleTimeMs: 0,
  };
}

/** Produce 0–2: nothing is appended; each partition is answered UNSUPPORTED_VERSION (under acks=0, which reads no answer, the connection is closed). */
function refuseEveryPartition(request: ProduceRequest): MessageValue | typeof CLOSE_CONNECTION {
  if (request.acks === 0) return CLOSE_CONNECTION;
  return answerOf(request, () => failed(KAFKA_ERRORS.unsupportedVersion, "Produce versions 0 to 2 are not served; use 3 or later"));
}

/**
 * OffsetCommit (2–7): a group's committed offsets, into the offset store the
 * HTTP groups share (ClassicCoordinator.commit): from a member of the
 * current generation, or with generation -1 and no member id for a group
 * without members. Each partition is answered: the group's refusal for
 * all, else its topic's (TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION,
 * OFFSET_OUT_OF_RANGE past the high watermark), else the write's.
 * Committed metadata strings and retention times are not kept.
 */
import type { Logger } from "../core/logger.ts";
import type { ClassicCoordinator, PartitionCommitAnswer } from "../groups/classic-coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS, kafkaErrorCode } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { OFFSET_COMMIT } from "./protocol/messages/offset-commit.ts";
import type { MessageValue } from "./protocol/types.ts";

interface OffsetCommitRequest {
  groupId: string;
  generationIdOrMemberEpoch: number;
  memberId: string;
  topics: { name: string; partitions: { partitionIndex: number; committedOffset: number }[] }[];
}

export function offsetCommitApi(groups: ClassicCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: OFFSET_COMMIT,
    handle: async (body) => {
      const request = body as unknown as OffsetCommitRequest;
      const commits = request.topics.flatMap((topic) =>
        topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex, offset: partition.committedOffset })),
      );
      let answers: PartitionCommitAnswer[];
      try {
        answers = await groups.commit(request.groupId, request.memberId, request.generationIdOrMemberEpoch, commits, principal);
      } catch (error) {
        const errorCode = groupFailureCode(error, logger, `OffsetCommit of ${request.groupId}`);
        return answerOf(request, () => errorCode);
      }
      const byPartition = new Map(answers.map((answer) => [`${answer.topic}\u0000${answer.partition}`, answer]));
      return answerOf(request, (topic, partition) => {
        const answer = byPartition.get(`${topic}\u0000${partition}`)!;
        if (answer.error === null) return KAFKA_ERRORS.none;
        return answer.onTopic && typeof answer.error !== "string" ? kafkaErrorCode(answer.error, "topic") : groupFailureCode(answer.error, logger, "OffsetCommit");
      });
    },
  };
}

/** The answer in the request's shape: each topic and partition named, with its error code. */
function answerOf(request: OffsetCommitRequest, errorCodeOf: (topic: string, partition: number) => number): MessageValue {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: errorCodeOf(topic.name, partition.partitionIndex) })),
    })),
  };
}

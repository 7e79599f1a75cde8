/**
 * OffsetFetch (1–5): a group's committed offsets, of the partitions named
 * or, with topics null (v2+), of every partition it has committed on a
 * topic the principal may describe (ClassicCoordinator.fetchOffsets). A
 * partition without a commit answers offset -1. The group's refusal (its
 * ACL, NOT_COORDINATOR on a follower) is the top-level error code from v2,
 * and each partition's before.
 */
import type { Logger } from "../core/logger.ts";
import type { ClassicCoordinator, FetchedOffset } from "../groups/classic-coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS, kafkaErrorCode } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { OFFSET_FETCH } from "./protocol/messages/offset-fetch.ts";

interface OffsetFetchRequest {
  groupId: string;
  topics: { name: string; partitionIndexes: number[] }[] | null;
}

export function offsetFetchApi(groups: ClassicCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: OFFSET_FETCH,
    handle: (body) => {
      const request = body as unknown as OffsetFetchRequest;
      const asked = request.topics?.map((topic) => ({ topic: topic.name, partitions: topic.partitionIndexes })) ?? null;
      let fetched: FetchedOffset[];
      try {
        fetched = groups.fetchOffsets(request.groupId, asked, principal);
      } catch (error) {
        const errorCode = groupFailureCode(error, logger, `OffsetFetch of ${request.groupId}`);
        const failed = (asked ?? []).flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition, offset: -1, error: null })));
        return { throttleTimeMs: 0, topics: topicsOf(failed, errorCode), errorCode };
      }
      return { throttleTimeMs: 0, topics: topicsOf(fetched), errorCode: KAFKA_ERRORS.none };
    },
  };
}

/** Offsets grouped by topic, in the order met; `errorCode` for every partition when the whole request failed. */
function topicsOf(fetched: readonly FetchedOffset[], errorCode?: number) {
  const topics = new Map<string, { name: string; partitions: object[] }>();
  for (const entry of fetched) {
    let topic = topics.get(entry.topic);
    if (topic === undefined) {
      topic = { name: entry.topic, partitions: [] };
      topics.set(entry.topic, topic);
    }
    topic.partitions.push({
      partitionIndex: entry.partition,
      committedOffset: entry.offset,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode: errorCode ?? (entry.error === null ? KAFKA_ERRORS.none : kafkaErrorCode(entry.error, "topic")),
    });
  }
  return [...topics.values()];
}

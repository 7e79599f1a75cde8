import type { ApiDescription } from "../types.ts";

export const OFFSET_COMMIT_KEY = 8;

/**
 * OffsetCommit 2–7 (Kafka no longer defines 0–1): a group's committed
 * offsets, from a member of its current generation, or (generation -1,
 * empty member id) from a client outside any group while the group has no
 * members.
 */
export const OFFSET_COMMIT: ApiDescription = {
  apiKey: OFFSET_COMMIT_KEY,
  name: "OffsetCommit",
  request: {
    name: "OffsetCommitRequest",
    apiKey: OFFSET_COMMIT_KEY,
    validVersions: "2-7",
    flexibleVersions: "8+",
    fields: [
      { name: "groupId", type: "string", versions: "0+" },
      { name: "generationIdOrMemberEpoch", type: "int32", versions: "1+", default: -1 },
      { name: "memberId", type: "string", versions: "1+" },
      { name: "groupInstanceId", type: "string", versions: "7+", nullableVersions: "7+", default: null },
      { name: "retentionTimeMs", type: "int64", versions: "2-4", default: -1 },
      {
        name: "topics",
        type: "[]OffsetCommitRequestTopic",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0-9" },
          {
            name: "partitions",
            type: "[]OffsetCommitRequestPartition",
            versions: "0+",
            fields: [
              { name: "partitionIndex", type: "int32", versions: "0+" },
              { name: "committedOffset", type: "int64", versions: "0+" },
              { name: "committedLeaderEpoch", type: "int32", versions: "6+", default: -1 },
              { name: "committedMetadata", type: "string", versions: "0+", nullableVersions: "0+" },
            ],
          },
        ],
      },
    ],
  },
  response: {
    name: "OffsetCommitResponse",
    apiKey: OFFSET_COMMIT_KEY,
    validVersions: "2-7",
    flexibleVersions: "8+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "3+" },
      {
        name: "topics",
        type: "[]OffsetCommitResponseTopic",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0-9" },
          {
            name: "partitions",
            type: "[]OffsetCommitResponsePartition",
            versions: "0+",
            fields: [
              { name: "partitionIndex", type: "int32", versions: "0+" },
              { name: "errorCode", type: "int16", versions: "0+" },
            ],
          },
        ],
      },
    ],
  },
};

import type { ApiDescription } from "../types.ts";

export const LIST_OFFSETS_KEY = 2;

/** ListOffsets 1–5: the earliest (-2) or latest (-1) offset of a partition, or the first at or after a timestamp. */
export const LIST_OFFSETS: ApiDescription = {
  apiKey: LIST_OFFSETS_KEY,
  name: "ListOffsets",
  request: {
    name: "ListOffsetsRequest",
    apiKey: LIST_OFFSETS_KEY,
    validVersions: "1-5",
    flexibleVersions: "6+",
    fields: [
      { name: "replicaId", type: "int32", versions: "0+" },
      { name: "isolationLevel", type: "int8", versions: "2+" },
      {
        name: "topics",
        type: "[]ListOffsetsTopic",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0+" },
          {
            name: "partitions",
            type: "[]ListOffsetsPartition",
            versions: "0+",
            fields: [
              { name: "partitionIndex", type: "int32", versions: "0+" },
              { name: "currentLeaderEpoch", type: "int32", versions: "4+", default: -1 },
              { name: "timestamp", type: "int64", versions: "0+" },
            ],
          },
        ],
      },
    ],
  },
  response: {
    name: "ListOffsetsResponse",
    apiKey: LIST_OFFSETS_KEY,
    validVersions: "1-5",
    flexibleVersions: "6+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "2+" },
      {
        name: "topics",
        type: "[]ListOffsetsTopicResponse",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0+" },
          {
            name: "partitions",
            type: "[]ListOffsetsPartitionResponse",
            versions: "0+",
            fields: [
              { name: "partitionIndex", type: "int32", versions: "0+" },
              { name: "errorCode", type: "int16", versions: "0+" },
              { name: "timestamp", type: "int64", versions: "1+", default: -1 },
              { name: "offset", type: "int64", versions: "1+", default: -1 },
              { name: "leaderEpoch", type: "int32", versions: "4+", default: -1 },
            ],
          },
        ],
      },
    ],
  },
};

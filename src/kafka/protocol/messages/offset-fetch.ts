import type { ApiDescription } from "../types.ts";

export const OFFSET_FETCH_KEY = 9;

/** OffsetFetch 1–5: a group's committed offsets, for the partitions named or (topics null, from v2) all of them. */
export const OFFSET_FETCH: ApiDescription = {
  apiKey: OFFSET_FETCH_KEY,
  name: "OffsetFetch",
  request: {
    name: "OffsetFetchRequest",
    apiKey: OFFSET_FETCH_KEY,
    validVersions: "1-5",
    flexibleVersions: "6+",
    fields: [
      { name: "groupId", type: "string", versions: "0-7" },
      {
        name: "topics",
        type: "[]OffsetFetchRequestTopic",
        versions: "0-7",
        nullableVersions: "2-7",
        fields: [
          { name: "name", type: "string", versions: "0-7" },
          { name: "partitionIndexes", type: "[]int32", versions: "0-7" },
        ],
      },
    ],
  },
  response: {
    name: "OffsetFetchResponse",
    apiKey: OFFSET_FETCH_KEY,
    validVersions: "1-5",
    flexibleVersions: "6+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "3+" },
      {
        name: "topics",
        type: "[]OffsetFetchResponseTopic",
        versions: "0-7",
        fields: [
          { name: "name", type: "string", versions: "0-7" },
          {
            name: "partitions",
            type: "[]OffsetFetchResponsePartition",
            versions: "0-7",
            fields: [
              { name: "partitionIndex", type: "int32", versions: "0-7" },
              { name: "committedOffset", type: "int64", versions: "0-7" },
              { name: "committedLeaderEpoch", type: "int32", versions: "5-7", default: -1 },
              { name: "metadata", type: "string", versions: "0-7", nullableVersions: "0-7" },
              { name: "errorCode", type: "int16", versions: "0-7" },
            ],
          },
        ],
      },
      { name: "errorCode", type: "int16", versions: "2-7", default: 0 },
    ],
  },
};

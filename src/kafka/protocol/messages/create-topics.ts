import type { ApiDescription } from "../types.ts";

export const CREATE_TOPICS_KEY = 19;

/**
 * CreateTopics 2–4: topics with a partition count, a replication factor (or
 * -1 for the broker's defaults), manual assignments (which gafka refuses)
 * and configurations; `validateOnly` checks without creating. Version 5 is
 * flexible and answers each topic's configurations, which gafka does not describe.
 */
export const CREATE_TOPICS: ApiDescription = {
  apiKey: CREATE_TOPICS_KEY,
  name: "CreateTopics",
  request: {
    name: "CreateTopicsRequest",
    apiKey: CREATE_TOPICS_KEY,
    validVersions: "2-4",
    flexibleVersions: "5+",
    fields: [
      {
        name: "topics",
        type: "[]CreatableTopic",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0+" },
          { name: "numPartitions", type: "int32", versions: "0+" },
          { name: "replicationFactor", type: "int16", versions: "0+" },
          {
            name: "assignments",
            type: "[]CreatableReplicaAssignment",
            versions: "0+",
            fields: [
              { name: "partitionIndex", type: "int32", versions: "0+" },
              { name: "brokerIds", type: "[]int32", versions: "0+" },
            ],
          },
          {
            name: "configs",
            type: "[]CreatableTopicConfig",
            versions: "0+",
            fields: [
              { name: "name", type: "string", versions: "0+" },
              { name: "value", type: "string", versions: "0+", nullableVersions: "0+" },
            ],
          },
        ],
      },
      { name: "timeoutMs", type: "int32", versions: "0+", default: 60000 },
      { name: "validateOnly", type: "bool", versions: "1+", default: false },
    ],
  },
  response: {
    name: "CreateTopicsResponse",
    apiKey: CREATE_TOPICS_KEY,
    validVersions: "2-4",
    flexibleVersions: "5+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "2+" },
      {
        name: "topics",
        type: "[]CreatableTopicResult",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0+" },
          { name: "errorCode", type: "int16", versions: "0+" },
          { name: "errorMessage", type: "string", versions: "1+", nullableVersions: "0+" },
        ],
      },
    ],
  },
};

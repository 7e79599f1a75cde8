import type { ApiDescription } from "../types.ts";

export const DELETE_TOPICS_KEY = 20;

/** DeleteTopics 1–3: topics by name, each answered with its own error code. Version 6 names topics by id, which gafka has not. */
export const DELETE_TOPICS: ApiDescription = {
  apiKey: DELETE_TOPICS_KEY,
  name: "DeleteTopics",
  request: {
    name: "DeleteTopicsRequest",
    apiKey: DELETE_TOPICS_KEY,
    validVersions: "1-3",
    flexibleVersions: "4+",
    fields: [
      { name: "topicNames", type: "[]string", versions: "0-5" },
      { name: "timeoutMs", type: "int32", versions: "0+" },
    ],
  },
  response: {
    name: "DeleteTopicsResponse",
    apiKey: DELETE_TOPICS_KEY,
    validVersions: "1-3",
    flexibleVersions: "4+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "1+" },
      {
        name: "responses",
        type: "[]DeletableTopicResult",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0+", nullableVersions: "6+" },
          { name: "errorCode", type: "int16", versions: "0+" },
        ],
      },
    ],
  },
};

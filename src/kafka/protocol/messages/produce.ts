import type { ApiDescription } from "../types.ts";

export const PRODUCE_KEY = 0;

/**
 * Produce 3–8, the versions gafka serves (it advertises 0–8: librdkafka
 * enables compression only when v0 is advertised; 0–2 are answered
 * UNSUPPORTED_VERSION without being parsed). `records` stays raw bytes: the
 * log checks each batch as it does for the HTTP door.
 */
export const PRODUCE: ApiDescription = {
  apiKey: PRODUCE_KEY,
  name: "Produce",
  request: {
    name: "ProduceRequest",
    apiKey: PRODUCE_KEY,
    validVersions: "3-8",
    flexibleVersions: "9+",
    fields: [
      { name: "transactionalId", type: "string", versions: "3+", nullableVersions: "3+", default: null },
      { name: "acks", type: "int16", versions: "0+" },
      { name: "timeoutMs", type: "int32", versions: "0+" },
      {
        name: "topicData",
        type: "[]TopicProduceData",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0-12" },
          {
            name: "partitionData",
            type: "[]PartitionProduceData",
            versions: "0+",
            fields: [
              { name: "index", type: "int32", versions: "0+" },
              { name: "records", type: "records", versions: "0+", nullableVersions: "0+" },
            ],
          },
        ],
      },
    ],
  },
  response: {
    name: "ProduceResponse",
    apiKey: PRODUCE_KEY,
    validVersions: "3-8",
    flexibleVersions: "9+",
    fields: [
      {
        name: "responses",
        type: "[]TopicProduceResponse",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0-12" },
          {
            name: "partitionResponses",
            type: "[]PartitionProduceResponse",
            versions: "0+",
            fields: [
              { name: "index", type: "int32", versions: "0+" },
              { name: "errorCode", type: "int16", versions: "0+" },
              { name: "baseOffset", type: "int64", versions: "0+" },
              { name: "logAppendTimeMs", type: "int64", versions: "2+", default: -1 },
              { name: "logStartOffset", type: "int64", versions: "5+", default: -1 },
              {
                name: "recordErrors",
                type: "[]BatchIndexAndErrorMessage",
                versions: "8+",
                fields: [
                  { name: "batchIndex", type: "int32", versions: "8+" },
                  { name: "batchIndexErrorMessage", type: "string", versions: "8+", nullableVersions: "8+", default: null },
                ],
              },
              { name: "errorMessage", type: "string", versions: "8+", nullableVersions: "8+", default: null },
            ],
          },
        ],
      },
      { name: "throttleTimeMs", type: "int32", versions: "1+", default: 0 },
    ],
  },
};

/**
 * Produce 0–2, read only to be refused: Kafka 4 removed them, yet still
 * advertises them (KAFKA-18659), and so does gafka; a request at one of them
 * is answered UNSUPPORTED_VERSION for each of its partitions. The fields are
 * those of 3–8 as they stand at 0–2 (Kafka's older schemas: no
 * transactionalId; throttleTimeMs from 1, logAppendTimeMs from 2), and the
 * records (old message sets) are never looked into. Not among DESCRIBED_APIS,
 * which are checked against Kafka 4's schemas, where these versions are gone.
 */
export const PRODUCE_REMOVED_VERSIONS: ApiDescription = {
  ...PRODUCE,
  request: { ...PRODUCE.request, validVersions: "0-2" },
  response: { ...PRODUCE.response, validVersions: "0-2" },
};

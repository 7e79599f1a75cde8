import { describe, expect, test } from "bun:test";
import { API_BY_KEY, DESCRIBED_APIS } from "./apis.ts";
import {
  decode,
  decodeRequest,
  decodeResponse,
  encode,
  encodeRequest,
  encodeResponse,
  requestHeaderVersion,
  responseHeaderVersion,
} from "./codec.ts";
import { API_VERSIONS } from "./messages/api-versions.ts";
import { FETCH } from "./messages/fetch.ts";
import { METADATA } from "./messages/metadata.ts";
import { PRODUCE } from "./messages/produce.ts";
import { REQUEST_HEADER, RESPONSE_HEADER } from "./messages/headers.ts";
import { sampleMessage } from "./sample-value.fixture.ts";
import { type MessageDescription, versionsOf } from "./types.ts";

/** A made-up flexible message that uses every type and feature the codec has, for what gafka's APIs do not reach yet. */
const EVERYTHING: MessageDescription = {
  name: "Everything",
  validVersions: "0-2",
  flexibleVersions: "1+",
  fields: [
    { name: "int8", type: "int8", versions: "0+" },
    { name: "int16", type: "int16", versions: "0+" },
    { name: "uint16", type: "uint16", versions: "0+" },
    { name: "int32", type: "int32", versions: "0+" },
    { name: "uint32", type: "uint32", versions: "0+" },
    { name: "int64", type: "int64", versions: "0+" },
    { name: "float64", type: "float64", versions: "0+" },
    { name: "bool", type: "bool", versions: "0+" },
    { name: "uuid", type: "uuid", versions: "0+" },
    { name: "string", type: "string", versions: "0+", nullableVersions: "2+" },
    { name: "bytes", type: "bytes", versions: "0+", nullableVersions: "0+" },
    { name: "records", type: "records", versions: "0+", nullableVersions: "0+" },
    { name: "strings", type: "[]string", versions: "0+" },
    { name: "int64s", type: "[]int64", versions: "1+", nullableVersions: "1+" },
    { name: "classic", type: "string", versions: "0+", flexibleVersions: "none" },
    {
      name: "nested",
      type: "Nested",
      versions: "0+",
      fields: [
        { name: "a", type: "int32", versions: "0+" },
        { name: "b", type: "string", versions: "0+", taggedVersions: "1+", tag: 5, default: "b" },
      ],
    },
    { name: "onlyOld", type: "int32", versions: "0", default: 42 },
    { name: "taggedInt", type: "int32", versions: "1+", taggedVersions: "1+", tag: 0, default: -1 },
    {
      name: "taggedStructs",
      type: "[]Tagged",
      versions: "2+",
      taggedVersions: "2+",
      tag: 7,
      fields: [{ name: "x", type: "int16", versions: "0+" }],
    },
  ],
};

function roundTrip(description: MessageDescription, version: number, value: Record<string, unknown>) {
  expect(decode(description, version, encode(description, version, value))).toEqual(value);
}

describe("every described message round-trips at every version", () => {
  const messages = [REQUEST_HEADER, RESPONSE_HEADER, EVERYTHING, ...DESCRIBED_APIS.flatMap((api) => [api.request, api.response])];
  for (const description of messages) {
    for (const version of versionsOf(description)) {
      test(`${description.name} v${version}`, () => {
        roundTrip(description, version, sampleMessage(description, version, 0));
        roundTrip(description, version, sampleMessage(description, version, 1));
      });
    }
  }
});

describe("values", () => {
  test("a field the value leaves out is written as its default, and absent versions decode to defaults", () => {
    const bytes = encode(METADATA.response, 0, { brokers: [], topics: [] });
    expect(bytes.length).toBe(8);
    const decoded = decode(METADATA.response, 0, bytes);
    expect(decoded).toEqual({
      throttleTimeMs: 0,
      brokers: [],
      clusterId: null,
      controllerId: -1,
      topics: [],
      clusterAuthorizedOperations: -2147483648,
    });
  });

  test("records given as a list of stored batches are written under one length and read back as one view", () => {
    const value = {
      responses: [
        {
          topic: "t",
          partitions: [{ partitionIndex: 0, highWatermark: 5, records: [new Uint8Array([1, 2]), new Uint8Array([3])] }],
        },
      ],
    };
    const decoded = decode<any>(FETCH.response, 11, encode(FETCH.response, 11, value));
    expect(decoded.responses[0].partitions[0].records).toEqual(new Uint8Array([1, 2, 3]));
    expect(decoded.responses[0].partitions[0].abortedTransactions).toEqual([]);
  });

  test("decoded records are a view of the request's bytes, not a copy", () => {
    const records = new Uint8Array([9, 8, 7]);
    const value = { acks: 1, timeoutMs: 100, topicData: [{ name: "t", partitionData: [{ index: 0, records }] }] };
    const bytes = encode(PRODUCE.request, 7, value);
    const decoded = decode<any>(PRODUCE.request, 7, bytes);
    const view: Uint8Array = decoded.topicData[0].partitionData[0].records;
    expect(view.buffer).toBe(bytes.buffer);
  });

  test("a tagged field at its default is left out, and is written once it differs", () => {
    const base = { errorCode: 0, apiKeys: [], throttleTimeMs: 0 };
    expect(encode(API_VERSIONS.response, 3, base)).toEqual(new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0]));
    expect(encode(API_VERSIONS.response, 3, { ...base, finalizedFeaturesEpoch: 3 }).length).toBe(8 + 10);
  });

  test("an int64 past 2^53 from the network is an invalid_request, not a rounded number", () => {
    const bytes = encode(API_VERSIONS.response, 3, { errorCode: 0, apiKeys: [], finalizedFeaturesEpoch: 1 });
    bytes.fill(0x7f, 9, 17); // the epoch's eight bytes, after count, tag and size
    expect(() => decode(API_VERSIONS.response, 3, bytes)).toThrow(expect.objectContaining({ code: "invalid_request" }));
  });

  test("a value that does not fit its field is a bug: assertions, not bytes", () => {
    expect(() => encode(METADATA.response, 0, { brokers: null, topics: [] })).toThrow(/not nullable/);
    expect(() => encode(METADATA.response, 0, { brokers: [{ nodeId: 2 ** 31, host: "h", port: 1 }], topics: [] })).toThrow(/int32/);
  });
});

describe("headers", () => {
  test("request header v1 for classic versions, v2 for flexible; ApiVersions answers always with header v0", () => {
    expect(requestHeaderVersion(API_VERSIONS.request, 2)).toBe(1);
    expect(requestHeaderVersion(API_VERSIONS.request, 3)).toBe(2);
    expect(responseHeaderVersion(API_VERSIONS.response, 3)).toBe(0);
    expect(responseHeaderVersion(METADATA.response, 8)).toBe(0);
    expect(responseHeaderVersion({ ...METADATA.response, validVersions: "0-9" }, 9)).toBe(1);
  });

  for (const api of DESCRIBED_APIS) {
    for (const version of versionsOf(api.request)) {
      test(`${api.name} v${version}: request and response with their headers`, () => {
        const header = { requestApiKey: api.apiKey, requestApiVersion: version, correlationId: 77, clientId: "c" };
        const body = sampleMessage(api.request, version);
        expect(decodeRequest(api.request, encodeRequest(api.request, header, body))).toEqual({ header, body });
        const answer = sampleMessage(api.response, version);
        const bytes = encodeResponse(api.response, version, 77, answer, 4);
        expect(decodeResponse(api.response, version, bytes.subarray(4))).toEqual({ correlationId: 77, body: answer });
      });
    }
  }

  test("the API table holds each API under its key", () => {
    for (const api of DESCRIBED_APIS) expect(API_BY_KEY.get(api.apiKey)).toBe(api);
  });
});

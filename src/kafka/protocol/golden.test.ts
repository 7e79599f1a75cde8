/**
 * Bytes written out by hand from the protocol specification
 * (kafka.apache.org/protocol, "Protocol Primitive Types" and the message
 * grammars), checked both ways: the codec reads them to the expected value
 * and writes the value back to the same bytes. Each line of a byte array
 * below is one field.
 */
import { describe, expect, test } from "bun:test";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "./codec.ts";
import { API_VERSIONS } from "./messages/api-versions.ts";
import { FETCH } from "./messages/fetch.ts";
import { METADATA } from "./messages/metadata.ts";
import { PRODUCE } from "./messages/produce.ts";

const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

describe("golden bytes", () => {
  test("ApiVersions v3 request as librdkafka sends it: request header v2, classic client id, compact strings", () => {
    const bytes = new Uint8Array([
      ...[0x00, 0x12], // request_api_key 18
      ...[0x00, 0x03], // request_api_version 3
      ...[0x00, 0x00, 0x00, 0x01], // correlation_id 1
      ...[0x00, 0x07, ...ascii("rdkafka")], // client_id: NULLABLE_STRING (int16 length) even in header v2
      0x00, // header _tagged_fields: none
      ...[0x0b, ...ascii("librdkafka")], // client_software_name: COMPACT_STRING, length 10 + 1
      ...[0x06, ...ascii("2.3.0")], // client_software_version: COMPACT_STRING, length 5 + 1
      0x00, // body _tagged_fields: none
    ]);
    const header = { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: "rdkafka" };
    const body = { clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.3.0" };
    expect(decodeRequest(API_VERSIONS.request, bytes)).toEqual({ header, body });
    expect(encodeRequest(API_VERSIONS.request, header, body)).toEqual(bytes);
  });

  test("ApiVersions v3 response: response header v0 (no tagged section), compact array of structs, a tagged field", () => {
    const bytes = new Uint8Array([
      ...[0x00, 0x00, 0x00, 0x01], // correlation_id; header v0 whatever the version
      ...[0x00, 0x00], // error_code 0
      0x03, // api_keys: COMPACT_ARRAY, 2 + 1
      ...[0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00], // Produce 0-8, struct _tagged_fields none
      ...[0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00], // ApiVersions 0-3, none
      ...[0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
      0x01, // _tagged_fields: one
      ...[0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05], // tag 1 finalized_features_epoch, 8 bytes, 5
    ]);
    const body = {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 8 },
        { apiKey: 18, minVersion: 0, maxVersion: 3 },
      ],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: 5,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
    expect(decodeResponse(API_VERSIONS.response, 3, bytes)).toEqual({ correlationId: 1, body });
    expect(encodeResponse(API_VERSIONS.response, 3, 1, body)).toEqual(bytes);
  });

  test("Metadata v1 request for all topics (a null array) with request header v1", () => {
    const bytes = new Uint8Array([
      ...[0x00, 0x03, 0x00, 0x01], // api key 3, version 1
      ...[0x00, 0x00, 0x00, 0x2a], // correlation id 42
      ...[0xff, 0xff], // client_id null
      ...[0xff, 0xff, 0xff, 0xff], // topics: null ARRAY (-1) = every topic
    ]);
    const header = { requestApiKey: 3, requestApiVersion: 1, correlationId: 42, clientId: null };
    const decoded = decodeRequest(METADATA.request, bytes);
    expect(decoded.header).toEqual(header);
    expect(decoded.body).toMatchObject({ topics: null, allowAutoTopicCreation: true });
    expect(encodeRequest(METADATA.request, header, { topics: null })).toEqual(bytes);
  });

  test("Produce v3 request: nullable transactional id, records as raw bytes", () => {
    const records = [0xde, 0xad, 0xbe, 0xef];
    const bytes = new Uint8Array([
      ...[0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07], // api key 0, version 3, correlation id 7
      ...[0x00, 0x01, ...ascii("p")], // client_id "p"
      ...[0xff, 0xff], // transactional_id null
      ...[0xff, 0xff], // acks -1
      ...[0x00, 0x00, 0x75, 0x30], // timeout_ms 30000
      ...[0x00, 0x00, 0x00, 0x01], // topic_data: 1
      ...[0x00, 0x01, ...ascii("t")], // name "t"
      ...[0x00, 0x00, 0x00, 0x01], // partition_data: 1
      ...[0x00, 0x00, 0x00, 0x02], // index 2
      ...[0x00, 0x00, 0x00, 0x04, ...records], // records: RECORDS (int32 length + bytes)
    ]);
    const header = { requestApiKey: 0, requestApiVersion: 3, correlationId: 7, clientId: "p" };
    const body = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: "t", partitionData: [{ index: 2, records: new Uint8Array(records) }] }],
    };
    expect(decodeRequest(PRODUCE.request, bytes)).toEqual({ header, body });
    expect(encodeRequest(PRODUCE.request, header, body)).toEqual(bytes);
  });

  test("Fetch v4 response: int64s, a null aborted_transactions and null records", () => {
    const bytes = new Uint8Array([
      ...[0x00, 0x00, 0x00, 0x09], // correlation id 9
      ...[0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
      ...[0x00, 0x00, 0x00, 0x01], // responses: 1
      ...[0x00, 0x01, ...ascii("t")], // topic "t"
      ...[0x00, 0x00, 0x00, 0x01], // partitions: 1
      ...[0x00, 0x00, 0x00, 0x00], // partition_index 0
      ...[0x00, 0x01], // error_code 1 (OFFSET_OUT_OF_RANGE)
      ...[0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00], // high_watermark 2^32
      ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // last_stable_offset -1
      ...[0xff, 0xff, 0xff, 0xff], // aborted_transactions null
      ...[0xff, 0xff, 0xff, 0xff], // records null
    ]);
    const partition = {
      partitionIndex: 0,
      errorCode: 1,
      highWatermark: 2 ** 32,
      lastStableOffset: -1,
      logStartOffset: -1,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: null,
    };
    const body = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: "t", partitions: [partition] }] };
    expect(decodeResponse(FETCH.response, 4, bytes)).toEqual({ correlationId: 9, body });
    expect(encodeResponse(FETCH.response, 4, 9, body)).toEqual(bytes);
  });
});

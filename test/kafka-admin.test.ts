/**
 * The Kafka door's topic administration against a real leader and
 * follower, in raw bytes through gafka's codec: CreateTopics' per-topic
 * errors and validateOnly, DeleteTopics, DescribeConfigs of topics and of
 * the broker, NOT_CONTROLLER on the follower, and the door's metrics.
 */
import { afterAll, expect, test } from "bun:test";
import { KAFKA_ERRORS } from "../src/kafka/error-codes.ts";
import { decodeResponse, encodeRequest } from "../src/kafka/protocol/codec.ts";
import { CREATE_TOPICS } from "../src/kafka/protocol/messages/create-topics.ts";
import { DELETE_TOPICS } from "../src/kafka/protocol/messages/delete-topics.ts";
import { DESCRIBE_CONFIGS } from "../src/kafka/protocol/messages/describe-configs.ts";
import type { ApiDescription, MessageValue } from "../src/kafka/protocol/types.ts";
import { cleanupAll } from "./helpers/broker-process.ts";
import { startFollower, startLeader, status } from "./helpers/cluster.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";
import { connectRaw, framed } from "./helpers/kafka-socket.ts";
import { parseSamples } from "./helpers/metrics.ts";

afterAll(cleanupAll);

const leader = await startLeader(["--partitions-max=20", "--retention-ms=3600000"]);
const follower = await startFollower(leader, 2);
await waitFor(async () => (await status(follower)).leader_id === 1 && (await status(leader)).followers.length === 1, "the follower to join");

let correlationId = 0;

/** One request on a fresh connection, its answer decoded. */
async function call(port: number, api: ApiDescription, version: number, body: MessageValue): Promise<any> {
  const socket = await connectRaw(port);
  try {
    const id = ++correlationId;
    socket.write(framed(encodeRequest(api.request, { requestApiKey: api.apiKey, requestApiVersion: version, correlationId: id, clientId: "raw-admin" }, body)));
    const [answer] = await socket.answers(1);
    const decoded = decodeResponse<any>(api.response, version, answer!);
    expect(decoded.correlationId).toBe(id);
    return decoded.body;
  } finally {
    socket.end();
  }
}

interface Creatable {
  name: string;
  numPartitions?: number;
  replicationFactor?: number;
  assignments?: { partitionIndex: number; brokerIds: number[] }[];
  configs?: { name: string; value: string | null }[];
}

function createTopics(port: number, topics: Creatable[], options: { validateOnly?: boolean; version?: number } = {}) {
  const body = {
    topics: topics.map((topic) => ({ numPartitions: -1, replicationFactor: -1, assignments: [], configs: [], ...topic })),
    timeoutMs: 30_000,
    validateOnly: options.validateOnly ?? false,
  };
  return call(port, CREATE_TOPICS, options.version ?? 4, body);
}

const byName = (results: { name: string }[]) => new Map(results.map((result) => [result.name, result as any]));

test("CreateTopics creates each topic through the domain, with its configs, and answers each error on its own topic", async () => {
  const answer = await createTopics(leader.kafkaPort!, [
    { name: "admin-plain" },
    { name: "admin-configured", numPartitions: 3, replicationFactor: 2, configs: [{ name: "retention.ms", value: "60000" }, { name: "cleanup.policy", value: "compact" }] },
    { name: "bad name!" },
    { name: "admin-too-many", numPartitions: 101 },
    { name: "admin-zero", numPartitions: 0 },
    { name: "admin-over-cap", numPartitions: 20 },
    { name: "admin-factor", replicationFactor: 3 },
    { name: "admin-factor-zero", replicationFactor: 0 },
    { name: "admin-assigned", assignments: [{ partitionIndex: 0, brokerIds: [1] }] },
    { name: "admin-unknown-config", configs: [{ name: "flush.ms", value: "1" }] },
    { name: "admin-bad-config", configs: [{ name: "retention.ms", value: "soon" }] },
    { name: "admin-null-config", configs: [{ name: "retention.ms", value: null }] },
    { name: "admin-twice" },
    { name: "admin-twice" },
  ]);
  expect(answer.throttleTimeMs).toBe(0);
  expect(answer.topics).toHaveLength(14);
  const results = byName(answer.topics);
  expect(results.get("admin-plain")).toEqual({ name: "admin-plain", errorCode: 0, errorMessage: null });
  expect(results.get("admin-configured")).toEqual({ name: "admin-configured", errorCode: 0, errorMessage: null });
  const expected: [string, number, RegExp][] = [
    ["bad name!", KAFKA_ERRORS.invalidTopicException, /name/],
    ["admin-too-many", KAFKA_ERRORS.invalidPartitions, /partitions must be an integer from 1 to 100/],
    ["admin-zero", KAFKA_ERRORS.invalidPartitions, /partitions/],
    ["admin-over-cap", KAFKA_ERRORS.policyViolation, /--partitions-max/],
    ["admin-factor", KAFKA_ERRORS.invalidReplicationFactor, /replication factor 3 cannot be met.*2 known/],
    ["admin-factor-zero", KAFKA_ERRORS.invalidReplicationFactor, /replication factor 0/],
    ["admin-assigned", KAFKA_ERRORS.invalidReplicaAssignment, /manual replica assignments/],
    ["admin-unknown-config", KAFKA_ERRORS.invalidConfig, /unknown topic configuration 'flush.ms'/],
    ["admin-bad-config", KAFKA_ERRORS.invalidConfig, /retention.ms must be/],
    ["admin-null-config", KAFKA_ERRORS.invalidConfig, /has no value/],
    ["admin-twice", KAFKA_ERRORS.invalidRequest, /more than once/],
  ];
  for (const [name, errorCode, message] of expected) {
    expect({ name, errorCode: results.get(name).errorCode }).toEqual({ name, errorCode });
    expect(results.get(name).errorMessage).toMatch(message);
  }
  // Over HTTP: the two created, with their partitions and configs; none of the others.
  const topics = (await getJson(`${leader.url}/api/v1/topics`)).body.topics;
  expect(topics).toEqual([
    { name: "admin-configured", partitions: 3 },
    { name: "admin-plain", partitions: 1 },
  ]);
  const configured = (await getJson(`${leader.url}/api/v1/topics/admin-configured`)).body.configs;
  expect(configured).toContainEqual({ name: "retention.ms", value: "60000", source: "topic" });
  expect(configured).toContainEqual({ name: "cleanup.policy", value: "compact", source: "topic" });

  // Once more: the name is taken.
  const again = await createTopics(leader.kafkaPort!, [{ name: "admin-plain" }], { version: 2 });
  expect(again.topics[0].errorCode).toBe(KAFKA_ERRORS.topicAlreadyExists);
  expect(again.topics[0].errorMessage).toMatch(/admin-plain/);
});

test("validateOnly checks everything and creates nothing", async () => {
  const answer = await createTopics(
    leader.kafkaPort!,
    [{ name: "admin-validated", numPartitions: 2, configs: [{ name: "segment.ms", value: "60000" }] }, { name: "admin-validated-bad", configs: [{ name: "segment.ms", value: "0" }] }],
    { validateOnly: true, version: 3 },
  );
  expect(byName(answer.topics).get("admin-validated")).toEqual({ name: "admin-validated", errorCode: 0, errorMessage: null });
  expect(byName(answer.topics).get("admin-validated-bad").errorCode).toBe(KAFKA_ERRORS.invalidConfig);
  expect((await getJson(`${leader.url}/api/v1/topics/admin-validated`)).status).toBe(404);
});

test("DeleteTopics deletes each topic through the domain; an unknown one is UNKNOWN_TOPIC_OR_PARTITION", async () => {
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: "admin-doomed", partitions: 2 })).status).toBe(201);
  const answer = await call(leader.kafkaPort!, DELETE_TOPICS, 3, { topicNames: ["admin-doomed", "admin-never"], timeoutMs: 30_000 });
  expect(answer).toEqual({
    throttleTimeMs: 0,
    responses: [
      { name: "admin-doomed", errorCode: 0 },
      { name: "admin-never", errorCode: KAFKA_ERRORS.unknownTopicOrPartition },
    ],
  });
  expect((await getJson(`${leader.url}/api/v1/topics/admin-doomed`)).status).toBe(404);
});

test("on the follower, CreateTopics and DeleteTopics answer NOT_CONTROLLER, whatever else is wrong, and change nothing", async () => {
  const created = await createTopics(follower.kafkaPort!, [{ name: "admin-on-follower" }, { name: "bad name!", replicationFactor: 9 }]);
  expect(created.topics.map((topic: any) => topic.errorCode)).toEqual([KAFKA_ERRORS.notController, KAFKA_ERRORS.notController]);
  const validated = await createTopics(follower.kafkaPort!, [{ name: "admin-on-follower" }], { validateOnly: true });
  expect(validated.topics[0].errorCode).toBe(KAFKA_ERRORS.notController);
  await waitFor(async () => (await getJson(`${follower.url}/api/v1/topics`)).body.topics.some((topic: any) => topic.name === "admin-plain"), "admin-plain on the follower");
  const deleted = await call(follower.kafkaPort!, DELETE_TOPICS, 1, { topicNames: ["admin-plain", "admin-never"], timeoutMs: 1000 });
  expect(deleted.responses.map((topic: any) => topic.errorCode)).toEqual([KAFKA_ERRORS.notController, KAFKA_ERRORS.notController]);
  expect((await getJson(`${leader.url}/api/v1/topics/admin-plain`)).status).toBe(200);
  expect((await getJson(`${leader.url}/api/v1/topics/admin-on-follower`)).status).toBe(404);
});

function describeConfigs(port: number, resources: { resourceType: number; resourceName: string; configurationKeys: string[] | null }[], version = 3, includeSynonyms = false) {
  return call(port, DESCRIBE_CONFIGS, version, { resources, includeSynonyms, includeDocumentation: false });
}

test("DescribeConfigs of a topic: every setting, its source, its synonyms when asked; the keys asked for alone", async () => {
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: "admin-described", configs: { "retention.ms": "120000" } })).status).toBe(201);
  const answer = await describeConfigs(leader.kafkaPort!, [{ resourceType: 2, resourceName: "admin-described", configurationKeys: null }], 3, true);
  const [result] = answer.results;
  expect(result).toMatchObject({ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: "admin-described" });
  const configs = new Map<string, any>(result.configs.map((entry: any) => [entry.name, entry]));
  expect([...configs.keys()].sort()).toEqual([
    "cleanup.policy",
    "delete.retention.ms",
    "max.message.bytes",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
  ]);
  expect(configs.get("retention.ms")).toEqual({
    name: "retention.ms",
    value: "120000",
    readOnly: false,
    configSource: 1,
    isDefault: false, // v0's field, absent from v1: the decoder fills its default
    isSensitive: false,
    synonyms: [
      { name: "retention.ms", value: "120000", source: 1 },
      { name: "log.retention.ms", value: "3600000", source: 5 },
    ],
    configType: 5,
    documentation: null,
  });
  expect(configs.get("cleanup.policy")).toMatchObject({ value: "delete", configSource: 5, synonyms: [{ name: "log.cleanup.policy", value: "delete", source: 5 }] });

  // v1, without synonyms, two keys (one gafka does not have: left out, as Kafka does).
  const filtered = await describeConfigs(leader.kafkaPort!, [{ resourceType: 2, resourceName: "admin-described", configurationKeys: ["retention.ms", "flush.ms"] }], 1);
  expect(filtered.results[0].configs).toMatchObject([{ name: "retention.ms", value: "120000", readOnly: false, configSource: 1, isSensitive: false, synonyms: [] }]);

  // The follower answers too, once it has the topic.
  await waitFor(async () => (await getJson(`${follower.url}/api/v1/topics/admin-described`)).status === 200, "the topic on the follower");
  const onFollower = await describeConfigs(follower.kafkaPort!, [{ resourceType: 2, resourceName: "admin-described", configurationKeys: ["retention.ms"] }]);
  expect(onFollower.results[0].configs[0].value).toBe("120000");
});

test("DescribeConfigs of the broker, an unknown topic, another broker and another resource type", async () => {
  const answer = await describeConfigs(leader.kafkaPort!, [
    { resourceType: 4, resourceName: "1", configurationKeys: null },
    { resourceType: 2, resourceName: "admin-nowhere", configurationKeys: null },
    { resourceType: 4, resourceName: "9", configurationKeys: null },
    { resourceType: 3, resourceName: "any", configurationKeys: null },
  ]);
  const [brokerResult, unknown, other, type3] = answer.results;
  expect(brokerResult).toMatchObject({ errorCode: 0, resourceType: 4, resourceName: "1" });
  const values = new Map<string, any>(brokerResult.configs.map((entry: any) => [entry.name, entry]));
  expect(values.get("log.retention.ms")).toMatchObject({ value: "3600000", readOnly: true, configSource: 4 });
  expect(values.get("broker.id").value).toBe("1");
  expect(values.get("num.partitions").value).toBe("1");
  expect(values.get("log.segment.bytes").value).toBeDefined();
  expect(unknown).toMatchObject({ errorCode: KAFKA_ERRORS.unknownTopicOrPartition, configs: [] });
  expect(unknown.errorMessage).toMatch(/admin-nowhere/);
  expect(other).toMatchObject({ errorCode: KAFKA_ERRORS.invalidRequest, configs: [] });
  expect(type3).toMatchObject({ errorCode: KAFKA_ERRORS.invalidRequest, configs: [] });
});

test("/metrics counts the door's requests by API and error code, their durations, bytes and connections", async () => {
  await call(leader.kafkaPort!, DELETE_TOPICS, 1, { topicNames: ["admin-metrics-never"], timeoutMs: 1000 });
  const socket = await connectRaw(leader.kafkaPort!);
  try {
    const samples = parseSamples(await (await fetch(`${leader.url}/metrics`)).text());
    // Counted under the first non-zero error code of the answer: the first create's is the bad name's, the second's TOPIC_ALREADY_EXISTS.
    expect(samples.get('gafka_kafka_requests_total{api="CreateTopics",error_code="17"}')).toBe(1);
    expect(samples.get('gafka_kafka_requests_total{api="CreateTopics",error_code="36"}')).toBe(1);
    expect(samples.get('gafka_kafka_requests_total{api="DeleteTopics",error_code="3"}')).toBeGreaterThanOrEqual(2);
    expect(samples.get('gafka_kafka_requests_total{api="DescribeConfigs",error_code="0"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('gafka_kafka_request_duration_seconds_count{api="DeleteTopics"}')).toBeGreaterThanOrEqual(2);
    expect(samples.get("gafka_kafka_bytes_received_total")).toBeGreaterThan(0);
    expect(samples.get("gafka_kafka_bytes_sent_total")).toBeGreaterThan(0);
    expect(samples.get("gafka_kafka_connections")).toBeGreaterThanOrEqual(1);
    const followerSamples = parseSamples(await (await fetch(`${follower.url}/metrics`)).text());
    expect(followerSamples.get('gafka_kafka_requests_total{api="CreateTopics",error_code="41"}')).toBeGreaterThanOrEqual(2);
  } finally {
    socket.end();
  }
});

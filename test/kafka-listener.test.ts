/**
 * The Kafka listener of a real broker process: a Kafka client (kafkajs)
 * connects and reads the cluster's metadata; raw bytes check ApiVersions.
 */
import { afterAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { decodeResponse, encodeRequest } from "../src/kafka/protocol/codec.ts";
import { API_VERSIONS } from "../src/kafka/protocol/messages/api-versions.ts";
import { cleanupAll, makeTempDir, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";
import { connectRaw, framed } from "./helpers/kafka-socket.ts";

afterAll(cleanupAll);

const broker = await startBrokerProcess({ args: ["--id=7"] });
const kafkaPort = broker.kafkaPort!;

test("the broker prints its Kafka port", () => {
  expect(kafkaPort).toBeGreaterThan(0);
});

test("kafkajs reads topics and the cluster over the Kafka protocol", async () => {
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "kafka-orders", partitions: 3 })).status).toBe(201);
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "kafka-audit", partitions: 1 })).status).toBe(201);
  const clusterId = (await getJson(`${broker.url}/api/v1/replication/status`)).body.cluster_id;
  const kafka = new Kafka({ clientId: "metadata-test", brokers: [`127.0.0.1:${kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: ["kafka-orders", "kafka-audit"] });
    const byName = new Map(topics.map((topic) => [topic.name, topic]));
    expect(byName.get("kafka-orders")!.partitions.map((partition) => partition.partitionId).sort()).toEqual([0, 1, 2]);
    expect(byName.get("kafka-audit")!.partitions).toHaveLength(1);
    for (const partition of [...byName.values()].flatMap((topic) => topic.partitions)) {
      expect(partition.leader).toBe(7);
      expect(partition.replicas).toEqual([7]);
      expect(partition.isr).toEqual([7]);
    }
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(["kafka-orders", "kafka-audit"]));
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 7, host: "127.0.0.1", port: kafkaPort }]);
    expect(cluster.controller).toBe(7);
    expect(cluster.clusterId).toBe(clusterId);
    await expect(admin.fetchTopicMetadata({ topics: ["kafka-never-made"] })).rejects.toThrow(/does not host this topic-partition/);
  } finally {
    await admin.disconnect();
  }
});

test("ApiVersions v0 and v3 answer the APIs served, in response header v0; an unknown version answers UNSUPPORTED_VERSION in v0", async () => {
  const socket = await connectRaw(kafkaPort);
  const header = (version: number, correlationId: number) => ({ requestApiKey: 18, requestApiVersion: version, correlationId, clientId: "raw" });
  socket.write(framed(encodeRequest(API_VERSIONS.request, header(0, 10), {})));
  socket.write(framed(encodeRequest(API_VERSIONS.request, header(3, 11), { clientSoftwareName: "raw", clientSoftwareVersion: "1" })));
  const [v0, v3] = await socket.answers(2);
  // Produce is advertised from 0 though served from 3 (librdkafka enables compression only when v0 is advertised).
  const served = [
    { apiKey: 0, minVersion: 0, maxVersion: 8 },
    { apiKey: 1, minVersion: 4, maxVersion: 11 },
    { apiKey: 2, minVersion: 1, maxVersion: 5 },
    { apiKey: 3, minVersion: 0, maxVersion: 8 },
    { apiKey: 8, minVersion: 2, maxVersion: 7 },
    { apiKey: 9, minVersion: 1, maxVersion: 5 },
    { apiKey: 10, minVersion: 0, maxVersion: 2 },
    { apiKey: 11, minVersion: 0, maxVersion: 5 },
    { apiKey: 12, minVersion: 0, maxVersion: 3 },
    { apiKey: 13, minVersion: 0, maxVersion: 3 },
    { apiKey: 14, minVersion: 0, maxVersion: 3 },
    { apiKey: 15, minVersion: 0, maxVersion: 4 },
    { apiKey: 16, minVersion: 0, maxVersion: 2 },
    { apiKey: 18, minVersion: 0, maxVersion: 3 },
    { apiKey: 19, minVersion: 2, maxVersion: 4 },
    { apiKey: 20, minVersion: 1, maxVersion: 3 },
    { apiKey: 32, minVersion: 1, maxVersion: 3 },
  ];
  // Each entry: int16 key, int16 min, int16 max (every value here fits one byte).
  const entries = served.flatMap(({ apiKey, minVersion, maxVersion }) => [0, apiKey, 0, minVersion, 0, maxVersion]);
  // v0 by hand: correlation id, error code, the entries' count, the entries, nothing else.
  expect([...v0!]).toEqual([0, 0, 0, 10, 0, 0, 0, 0, 0, served.length, ...entries]);
  const decoded = decodeResponse<{ errorCode: number; apiKeys: unknown[]; throttleTimeMs: number }>(API_VERSIONS.response, 3, v3!);
  expect(decoded.correlationId).toBe(11);
  expect(decoded.body.errorCode).toBe(0);
  expect(decoded.body.apiKeys).toEqual(served);
  // v3 by hand: header v0 (no tagged section), error code, compact array (count + 1), each entry's empty tags, throttle, empty tags.
  const taggedEntries = served.flatMap(({ apiKey, minVersion, maxVersion }) => [0, apiKey, 0, minVersion, 0, maxVersion, 0]);
  expect([...v3!]).toEqual([0, 0, 0, 11, 0, 0, served.length + 1, ...taggedEntries, 0, 0, 0, 0, 0]);

  // A client newer than the broker: v4 is not known, the answer is v0 with error 35 and the range.
  const newer = new Uint8Array([0, 18, 0, 4, 0, 0, 0, 12, 0, 3, ...new TextEncoder().encode("raw"), 0]);
  socket.write(framed(newer));
  const [unsupported] = await socket.answers(1);
  expect([...unsupported!]).toEqual([0, 0, 0, 12, 0, 35, 0, 0, 0, served.length, ...entries]);
  // The connection stays usable after it.
  socket.write(framed(encodeRequest(API_VERSIONS.request, header(1, 13), {})));
  expect(decodeResponse<{ errorCode: number }>(API_VERSIONS.response, 1, (await socket.answers(1))[0]!).body.errorCode).toBe(0);
  socket.end();
});

test("a Kafka port in use stops the start with one line naming it", async () => {
  const second = await runCli(["broker", "--port=0", `--kafka-port=${kafkaPort}`, `--data-dir=${await makeTempDir()}`], { timeoutMs: 20_000 });
  expect(second.exitCode).toBe(1);
  expect(second.stdout).not.toContain("listening on");
  expect(second.stderr).toContain(`cannot listen on 127.0.0.1:${kafkaPort}: address in use`);
});

test("under --auth required the Kafka listener is not opened, and the log says why; --kafka-port=off opens none", async () => {
  const required = await startBrokerProcess({ args: ["--auth=required"] });
  expect(required.kafkaPort).toBeUndefined();
  // Logged before the `listening on` line, on stderr, which the helper reads on its own.
  await waitFor(() => required.stderr().includes("the Kafka listener is not opened under --auth required"), "the log line");
  const off = await startBrokerProcess({ args: ["--kafka-port=off"] });
  expect(off.kafkaPort).toBeUndefined();
});

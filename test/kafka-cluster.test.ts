/**
 * The Kafka door's view of a replicated cluster: every broker's Metadata lists
 * the brokers it knows by their Kafka addresses and names the cluster's leader
 * as every partition's leader and as controller, FindCoordinator answers the
 * leader, and after `admin promote` both name the new leader. Brokers learn
 * each other's Kafka addresses through replication (src/replication/kafka-cluster.ts).
 */
import { afterAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { decodeResponse, encodeRequest } from "../src/kafka/protocol/codec.ts";
import { FIND_COORDINATOR } from "../src/kafka/protocol/messages/find-coordinator.ts";
import { METADATA } from "../src/kafka/protocol/messages/metadata.ts";
import { type BrokerProcess, cleanupAll, runCli } from "./helpers/broker-process.ts";
import { clusterSecretArgs, createTopic, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { waitFor } from "./helpers/http.ts";
import { connectRaw, framed } from "./helpers/kafka-socket.ts";

afterAll(cleanupAll);

const NONE = 0;
const LEADER_NOT_AVAILABLE = 5;
const COORDINATOR_NOT_AVAILABLE = 15;
const INVALID_REQUEST = 42;

interface MetadataAnswer {
  brokers: { nodeId: number; host: string; port: number }[];
  controllerId: number;
  topics: { errorCode: number; name: string; partitions: { errorCode: number; partitionIndex: number; leaderId: number; replicaNodes: number[]; isrNodes: number[] }[] }[];
}

let correlationId = 0;

/** One request on a fresh connection, its answer decoded. */
async function ask<T>(broker: BrokerProcess, api: typeof METADATA, version: number, body: Record<string, unknown>): Promise<T> {
  const socket = await connectRaw(broker.kafkaPort!);
  try {
    const header = { requestApiKey: api.apiKey, requestApiVersion: version, correlationId: ++correlationId, clientId: "cluster-test" };
    socket.write(framed(encodeRequest(api.request, header, body)));
    const [answer] = await socket.answers(1);
    return decodeResponse<T>(api.response, version, answer!).body;
  } finally {
    socket.end();
  }
}

const metadata = (broker: BrokerProcess) => ask<MetadataAnswer>(broker, METADATA, 5, { topics: null, allowAutoTopicCreation: false });
const findCoordinator = (broker: BrokerProcess, version: number, key: string, keyType = 0) =>
  ask<{ errorCode: number; nodeId: number; host: string; port: number }>(broker, FIND_COORDINATOR, version, version === 0 ? { key } : { key, keyType });

/** The brokers of an answer by id, as `host:port`. */
const brokersOf = (answer: MetadataAnswer) => Object.fromEntries(answer.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
const kafkaAddress = (broker: BrokerProcess) => `127.0.0.1:${broker.kafkaPort}`;

test("Metadata from a follower and from the leader lists both brokers by their Kafka addresses and names the leader; FindCoordinator answers the leader", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "orders", 2, [follower]);

  const both = { 1: kafkaAddress(leader), 2: kafkaAddress(follower) };
  await waitFor(async () => (await metadata(follower)).topics.length === 1, "the follower to hold the topic");
  for (const broker of [follower, leader]) {
    const answer = await metadata(broker);
    expect(brokersOf(answer)).toEqual(both);
    expect(answer.controllerId).toBe(1);
    const [topic] = answer.topics;
    expect(topic!.name).toBe("orders");
    for (const partition of topic!.partitions) {
      expect({ error: partition.errorCode, leader: partition.leaderId, replicas: partition.replicaNodes }).toEqual({ error: NONE, leader: 1, replicas: [1, 2] });
    }
  }
  // The leader knows its in-sync set; a follower names the leader alone.
  await waitFor(async () => (await metadata(leader)).topics[0]!.partitions.every((p) => p.isrNodes.join() === "1,2"), "both replicas in sync in the leader's Metadata");
  expect((await metadata(follower)).topics[0]!.partitions.map((p) => p.isrNodes)).toEqual([[1], [1]]);

  for (const broker of [follower, leader]) {
    for (const version of [0, 1, 2]) {
      expect(await findCoordinator(broker, version, "a-group")).toMatchObject({ errorCode: NONE, nodeId: 1, host: "127.0.0.1", port: leader.kafkaPort });
    }
    // No transactions.
    expect((await findCoordinator(broker, 1, "a-transaction", 1)).errorCode).toBe(INVALID_REQUEST);
  }
});

test("kafkajs bootstrapped at the follower alone finds the leader: topic metadata and the cluster name it", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "events", 3, [follower]);
  const kafka = new Kafka({ clientId: "follower-bootstrap", brokers: [kafkaAddress(follower)], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    expect(cluster.controller).toBe(1);
    expect(cluster.brokers.sort((a, b) => a.nodeId - b.nodeId)).toEqual([
      { nodeId: 1, host: "127.0.0.1", port: leader.kafkaPort! },
      { nodeId: 2, host: "127.0.0.1", port: follower.kafkaPort! },
    ]);
    const { topics } = await admin.fetchTopicMetadata({ topics: ["events"] });
    expect(topics[0]!.partitions.map((p) => p.leader)).toEqual([1, 1, 1]);
  } finally {
    await admin.disconnect();
  }
});

test("after admin promote, Metadata and FindCoordinator from either broker name the new leader", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1, [follower]);
  await waitFor(async () => (await metadata(follower)).controllerId === 1, "the follower to know the leader");

  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
  expect(promote.exitCode).toBe(0);
  await waitFor(async () => (await status(leader)).role === "follower", "the old leader to follow");
  const names = async (broker: BrokerProcess) => {
    const answer = await metadata(broker);
    return answer.controllerId === 2 && answer.topics[0]?.partitions[0]?.leaderId === 2 && brokersOf(answer)[2] === kafkaAddress(follower);
  };
  await waitFor(() => names(follower), "the new leader's Metadata to name itself");
  await waitFor(() => names(leader), "the old leader's Metadata to name the new leader");
  // Once the old leader's stream is open again, the new leader lists it.
  await waitFor(async () => brokersOf(await metadata(follower))[1] === kafkaAddress(leader), "the new leader to list the old one");
  for (const broker of [leader, follower]) {
    expect(await findCoordinator(broker, 2, "g")).toMatchObject({ errorCode: NONE, nodeId: 2, port: follower.kafkaPort });
  }
});

test("a follower that has not heard from a leader answers LEADER_NOT_AVAILABLE and no controller", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 2, [follower]);
  // Restarted while its leader is down: it knows the leader's id (replication.json), not its Kafka address.
  await leader.kill();
  await follower.restart();
  const answer = await metadata(follower);
  expect(answer.controllerId).toBe(-1);
  expect(brokersOf(answer)).toEqual({ 2: kafkaAddress(follower) });
  expect(answer.topics[0]!.partitions.map((p) => [p.errorCode, p.leaderId])).toEqual([
    [LEADER_NOT_AVAILABLE, -1],
    [LEADER_NOT_AVAILABLE, -1],
  ]);
  expect((await findCoordinator(follower, 2, "g")).errorCode).toBe(COORDINATOR_NOT_AVAILABLE);
});

test("with a cluster secret, a stream request without a proof is refused and its Kafka address is not listed; the real follower's is", async () => {
  const secret = await clusterSecretArgs();
  const leader = await startLeader(secret);
  const follower = await startFollower(leader, 2, secret);
  await createTopic(leader, "t", 1, [follower]);
  const response = await fetch(`${leader.url}/api/v1/replication/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ follower_id: 9, address: "127.0.0.1:1", kafka_address: "evil.example:9092", leader_epoch: 0, partitions: [] }),
    signal: AbortSignal.timeout(5000),
  });
  await response.body?.cancel();
  expect(response.status).toBe(401);
  // Named by broker 2 itself, over its signed stream.
  expect(brokersOf(await metadata(leader))).toEqual({ 1: kafkaAddress(leader), 2: kafkaAddress(follower) });
  await waitCaughtUp(leader, [follower]);
});

test("a follower whose Kafka port is off is left out of the leader's Metadata; its replicas are the leader alone", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2, ["--kafka-port=off"]);
  await createTopic(leader, "t", 1, [follower]);
  const answer = await metadata(leader);
  expect(brokersOf(answer)).toEqual({ 1: kafkaAddress(leader) });
  expect(answer.topics[0]!.partitions[0]).toMatchObject({ leaderId: 1, replicaNodes: [1], isrNodes: [1] });
});

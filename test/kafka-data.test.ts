/**
 * The Kafka door's data path over a raw socket (gafka's codec, no client):
 * Produce (acks, refusals, old versions, pipelining order), Fetch (long
 * poll, byte limits, errors) and ListOffsets against a real broker process,
 * and a follower refusing them.
 */
import { afterAll, expect, test } from "bun:test";
import { KAFKA_ERRORS } from "../src/kafka/error-codes.ts";
import { decodeResponse } from "../src/kafka/protocol/codec.ts";
import { PRODUCE_REMOVED_VERSIONS } from "../src/kafka/protocol/messages/produce.ts";
import { crc32c } from "../src/protocol/crc32c.ts";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { createTopic, startFollower, startLeader, waitCaughtUp } from "./helpers/cluster.ts";
import { postJson, readPartition } from "./helpers/http.ts";
import {
  ask,
  batchOf,
  decodeBatches,
  fetchedPartitions,
  fetchRequest,
  listedOffset,
  listOffsetsRequest,
  producePartitionAnswer,
  produceRequest,
  request,
} from "./helpers/kafka-data.ts";
import { connectRaw } from "./helpers/kafka-socket.ts";

afterAll(cleanupAll);

const broker = await startBrokerProcess();
const kafkaPort = broker.kafkaPort!;
const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

async function topic(name: string, partitions = 1): Promise<string> {
  expect((await postJson(`${broker.url}/api/v1/topics`, { name, partitions })).status).toBe(201);
  return name;
}

test("acks=0 gets no answer, yet its records are appended; the next request on the connection is answered", async () => {
  const name = await topic("raw-acks0");
  const socket = await connectRaw(kafkaPort);
  socket.write(produceRequest(name, 0, batchOf(["silent-1", "silent-2"]), 0));
  const answer = producePartitionAnswer(await ask(socket, produceRequest(name, 0, batchOf(["loud"]), 1)));
  expect(answer.errorCode).toBe(0);
  // The acks=0 produce came first on the connection, so it holds 0 and 1.
  expect(answer.baseOffset).toBe(2);
  expect((await readPartition(broker.url, name, 0)).map((r) => r.value)).toEqual(["silent-1", "silent-2", "loud"]);
  socket.end();
});

test("acks 1 and -1 answer the base offset and log start; any other acks is INVALID_REQUIRED_ACKS", async () => {
  const name = await topic("raw-acks");
  const socket = await connectRaw(kafkaPort);
  const one = producePartitionAnswer(await ask(socket, produceRequest(name, 0, batchOf(["a", "b"]), 1)));
  expect(one).toMatchObject({ errorCode: 0, baseOffset: 0, logStartOffset: 0, errorMessage: null });
  const all = producePartitionAnswer(await ask(socket, produceRequest(name, 0, batchOf(["c"]), -1)));
  expect(all).toMatchObject({ errorCode: 0, baseOffset: 2 });
  const two = producePartitionAnswer(await ask(socket, produceRequest(name, 0, batchOf(["d"]), 2)));
  expect(two.errorCode).toBe(KAFKA_ERRORS.invalidRequiredAcks);
  expect((await readPartition(broker.url, name, 0)).map((r) => r.value)).toEqual(["a", "b", "c"]);
  socket.end();
});

test("Produce v0-2 is advertised but answered UNSUPPORTED_VERSION for each partition; nothing is appended", async () => {
  const name = await topic("raw-v2");
  const socket = await connectRaw(kafkaPort);
  for (const version of [2, 0]) {
    const bytes = request(PRODUCE_REMOVED_VERSIONS.request, version, { acks: 1, timeoutMs: 1000, topicData: [{ name, partitionData: [{ index: 0, records: new Uint8Array(10) }] }] });
    const body = decodeResponse<{ responses: { name: string; partitionResponses: { index: number; errorCode: number }[] }[] }>(PRODUCE_REMOVED_VERSIONS.response, version, await ask(socket, bytes)).body;
    expect(body.responses).toEqual([{ name, partitionResponses: [expect.objectContaining({ index: 0, errorCode: KAFKA_ERRORS.unsupportedVersion })] }]);
  }
  expect(await readPartition(broker.url, name, 0)).toEqual([]);
  socket.end();
});

test("a refused batch gets the Kafka code for its fault: compressed, bad CRC, no records, unknown topic", async () => {
  const name = await topic("raw-refusals");
  const socket = await connectRaw(kafkaPort);
  const compressed = batchOf(["x"]);
  // gzip, with the CRC-32C made right again: only the compression is refused.
  new DataView(compressed.buffer).setInt16(21, 1);
  new DataView(compressed.buffer).setUint32(17, crc32c(compressed, 21, compressed.length));
  const corrupt = batchOf(["y"]);
  corrupt[corrupt.length - 1]! ^= 0xff;
  const cases: [Uint8Array | null, string, number][] = [
    [compressed, name, KAFKA_ERRORS.unsupportedCompressionType],
    [corrupt, name, KAFKA_ERRORS.corruptMessage],
    [null, name, KAFKA_ERRORS.invalidRequest],
    [batchOf(["z"]), "raw-no-such-topic", KAFKA_ERRORS.unknownTopicOrPartition],
  ];
  for (const [records, topicName, errorCode] of cases) {
    const answer = producePartitionAnswer(await ask(socket, produceRequest(topicName, 0, records)));
    expect(answer.errorCode).toBe(errorCode);
    expect(answer.baseOffset).toBe(-1);
    expect(answer.errorMessage).toBeString();
  }
  expect(await readPartition(broker.url, name, 0)).toEqual([]);
  socket.end();
});

test("pipelined single-record produces from one connection land in the log in request order", async () => {
  const name = await topic("raw-pipelined");
  const socket = await connectRaw(kafkaPort);
  const count = 300;
  const bytes: number[] = [];
  for (let i = 0; i < count; i++) bytes.push(...produceRequest(name, 0, batchOf([`m${i}`])));
  socket.write(new Uint8Array(bytes));
  const answers = (await socket.answers(count, 30_000)).map((answer) => producePartitionAnswer(answer));
  expect(answers.map((answer) => answer.errorCode)).toEqual(new Array(count).fill(0));
  expect(answers.map((answer) => answer.baseOffset)).toEqual(Array.from({ length: count }, (_, i) => i));
  expect((await readPartition(broker.url, name, 0)).map((r) => r.value)).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
  socket.end();
});

test("a Fetch waiting on an empty partition is answered once a record is appended", async () => {
  const name = await topic("raw-long-poll");
  const socket = await connectRaw(kafkaPort);
  socket.write(fetchRequest([{ topic: name, partition: 0, offset: 0 }], { maxWaitMs: 20_000, minBytes: 1 }));
  // Whether the append comes before the fetch waits or while it does, the answer must carry the record.
  await Bun.sleep(50);
  expect((await postJson(`${broker.url}/api/v1/produce`, { topic: name, records: [{ partition: 0, value: "woken" }] })).status).toBe(200);
  const [answer] = await socket.answers(1, 15_000);
  const { sessionId, partitions } = fetchedPartitions(answer!);
  expect(sessionId).toBe(0);
  expect(partitions[0]).toMatchObject({ topic: name, partitionIndex: 0, errorCode: 0, highWatermark: 1, lastStableOffset: 1, logStartOffset: 0 });
  expect(decodeBatches(partitions[0]!.records).records.map((r) => text(r.value))).toEqual(["woken"]);
  socket.end();
});

test("byte limits: whole batches only, the first one even past max_bytes; later partitions keep within the limits", async () => {
  const name = await topic("raw-max-bytes", 2);
  const socket = await connectRaw(kafkaPort);
  const big = "v".repeat(2000);
  for (const partition of [0, 1]) {
    for (let i = 0; i < 3; i++) expect(producePartitionAnswer(await ask(socket, produceRequest(name, partition, batchOf([`${partition}-${i}-${big}`])))).errorCode).toBe(0);
  }
  const both = [{ topic: name, partition: 0, offset: 0 }, { topic: name, partition: 1, offset: 0 }];
  // max_bytes 10: partition 0's first batch, whole; nothing of partition 1.
  const tiny = fetchedPartitions(await ask(socket, fetchRequest(both, { maxBytes: 10 }))).partitions;
  const first = decodeBatches(tiny[0]!.records);
  expect(first.records.map((r) => text(r.value))).toEqual([`0-0-${big}`]);
  expect(tiny[1]!.records?.length ?? 0).toBe(0);
  expect(tiny[1]!.highWatermark).toBe(3);
  const batchBytes = first.batchSizes[0]!;
  // Two batches' room per partition, five in all: 2 + 2, whole.
  const bounded = fetchedPartitions(await ask(socket, fetchRequest(both, { partitionMaxBytes: 2 * batchBytes + 10, maxBytes: 5 * batchBytes }))).partitions;
  expect(bounded.map((p) => decodeBatches(p.records).records.length)).toEqual([2, 2]);
  // Four batches' room: partition 0's three, then exactly one whole batch of partition 1.
  const rest = fetchedPartitions(await ask(socket, fetchRequest(both, { maxBytes: 4 * batchBytes }))).partitions;
  expect(rest.map((p) => decodeBatches(p.records).records.length)).toEqual([3, 1]);
  socket.end();
});

test("Fetch errors: out of range, unknown topic and partition; the other partitions are still served", async () => {
  const name = await topic("raw-fetch-errors");
  const socket = await connectRaw(kafkaPort);
  expect(producePartitionAnswer(await ask(socket, produceRequest(name, 0, batchOf(["only"])))).errorCode).toBe(0);
  const { partitions } = fetchedPartitions(
    await ask(socket, fetchRequest([
      { topic: name, partition: 0, offset: 5 },
      { topic: name, partition: 7, offset: 0 },
      { topic: "raw-never-made", partition: 0, offset: 0 },
      { topic: name, partition: 0, offset: 0 },
    ], { maxWaitMs: 10_000, version: 4 }), 15_000),
    4,
  );
  // Answered by topic, each topic's partitions in request order.
  expect(partitions.map((p) => [p.topic, p.partitionIndex, p.errorCode])).toEqual([
    [name, 0, KAFKA_ERRORS.offsetOutOfRange],
    [name, 7, KAFKA_ERRORS.unknownTopicOrPartition],
    [name, 0, 0],
    ["raw-never-made", 0, KAFKA_ERRORS.unknownTopicOrPartition],
  ]);
  expect(partitions[0]).toMatchObject({ highWatermark: 1, lastStableOffset: 1 });
  expect(decodeBatches(partitions[2]!.records).records.map((r) => text(r.value))).toEqual(["only"]);
  socket.end();
});

test("ListOffsets: earliest, latest, by timestamp (-1 when no record is at or after it), unknown topic", async () => {
  const name = await topic("raw-list-offsets");
  const socket = await connectRaw(kafkaPort);
  const before = Date.now();
  for (const value of ["a", "b", "c"]) expect(producePartitionAnswer(await ask(socket, produceRequest(name, 0, batchOf([value])))).errorCode).toBe(0);
  for (const version of [1, 5]) {
    expect(listedOffset(await ask(socket, listOffsetsRequest(name, 0, -2, version)), version)).toMatchObject({ errorCode: 0, offset: 0 });
    expect(listedOffset(await ask(socket, listOffsetsRequest(name, 0, -1, version)), version)).toMatchObject({ errorCode: 0, offset: 3 });
    expect(listedOffset(await ask(socket, listOffsetsRequest(name, 0, before - 1000, version)), version)).toMatchObject({ errorCode: 0, offset: 0 });
    expect(listedOffset(await ask(socket, listOffsetsRequest(name, 0, Date.now() + 3_600_000, version)), version)).toMatchObject({ errorCode: 0, offset: -1 });
    expect(listedOffset(await ask(socket, listOffsetsRequest("raw-never-made", 0, -1, version)), version).errorCode).toBe(KAFKA_ERRORS.unknownTopicOrPartition);
  }
  socket.end();
});

test("a follower answers Produce, Fetch and ListOffsets with NOT_LEADER_OR_FOLLOWER", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "raw-replicated", 1, [follower]);
  await waitCaughtUp(leader, [follower]);
  const socket = await connectRaw(follower.kafkaPort!);
  expect(producePartitionAnswer(await ask(socket, produceRequest("raw-replicated", 0, batchOf(["no"])))).errorCode).toBe(KAFKA_ERRORS.notLeaderOrFollower);
  const fetched = fetchedPartitions(await ask(socket, fetchRequest([{ topic: "raw-replicated", partition: 0, offset: 0 }], { maxWaitMs: 5000 }))).partitions;
  expect(fetched[0]!.errorCode).toBe(KAFKA_ERRORS.notLeaderOrFollower);
  expect(listedOffset(await ask(socket, listOffsetsRequest("raw-replicated", 0, -1))).errorCode).toBe(KAFKA_ERRORS.notLeaderOrFollower);
  socket.end();
  // The leader takes it.
  const leaderSocket = await connectRaw(leader.kafkaPort!);
  expect(producePartitionAnswer(await ask(leaderSocket, produceRequest("raw-replicated", 0, batchOf(["yes"]), -1))).errorCode).toBe(0);
  leaderSocket.end();
});

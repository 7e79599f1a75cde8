/**
 * The classic group APIs by hand over a raw socket (gafka's codec, no
 * client between the test and the bytes): versions a client library would
 * not pick (JoinGroup v0, LeaveGroup v1 and v3's batch, OffsetFetch v1 and
 * v5), DescribeGroups and ListGroups, and a follower's NOT_COORDINATOR.
 */
import { afterAll, expect, test } from "bun:test";
import { KAFKA_ERRORS } from "../src/kafka/error-codes.ts";
import { decodeResponse } from "../src/kafka/protocol/codec.ts";
import { DESCRIBE_GROUPS } from "../src/kafka/protocol/messages/describe-groups.ts";
import { FIND_COORDINATOR } from "../src/kafka/protocol/messages/find-coordinator.ts";
import { HEARTBEAT } from "../src/kafka/protocol/messages/heartbeat.ts";
import { JOIN_GROUP } from "../src/kafka/protocol/messages/join-group.ts";
import { LEAVE_GROUP } from "../src/kafka/protocol/messages/leave-group.ts";
import { LIST_GROUPS } from "../src/kafka/protocol/messages/list-groups.ts";
import { OFFSET_COMMIT } from "../src/kafka/protocol/messages/offset-commit.ts";
import { OFFSET_FETCH } from "../src/kafka/protocol/messages/offset-fetch.ts";
import { SYNC_GROUP } from "../src/kafka/protocol/messages/sync-group.ts";
import type { ApiDescription } from "../src/kafka/protocol/types.ts";
import { cleanupAll } from "./helpers/broker-process.ts";
import { startFollower, startLeader } from "./helpers/cluster.ts";
import { postJson } from "./helpers/http.ts";
import { ask, request } from "./helpers/kafka-data.ts";
import { connectRaw, type RawKafkaSocket } from "./helpers/kafka-socket.ts";

afterAll(cleanupAll);

/** One request, its decoded answer (checked field by field, so typed loosely). */
async function call(socket: RawKafkaSocket, api: ApiDescription, version: number, body: Record<string, unknown>): Promise<any> {
  return decodeResponse(api.response, version, await ask(socket, request(api.request, version, body))).body;
}

const join = (memberId: string, sessionTimeoutMs = 10_000) => ({
  groupId: "wire",
  sessionTimeoutMs,
  memberId,
  protocolType: "consumer",
  protocols: [{ name: "range", metadata: new Uint8Array([0, 0, 0, 0, 0, 0]) }],
});

test("a whole group life by hand on the leader, and NOT_COORDINATOR from a follower", async () => {
  const leader = await startLeader();
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: "wire-topic", partitions: 2 })).status).toBe(201);
  expect((await postJson(`${leader.url}/api/v1/produce`, { topic: "wire-topic", records: [{ value: "x", partition: 0 }] })).status).toBe(200);
  const socket = await connectRaw(leader.kafkaPort!);

  expect((await call(socket, JOIN_GROUP, 0, join("", 1_000))).errorCode).toBe(KAFKA_ERRORS.invalidSessionTimeout);
  // v0: no MEMBER_ID_REQUIRED round; the member joins at once.
  const joined = await call(socket, JOIN_GROUP, 0, join(""));
  expect(joined).toMatchObject({ errorCode: 0, generationId: 1, protocolName: "range" });
  expect(joined.leader).toBe(joined.memberId);
  const { memberId } = joined;
  expect((await call(socket, HEARTBEAT, 0, { groupId: "wire", generationId: 1, memberId })).errorCode).toBe(0);
  const assignment = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0]);
  const synced = await call(socket, SYNC_GROUP, 0, { groupId: "wire", generationId: 1, memberId, assignments: [{ memberId, assignment }] });
  expect(synced).toMatchObject({ errorCode: 0, assignment });
  expect((await call(socket, HEARTBEAT, 3, { groupId: "wire", generationId: 0, memberId, groupInstanceId: null })).errorCode).toBe(KAFKA_ERRORS.illegalGeneration);

  const committed = await call(socket, OFFSET_COMMIT, 2, {
    groupId: "wire",
    generationIdOrMemberEpoch: 1,
    memberId,
    retentionTimeMs: -1,
    topics: [{ name: "wire-topic", partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: "m" }, { partitionIndex: 9, committedOffset: 0, committedMetadata: null }] }],
  });
  expect(committed.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode)).toEqual([0, KAFKA_ERRORS.unknownTopicOrPartition]);
  const named = await call(socket, OFFSET_FETCH, 1, { groupId: "wire", topics: [{ name: "wire-topic", partitionIndexes: [0, 1] }] });
  expect(named.topics[0].partitions.map((p: { committedOffset: number }) => p.committedOffset)).toEqual([1, -1]);
  const all = await call(socket, OFFSET_FETCH, 5, { groupId: "wire", topics: null });
  expect(all).toMatchObject({ errorCode: 0, topics: [{ name: "wire-topic", partitions: [{ partitionIndex: 0, committedOffset: 1, errorCode: 0 }] }] });

  const described = await call(socket, DESCRIBE_GROUPS, 4, { groups: ["wire", "nobody"], includeAuthorizedOperations: false });
  expect(described.groups[0]).toMatchObject({ errorCode: 0, groupState: "Stable", protocolType: "consumer", protocolData: "range" });
  expect(described.groups[0].members).toEqual([expect.objectContaining({ memberId, clientId: "raw-test", memberAssignment: assignment })]);
  expect(described.groups[1]).toMatchObject({ errorCode: 0, groupState: "Dead", members: [] });
  const listed = await call(socket, LIST_GROUPS, 2, {});
  expect(listed.groups).toEqual([{ groupId: "wire", protocolType: "consumer" }]);

  const batch = await call(socket, LEAVE_GROUP, 3, { groupId: "wire", members: [{ memberId: "nobody", groupInstanceId: null }] });
  expect(batch).toMatchObject({ errorCode: 0, members: [{ memberId: "nobody", errorCode: KAFKA_ERRORS.unknownMemberId }] });
  expect((await call(socket, LEAVE_GROUP, 1, { groupId: "wire", memberId })).errorCode).toBe(0);
  expect((await call(socket, DESCRIBE_GROUPS, 0, { groups: ["wire"] })).groups[0].groupState).toBe("Empty");
  socket.end();

  const follower = await startFollower(leader, 2);
  const onFollower = await connectRaw(follower.kafkaPort!);
  expect((await call(onFollower, JOIN_GROUP, 5, { ...join(""), rebalanceTimeoutMs: 10_000, groupInstanceId: null })).errorCode).toBe(KAFKA_ERRORS.notCoordinator);
  expect((await call(onFollower, OFFSET_FETCH, 5, { groupId: "wire", topics: null })).errorCode).toBe(KAFKA_ERRORS.notCoordinator);
  expect((await call(onFollower, FIND_COORDINATOR, 2, { key: "wire", keyType: 0 })).errorCode).toBe(KAFKA_ERRORS.coordinatorNotAvailable);
  onFollower.end();
}, 30_000);

test("a stop answers a JoinGroup held by a rebalance (NOT_COORDINATOR) instead of waiting out its rebalance timeout", async () => {
  const leader = await startLeader();
  const first = await connectRaw(leader.kafkaPort!);
  const second = await connectRaw(leader.kafkaPort!);
  // v1 carries the rebalance timeout: 5 minutes, Kafka's longest, far past this test's bound.
  const slowJoin = (memberId: string) => ({ ...join(memberId), groupId: "held", rebalanceTimeoutMs: 300_000 });
  const joined = await call(first, JOIN_GROUP, 1, slowJoin(""));
  expect(joined.errorCode).toBe(0);
  // A second member's join starts a rebalance the first member never rejoins: the answer is held.
  const held = call(second, JOIN_GROUP, 1, slowJoin(""));
  await Bun.sleep(200);
  const stopped = leader.stop();
  expect((await held).errorCode).toBe(KAFKA_ERRORS.notCoordinator);
  expect(await stopped).toBe(0);
});

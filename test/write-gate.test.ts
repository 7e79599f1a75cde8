import { afterEach, expect, test } from "bun:test";
import { Broker } from "../src/broker/broker.ts";
import type { Operation } from "../src/broker/write-gate.ts";
import { GroupCoordinator } from "../src/groups/coordinator.ts";
import { ReplicaManager, type ReplicationConfig } from "../src/replication/replica-manager.ts";
import { type ReplicationState, ReplicationStateStore } from "../src/replication/replication-state.ts";
import { nodeFileSystem } from "../src/storage/file-system.ts";
import { testBrokerConfig } from "./helpers/broker-config.ts";
import { makeTempDir } from "./helpers/temp-dir.ts";
import { gafkaErrorOf } from "./helpers/gafka-error.ts";

/**
 * The one write gate lives in the domain (Broker.admit, called by Broker and
 * GroupCoordinator): every kind of client write (and the group reads only
 * the leader answers) is refused on a follower when called directly, with
 * no HTTP server in the way, while replication's follower entry points
 * still apply the leader's changes.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const LEADER = "127.0.0.1:1";

/** A broker with its coordinator and replication, in-process; its peers never answer. */
async function brokerAs(state: Partial<ReplicationState>, replication: Partial<ReplicationConfig> = {}) {
  const temp = makeTempDir("gafka-write-gate-");
  cleanups.push(temp.remove);
  const config = testBrokerConfig(temp.dir, { brokerId: 2 });
  const initial: ReplicationState = { role: "follower", leaderEpoch: 3, leader: LEADER, leaderId: 1, toInform: [], followers: [] };
  await ReplicationStateStore.load(temp.dir, nodeFileSystem, initial).save({ ...initial, ...state });
  const store = ReplicationStateStore.load(temp.dir, nodeFileSystem, initial);
  const broker = await Broker.open(config, { leaderEpoch: () => store.state.leaderEpoch });
  // Made before replication takes over: what a client write would change.
  await broker.createTopic("t", 1);
  const groups = GroupCoordinator.open({ broker, dataDir: temp.dir, fs: config.fs, clock: config.clock, logger: config.logger });
  const manager = await ReplicaManager.open({
    broker,
    config,
    replication: { role: "follower", leader: undefined, advertisedAddress: "127.0.0.1:2", replicaLagMaxMs: 1000, minInsyncReplicas: 1, ...replication },
    state: store,
    offsets: undefined,
    fetch: () => Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })),
    sleep: async () => {},
  });
  groups.setCommitGuard(manager);
  manager.begin("127.0.0.1:2");
  cleanups.push(async () => {
    await manager.stop();
    await groups.close();
    await broker.close();
  });
  return { broker, groups, manager };
}

type Fixture = Awaited<ReturnType<typeof brokerAs>>;

/** One direct domain call per kind of client write (binary produce is a produce too). */
const WRITES: { name: string; operation: Operation; call: (f: Fixture) => unknown }[] = [
  { name: "produce", operation: "produce", call: (f) => f.broker.produce("t", [{ key: null, value: new Uint8Array([1]), headers: [] }]) },
  { name: "produce (record batches)", operation: "produce", call: (f) => f.broker.produceBatches("t", 0, new Uint8Array(0)) },
  { name: "create a topic", operation: "create_topic", call: (f) => f.broker.createTopic("u", 1) },
  { name: "delete a topic", operation: "delete_topic", call: (f) => f.broker.deleteTopic("t") },
  { name: "join a group", operation: "group_join", call: (f) => f.groups.join("g", "m", { topics: ["t"] }) },
  { name: "heartbeat", operation: "group_heartbeat", call: (f) => f.groups.heartbeat("g", "m") },
  { name: "leave a group", operation: "group_leave", call: (f) => f.groups.leave("g", "m") },
  {
    name: "consume as a group member (and commit)",
    operation: "group_consume",
    call: (f) => f.groups.consume("g", "m", { topics: ["t"], maxRecords: 10, waitMs: 0 }),
  },
  { name: "commit offsets", operation: "group_commit", call: (f) => f.groups.commit("g", undefined, undefined, [{ topic: "t", partition: 0, offset: 0 }]) },
  { name: "reset offsets", operation: "group_reset_offsets", call: (f) => f.groups.resetOffsets("g", "t", undefined, { to: "earliest" }) },
  { name: "delete a group", operation: "group_delete", call: (f) => f.groups.deleteGroup("g") },
  // Not writes, but only the coordinator (the leader) answers them.
  { name: "describe a group", operation: "group_describe", call: (f) => f.groups.describeGroup("g") },
  { name: "list the groups", operation: "group_list", call: (f) => f.groups.listGroups() },
];

/** The call's failure, whether it throws at once or rejects. */

for (const write of WRITES) {
  test(`a follower refuses a client call at the domain gate: ${write.name} (${write.operation})`, async () => {
    const f = await brokerAs({});
    const refused = await gafkaErrorOf(() => write.call(f));
    expect(refused.code).toBe("not_leader");
    expect(refused.retriable).toBe(true);
    expect(refused.details).toMatchObject({ leader: LEADER, leader_id: 1, leader_epoch: 3, broker_id: 2 });
    // Nothing changed: the topic is as it was, no other appeared, no group or offset exists.
    expect(f.broker.listTopics()).toEqual([{ name: "t", partitionCount: 1 }]);
    expect(f.broker.partitionBounds("t", 0)).toEqual({ earliest: 0, highWatermark: 0 });
    expect(f.broker.partitionEntries()[0]!.log!.logEndOffset).toBe(0);
    expect(f.groups.list()).toEqual([]);
  });
}

test("the gate admits nothing for any principal on a follower, and replication's follower entry points pass no gate", async () => {
  const f = await brokerAs({});
  for (const operation of new Set(WRITES.map((write) => write.operation))) {
    const resource =
      operation === "group_list"
        ? ({ kind: "cluster" } as const)
        : operation.startsWith("group_")
          ? ({ kind: "group", id: "g" } as const)
          : ({ kind: "topic", name: "t" } as const);
    expect((await gafkaErrorOf(() => f.broker.admit({ kind: "anonymous" }, operation, resource))).code).toBe("not_leader");
  }
  // What the leader's stream applies (src/replication/follower-fetcher.ts) is not a client write.
  await f.broker.createTopicAsFollower("u", 2, 1_700_000_000_000);
  expect(f.broker.listTopics().map((topic) => topic.name)).toEqual(["t", "u"]);
  await f.broker.deleteTopicAsFollower("u");
  expect(f.broker.listTopics().map((topic) => topic.name)).toEqual(["t"]);
});

test("a leader without its lease takes produce and topic changes, but refuses every group call at the same gate", async () => {
  const f = await brokerAs({ role: "leader", leader: null, leaderId: null }, { role: "leader", minInsyncReplicas: 2 });
  expect(f.manager.leaseHeld()).toBe(false);
  for (const write of WRITES.filter((each) => each.operation.startsWith("group_"))) {
    if (write.operation === "group_describe" || write.operation === "group_list") continue;
    const refused = await gafkaErrorOf(() => write.call(f));
    expect(refused.code).toBe("not_leader_lease");
  }
  // Group reads need leadership only, as before the gate moved.
  expect(f.groups.listGroups()).toEqual([]);
  const created = await f.broker.createTopic("u", 1);
  expect(created.name).toBe("u");
});

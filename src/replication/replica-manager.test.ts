import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { GafkaError } from "../core/errors.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { ReplicaManager } from "./replica-manager.ts";
import { type ReplicationState, ReplicationStateStore } from "./replication-state.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A follower broker in-process whose leader never answers (its fetches fail at once). */
async function follower(state: Partial<ReplicationState>) {
  const temp = makeTempDir("gafka-replica-");
  cleanups.push(temp.remove);
  const config: BrokerConfig = testBrokerConfig(temp.dir, { brokerId: 2, messageBytesMax: 1024 });
  const initial: ReplicationState = { role: "follower", leaderEpoch: 3, leader: "127.0.0.1:1", leaderId: null, toInform: [], followers: [] };
  await ReplicationStateStore.load(temp.dir, nodeFileSystem, initial).save({ ...initial, ...state });
  const store = ReplicationStateStore.load(temp.dir, nodeFileSystem, initial); // as a restart finds it
  const broker = await Broker.open(config, { leaderEpoch: () => store.state.leaderEpoch });
  await broker.createTopic("t", 1);
  const manager = await ReplicaManager.open({
    broker,
    config,
    replication: { role: "follower", leader: undefined, advertisedAddress: "127.0.0.1:2", replicaLagMaxMs: 1000, minInsyncReplicas: 1 },
    state: store,
    offsets: undefined,
    fetch: () => Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })),
  });
  manager.begin("127.0.0.1:2");
  cleanups.push(async () => {
    await manager.stop();
    await broker.close();
  });
  return { manager, broker, store, log: broker.partitionEntries()[0]!.log! };
}

async function refusal(promise: Promise<unknown>): Promise<GafkaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GafkaError)) throw new Error(`expected a GafkaError, got ${String(error)}`);
  return error;
}

test("promotion is refused to a follower that lacks records its leader committed, unless forced", async () => {
  const { manager, log, store } = await follower({ leaderId: 1 });
  // As if the leader's stream had said: high watermark 5, while this follower holds nothing yet.
  log.resetHighWatermarkLimit(5);
  const refused = await refusal(manager.promote());
  expect(refused.code).toBe("replica_not_in_sync");
  expect(refused.details).toMatchObject({ partitions: [{ topic: "t", partition: 0, log_end_offset: 0, high_watermark: 5 }] });
  expect(store.state.role).toBe("follower");
  expect(() => manager.admit(1)).toThrow(/follower/);

  const forced = await manager.promote({ force: true });
  expect(forced).toMatchObject({ changed: true, leaderEpoch: 4, formerLeader: { address: "127.0.0.1:1", informed: false } });
  expect(store.state).toMatchObject({ role: "leader", leaderEpoch: 4, toInform: ["127.0.0.1:1"] });
  expect(manager.admit(1)).toBeGreaterThan(0);
  expect(log.leaderEpochs.entries()).toEqual([{ epoch: 4, startOffset: 0 }]);
});

test("a follower that never heard from its leader is not promoted without force", async () => {
  const { manager } = await follower({ leaderId: null });
  expect((await refusal(manager.promote())).message).toContain("never replicated");
  expect((await manager.promote({ force: true })).changed).toBe(true);
  expect((await manager.promote()).changed).toBe(false);
});

test("a follower refuses writes naming its leader, and a newer announcement makes it follow another", async () => {
  const { manager, store } = await follower({ leaderId: 1 });
  const refused = (() => {
    try {
      manager.admit("all");
    } catch (error) {
      return error as GafkaError;
    }
  })();
  expect(refused?.code).toBe("not_leader");
  expect(refused?.details).toMatchObject({ leader: "127.0.0.1:1", leader_epoch: 3 });
  expect((await refusal(manager.acceptLeader({ leaderId: 9, leaderEpoch: 2, address: "127.0.0.1:9" }))).code).toBe("stale_leader_epoch");
  expect(await manager.acceptLeader({ leaderId: 9, leaderEpoch: 5, address: "127.0.0.1:9" })).toEqual({ role: "follower", leaderEpoch: 5 });
  expect(store.state).toMatchObject({ role: "follower", leader: "127.0.0.1:9", leaderId: 9, leaderEpoch: 5 });
  // The same announcement again is fine.
  expect(await manager.acceptLeader({ leaderId: 9, leaderEpoch: 5, address: "127.0.0.1:9" })).toEqual({ role: "follower", leaderEpoch: 5 });
});

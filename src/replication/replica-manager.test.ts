import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { systemClock } from "../core/clock.ts";
import type { GafkaError } from "../core/errors.ts";
import { LEADER_EPOCH_MAX } from "../core/limits.ts";
import { ANONYMOUS } from "../security/principal.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { ReplicaManager } from "./replica-manager.ts";
import { type ReplicationState, ReplicationStateStore } from "./replication-state.ts";
import { gafkaErrorOf } from "../../test/helpers/gafka-error.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Monotonic time that moves only when the code under test sleeps (or a test says so). */
function fakeClock(startMs = 50_000) {
  let nowMs = startMs;
  const sleeps: number[] = [];
  return {
    clock: { ...systemClock, nowMs: () => 1_700_000_000_000 + nowMs, monotonicMs: () => nowMs },
    sleeps,
    /** Also what the manager's `sleep` does: time passes at once. */
    sleep: async (ms: number, during?: () => void) => {
      sleeps.push(ms);
      during?.();
      nowMs += ms;
    },
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

type PeerHandler = (url: string, init: RequestInit) => Response | Promise<Response>;

/** A leader that never answers: every fetch fails at once, as a refused connection does. */
const unreachable: PeerHandler = () => Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));

/**
 * A follower broker in-process. Its leader is `peer` (by default one that never answers); its
 * clock is fake and moves only when the manager sleeps, so waits take no real time.
 */
async function follower(state: Partial<ReplicationState>, options: { peer?: PeerHandler; duringSleep?: () => void } = {}) {
  const temp = makeTempDir("gafka-replica-");
  cleanups.push(temp.remove);
  const time = fakeClock();
  const config: BrokerConfig = testBrokerConfig(temp.dir, { brokerId: 2, messageBytesMax: 1024, clock: time.clock });
  const initial: ReplicationState = { role: "follower", leaderEpoch: 3, leader: "127.0.0.1:1", leaderId: null, toInform: [], followers: [] };
  await ReplicationStateStore.load(temp.dir, nodeFileSystem, initial).save({ ...initial, ...state });
  const store = ReplicationStateStore.load(temp.dir, nodeFileSystem, initial); // as a restart finds it
  const broker = await Broker.open(config, { leaderEpoch: () => store.state.leaderEpoch });
  await broker.createTopic("t", 1);
  const peerCalls: string[] = [];
  const peer = options.peer ?? unreachable;
  const manager = await ReplicaManager.open({
    broker,
    config,
    replication: { role: "follower", leader: undefined, advertisedAddress: "127.0.0.1:2", replicaLagMaxMs: 1000, minInsyncReplicas: 1 },
    state: store,
    offsets: undefined,
    fetch: (url, init) => {
      peerCalls.push(new URL(url).pathname);
      return Promise.resolve(peer(url, init));
    },
    sleep: (ms) => time.sleep(ms, options.duringSleep),
  });
  manager.begin("127.0.0.1:2");
  cleanups.push(async () => {
    await manager.stop();
    await broker.close();
  });
  return { manager, broker, store, log: broker.partitionEntries()[0]!.log!, time, peerCalls };
}

test("promotion is refused to a follower that lacks records its leader committed, unless forced", async () => {
  const { manager, log, store } = await follower({ leaderId: 1, leaderFacts: { minInsyncReplicas: 2, replicas: 2, replicaLagMaxMs: 1000 } });
  // As if the leader's stream had said: high watermark 5, while this follower holds nothing yet.
  log.resetHighWatermarkLimit(5);
  const refused = await gafkaErrorOf(manager.promote(ANONYMOUS));
  expect(refused.code).toBe("replica_not_in_sync");
  expect(refused.details).toMatchObject({ partitions: [{ topic: "t", partition: 0, log_end_offset: 0, high_watermark: 5 }] });
  expect(store.state.role).toBe("follower");
  expect(() => manager.admit(1)).toThrow(/follower/);

  const forced = await manager.promote(ANONYMOUS, { force: true });
  expect(forced).toMatchObject({ changed: true, leaderEpoch: 4, formerLeader: { address: "127.0.0.1:1", informed: false } });
  expect(store.state).toMatchObject({ role: "leader", leaderEpoch: 4, toInform: ["127.0.0.1:1"] });
  expect(manager.admit(1)).toBeGreaterThan(0);
  expect(log.leaderEpochs.entries()).toEqual([{ epoch: 4, startOffset: 0 }]);
});

test("a follower that never heard from its leader is not promoted without force", async () => {
  const { manager } = await follower({ leaderId: null });
  expect((await gafkaErrorOf(manager.promote(ANONYMOUS))).message).toContain("never replicated");
  expect((await manager.promote(ANONYMOUS, { force: true })).changed).toBe(true);
  expect((await manager.promote(ANONYMOUS)).changed).toBe(false);
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
  expect((await gafkaErrorOf(manager.acceptLeader(ANONYMOUS, { leaderId: 9, leaderEpoch: 2, address: "127.0.0.1:9", clusterId: CLUSTER_ID }))).code).toBe("stale_leader_epoch");
  expect(await manager.acceptLeader(ANONYMOUS, { leaderId: 9, leaderEpoch: 5, address: "127.0.0.1:9", clusterId: CLUSTER_ID })).toEqual({ role: "follower", leaderEpoch: 5 });
  expect(store.state).toMatchObject({ role: "follower", leader: "127.0.0.1:9", leaderId: 9, leaderEpoch: 5 });
  // The same announcement again is fine.
  expect(await manager.acceptLeader(ANONYMOUS, { leaderId: 9, leaderEpoch: 5, address: "127.0.0.1:9", clusterId: CLUSTER_ID })).toEqual({ role: "follower", leaderEpoch: 5 });
});

const CLUSTER_ID = "AAAAAAAAAAAAAAAAAAAAAA";

const N2 = { minInsyncReplicas: 2, replicas: 2, replicaLagMaxMs: 3000 };

test("an in-sync follower of an unreachable N=2 leader is promoted cleanly, acting only once the old leader's lease has lapsed", async () => {
  let refusedWhileWaiting = 0;
  let managerRef: ReplicaManager | undefined;
  const { manager, time, store } = await follower(
    { leaderId: 1, leaderFacts: N2 },
    {
      duringSleep: () => {
        // Persisted as leader, but not acting yet: writes are refused all through the wait.
        try {
          managerRef?.admit("all");
        } catch (error) {
          if ((error as GafkaError).code === "not_leader") refusedWhileWaiting++;
        }
      },
    },
  );
  managerRef = manager;
  time.advance(500); // half a second since start, nothing heard from the leader
  const result = await manager.promote(ANONYMOUS);
  // The lease period is the leader's 3 s (longer than this broker's own 1 s), plus the 1 s margin,
  // counted from this broker's start: nothing it echoed since can hold the old leader's lease.
  expect(result).toMatchObject({ changed: true, leaderEpoch: 4, clean: true, lease: { end: "lease_expired", waitedMs: 3500 } });
  expect(result.why).toContain("needed this follower's durable copy");
  expect(time.sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(3500);
  expect(refusedWhileWaiting).toBe(time.sleeps.length);
  expect(store.state).toMatchObject({ role: "leader", leaderEpoch: 4 });
  expect(manager.admit("all")).toBeGreaterThan(0);
});

test("the wait runs from this broker's start when nothing came from the leader since, and --leader-dead skips it", async () => {
  const first = await follower({ leaderId: 1, leaderFacts: N2 });
  first.time.advance(10_000);
  // Nothing for 10 s, longer than lease + margin: nothing to wait for.
  expect((await first.manager.promote(ANONYMOUS)).lease).toEqual({ end: "lease_expired", waitedMs: 0 });

  const second = await follower({ leaderId: 1, leaderFacts: N2 });
  expect(second.manager.status().fetcher?.promotionLeaseWaitMs).toBe(4000);
  const result = await second.manager.promote(ANONYMOUS, { leaderDead: true });
  expect(result.lease).toEqual({ end: "leader_dead", waitedMs: 0 });
  expect(second.time.sleeps).toEqual([]);
});

test("an unreachable N=1 leader: refused without force, saying what may be lost; forced, it is an unclean election with no lease to wait for", async () => {
  const { manager, log, store, peerCalls } = await follower({ leaderId: 1, leaderFacts: { minInsyncReplicas: 1, replicas: 2, replicaLagMaxMs: 1000 } });
  log.resetHighWatermarkLimit(0);
  const refused = await gafkaErrorOf(manager.promote(ANONYMOUS));
  expect(refused.code).toBe("replica_not_in_sync");
  expect(refused.message).toContain("min.insync.replicas=1");
  expect(refused.details).toMatchObject({
    leader_reachable: false,
    min_insync_replicas: 1,
    partitions: [{ topic: "t", partition: 0, log_end_offset: 0, high_watermark: 0, high_watermark_source: "last_sent", missing_at_least: 0 }],
  });
  // The leader was asked, within a bound, and not waited on.
  expect(peerCalls).toContain("/api/v1/replication/status");
  expect(store.state.role).toBe("follower");

  const forced = await manager.promote(ANONYMOUS, { force: true });
  expect(forced).toMatchObject({ changed: true, clean: false, lease: { end: "no_lease", waitedMs: 0 } });
  expect(forced.why).toContain("min.insync.replicas=1");
});

/** A leader under epoch 3 that answers status with these positions and takes announcements. */
function reachableLeader(highWatermark: number, logEndOffset: number, announcements: unknown[]): PeerHandler {
  return async (url, init) => {
    const path = new URL(url).pathname;
    if (path === "/api/v1/replication/status") {
      return Response.json({ role: "leader", leader_epoch: 3, partitions: [{ topic: "t", partition: 0, high_watermark: highWatermark, log_end_offset: logEndOffset }] });
    }
    if (path === "/api/v1/replication/leader") {
      announcements.push(JSON.parse(String(init.body)));
      return Response.json({ broker_id: 1, role: "follower", leader_epoch: 4 });
    }
    throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" }); // the stream: not in this test
  };
}

test("a reachable leader is asked for its high watermark: a follower that holds it is promoted at once when the leader steps down", async () => {
  const announcements: unknown[] = [];
  // N=1: without the leader's answer this follower could not be promoted cleanly.
  const { manager, time } = await follower({ leaderId: 1, leaderFacts: { minInsyncReplicas: 1, replicas: 2, replicaLagMaxMs: 1000 } }, { peer: reachableLeader(0, 0, announcements) });
  const result = await manager.promote(ANONYMOUS);
  expect(result).toMatchObject({ clean: true, lease: { end: "leader_stepped_down", waitedMs: 0 }, formerLeader: { address: "127.0.0.1:1", informed: true } });
  expect(result.partitions).toEqual([
    { topic: "t", partition: 0, log_end_offset: 0, high_watermark: 0, high_watermark_source: "leader", leader_log_end_offset: 0, missing_at_least: 0 },
  ]);
  expect(announcements).toEqual([{ leader_id: 2, leader_epoch: 4, address: "127.0.0.1:2", cluster_id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) }]);
  expect(time.sleeps).toEqual([]);
});

test("a follower behind its reachable leader's high watermark (and not catching up) is refused with how much it lacks", async () => {
  const announcements: unknown[] = [];
  const { manager, store, time } = await follower({ leaderId: 1, leaderFacts: N2 }, { peer: reachableLeader(12, 15, announcements) });
  const refused = await gafkaErrorOf(manager.promote(ANONYMOUS));
  expect(refused.code).toBe("replica_not_in_sync");
  expect(refused.message).toContain("12 record(s) at least");
  expect(refused.details).toMatchObject({ leader_reachable: true, partitions: [{ log_end_offset: 0, high_watermark: 12, high_watermark_source: "leader", leader_log_end_offset: 15, missing_at_least: 12 }] });
  // It gave catching up a bounded time (fake: no real time passed), and told the leader nothing.
  expect(time.sleeps.length).toBeGreaterThan(0);
  expect(announcements).toEqual([]);
  expect(store.state.role).toBe("follower");
  // Forced: the answer says what is lost against the leader's own log end too.
  const forced = await manager.promote(ANONYMOUS, { force: true });
  expect(forced).toMatchObject({ clean: false, partitions: [{ missing_at_least: 12, leader_log_end_offset: 15 }] });
});

test("a promote moves exactly one past the highest epoch known (its own, carried, checkpointed) and never past the maximum", async () => {
  const { manager, log, store } = await follower({ leaderId: 1 });
  log.leaderEpochs.assign(7, 0); // a checkpoint newer than replication.json's epoch 3
  expect((await manager.promote(ANONYMOUS, { force: true, leaderDead: true })).leaderEpoch).toBe(8);
  manager.observeCarriedEpoch(ANONYMOUS, 11); // a newer leader exists somewhere: fenced
  expect(() => manager.admit(1)).toThrow(/no longer leads/);
  expect((await manager.promote(ANONYMOUS)).leaderEpoch).toBe(12);
  expect(store.state.leaderEpoch).toBe(12);

  expect((await gafkaErrorOf(manager.acceptLeader(ANONYMOUS, { leaderId: 9, leaderEpoch: LEADER_EPOCH_MAX + 1, address: "127.0.0.1:9", clusterId: manager.clusterId! }))).code).toBe("invalid_request");
  expect(store.state).toMatchObject({ role: "leader", leaderEpoch: 12 });
  expect(await manager.acceptLeader(ANONYMOUS, { leaderId: 9, leaderEpoch: LEADER_EPOCH_MAX, address: "127.0.0.1:9", clusterId: manager.clusterId! })).toEqual({ role: "follower", leaderEpoch: LEADER_EPOCH_MAX });
  const exhausted = await gafkaErrorOf(manager.promote(ANONYMOUS, { force: true, leaderDead: true }));
  expect(exhausted.code).toBe("leader_epoch_exhausted");
  expect(exhausted.details).toMatchObject({ highest_leader_epoch: LEADER_EPOCH_MAX, leader_epoch_max: LEADER_EPOCH_MAX });
  expect(store.state).toMatchObject({ role: "follower", leaderEpoch: LEADER_EPOCH_MAX });
  expect(log.leaderEpochs.latestEpoch).toBe(12);
});

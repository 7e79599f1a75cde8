import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { LEADER_EPOCH_MAX } from "../core/limits.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { type ReplicationState, ReplicationStateStore } from "./replication-state.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const initial: ReplicationState = { role: "follower", leaderEpoch: 0, leader: "localhost:9001", leaderId: null, toInform: [], followers: [] };

function tempDir(): string {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return temp.dir;
}

test("the state is the flags' until saved, then the file's; changes apply in order on the state as it then is", async () => {
  const dir = tempDir();
  const store = ReplicationStateStore.load(dir, nodeFileSystem, initial);
  expect(store.existed).toBe(false);
  expect(store.state).toEqual(initial);
  await Promise.all([
    store.update((current) => ({ ...current, leaderEpoch: 1, leaderId: 1 })),
    store.update((current) => ({ ...current, followers: [...current.followers, { id: 3, address: "localhost:9003" }] })),
  ]);
  const reloaded = ReplicationStateStore.load(dir, nodeFileSystem, { ...initial, role: "leader" });
  expect(reloaded.existed).toBe(true);
  expect(reloaded.state).toEqual({ ...initial, leaderEpoch: 1, leaderId: 1, followers: [{ id: 3, address: "localhost:9003" }] });
  expect(JSON.parse(readFileSync(path.join(dir, "replication.json"), "utf8"))).toMatchObject({ version: 1, role: "follower", leader_epoch: 1 });
});

test("the leader epoch never goes back, and a damaged file refuses to load", async () => {
  const dir = tempDir();
  const store = ReplicationStateStore.load(dir, nodeFileSystem, initial);
  await store.save({ ...initial, leaderEpoch: 4 });
  await expect(store.save({ ...initial, leaderEpoch: 3 })).rejects.toThrow(/may not go back/);
  writeFileSync(path.join(dir, "replication.json"), '{"version": 1, "role": "king"}');
  expect(() => ReplicationStateStore.load(dir, nodeFileSystem, initial)).toThrow(/damaged/);
});

test("a follower's leader facts (N, R, lease period) survive a restart", async () => {
  const { dir, remove } = makeTempDir("gafka-state-");
  try {
    const initial = { role: "follower" as const, leaderEpoch: 2, leader: "localhost:9001", leaderId: 1, toInform: [], followers: [] };
    const store = ReplicationStateStore.load(dir, nodeFileSystem, initial);
    await store.save({ ...initial, leaderFacts: { minInsyncReplicas: 2, replicas: 2, replicaLagMaxMs: 3000 } });
    expect(ReplicationStateStore.load(dir, nodeFileSystem, initial).state.leaderFacts).toEqual({ minInsyncReplicas: 2, replicas: 2, replicaLagMaxMs: 3000 });
    await store.update((current) => ({ ...current, leaderFacts: null }));
    expect(ReplicationStateStore.load(dir, nodeFileSystem, initial).state.leaderFacts ?? null).toBeNull();
  } finally {
    remove();
  }
});

test("a leader epoch past the maximum refuses to load (naming the file) and is never written", async () => {
  const dir = tempDir();
  const store = ReplicationStateStore.load(dir, nodeFileSystem, initial);
  await store.save({ ...initial, leaderEpoch: LEADER_EPOCH_MAX });
  expect(ReplicationStateStore.load(dir, nodeFileSystem, initial).state.leaderEpoch).toBe(LEADER_EPOCH_MAX);
  await expect(store.save({ ...initial, leaderEpoch: LEADER_EPOCH_MAX + 1 })).rejects.toThrow(/out of range/);
  const file = path.join(dir, "replication.json");
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), leader_epoch: 2 ** 31 }));
  expect(() => ReplicationStateStore.load(dir, nodeFileSystem, initial)).toThrow(`${file} is damaged: bad leader_epoch 2147483648`);
});

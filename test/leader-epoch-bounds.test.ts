import { afterAll, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { LEADER_EPOCH_MAX } from "../src/core/limits.ts";
import { cleanupAll } from "./helpers/broker-process.ts";
import { createTopic, produce, startLeader, status } from "./helpers/cluster.ts";
import { postJson } from "./helpers/http.ts";
import { reserveTestPort } from "./helpers/test-ports.ts";

afterAll(cleanupAll);

/**
 * Leader epochs are int32s: no announcement, header or promote may take a
 * broker past LEADER_EPOCH_MAX, where every write would carry an epoch that
 * does not fit (each produce answered 500 for ever, restart or not).
 */
test("an announced epoch past the maximum is refused; a promote reaches the maximum at most, and produce still works, restart or not", async () => {
  const broker = await startLeader();
  await createTopic(broker, "t", 1);
  const clusterId = (await status(broker)).cluster_id;
  const fakeLeader = `127.0.0.1:${await reserveTestPort()}`; // nothing listens there
  const announce = (leaderEpoch: number) =>
    postJson(`${broker.url}/api/v1/replication/leader`, { leader_id: 666, leader_epoch: leaderEpoch, address: fakeLeader, cluster_id: clusterId });

  const overflow = await announce(2 ** 31 - 1);
  expect(overflow.status).toBe(400);
  expect(overflow.body.error.code).toBe("invalid_request");
  expect((await status(broker)).role).toBe("leader");
  expect((await produce(broker, "t", [{ value: "before" }])).status).toBe(200);

  // The highest epoch a promote may still move past: it leads under the maximum, and writes.
  expect((await announce(LEADER_EPOCH_MAX - 1)).status).toBe(200);
  const promoted = await postJson(`${broker.url}/api/v1/replication/promote`, { force: true, leader_dead: true });
  expect(promoted.status).toBe(200);
  expect(promoted.body.leader_epoch).toBe(LEADER_EPOCH_MAX);
  expect((await produce(broker, "t", [{ value: "at the maximum" }])).status).toBe(200);
  // Nothing carried in a header fences it past the maximum.
  const fencing = await fetch(`${broker.url}/healthz`, { headers: { "gafka-leader-epoch": String(2 ** 31) } });
  expect(fencing.status).toBe(200);
  expect((await produce(broker, "t", [{ value: "after the header" }])).status).toBe(200);

  await broker.restart();
  expect((await produce(broker, "t", [{ value: "after a restart" }])).status).toBe(200);
  const state = JSON.parse(readFileSync(path.join(broker.dataDir, "replication.json"), "utf8"));
  expect(state.leader_epoch).toBe(LEADER_EPOCH_MAX);
  const checkpoint = readFileSync(path.join(broker.dataDir, readdirSync(broker.dataDir).find((name) => name.startsWith("t-"))!, "leader-epoch-checkpoint"), "utf8");
  for (const line of checkpoint.trim().split("\n").slice(2)) expect(Number(line.split(" ")[0])).toBeLessThanOrEqual(LEADER_EPOCH_MAX);
});

test("a replication.json holding an epoch past the maximum stops the start, naming the file", async () => {
  const broker = await startLeader();
  await broker.stop();
  const file = path.join(broker.dataDir, "replication.json");
  const state = JSON.parse(readFileSync(file, "utf8"));
  await Bun.write(file, JSON.stringify({ ...state, leader_epoch: 2 ** 31 }));
  await expect(broker.restart()).rejects.toThrow(/replication\.json is damaged: bad leader_epoch 2147483648/);
});

test("a leader-epoch-checkpoint holding an epoch past the maximum stops the start, naming the file", async () => {
  const broker = await startLeader();
  await createTopic(broker, "t", 1);
  expect((await produce(broker, "t", [{ value: "v" }])).status).toBe(200);
  await broker.stop();
  const file = path.join(broker.dataDir, readdirSync(broker.dataDir).find((name) => name.startsWith("t-"))!, "leader-epoch-checkpoint");
  await Bun.write(file, `0\n1\n${2 ** 31} 0\n`);
  await expect(broker.restart()).rejects.toThrow(/leader-epoch-checkpoint holds leader epoch 2147483648, above the highest gafka accepts/);
});

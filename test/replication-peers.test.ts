import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { type BrokerProcess, cleanupAll, makeTempDir, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, postJson, readPartition, waitFor } from "./helpers/http.ts";

/** Issue 15: what a peer may tell a broker about itself (its address, its session), and what a broker shows of a peer's answers. */

afterAll(cleanupAll);

const NOT_HOST_PORT = ["http://127.0.0.1:1/latest/meta-data", "127.0.0.1:80/path", "user@127.0.0.1:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000"];

test("a leader announcement or a stream registration whose address is not host:port is refused with 400 invalid_request", async () => {
  const leader = await startLeader();
  for (const address of NOT_HOST_PORT) {
    const announced = await postJson(`${leader.url}/api/v1/replication/leader`, { leader_id: 9, leader_epoch: 1_000, address });
    expect({ address, status: announced.status, code: announced.body.error?.code }).toEqual({ address, status: 400, code: "invalid_request" });
    const streamed = await postJson(`${leader.url}/api/v1/replication/stream`, { follower_id: 9, address, leader_epoch: 0, partitions: [] });
    expect({ address, status: streamed.status, code: streamed.body.error?.code }).toEqual({ address, status: 400, code: "invalid_request" });
  }
  // Still the leader, under its own epoch, and it registered no follower.
  const view = await status(leader);
  expect(view.role).toBe("leader");
  expect(view.followers).toEqual([]);
});

test("--leader and --advertised-address must be host:port", async () => {
  const dataDir = await makeTempDir();
  for (const flag of ["--leader", "--advertised-address"]) {
    const result = await runCli(["broker", "--id=2", "--role=follower", "--port=0", `--data-dir=${dataDir}`, `${flag}=http://127.0.0.1:1/x`], { timeoutMs: 10_000 });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(`${flag} must be host:port`);
  }
});

test("a follower's status shows the status its leader answered with, never the body", async () => {
  const SECRET = "instance-credentials-SECRET";
  const fake = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(SECRET, { status: 500 }) });
  try {
    const follower = await startFollower({ hostPort: `127.0.0.1:${fake.port}` } as any, 2);
    let error: string | null = null;
    await waitFor(async () => {
      error = (await status(follower)).replication?.error ?? null;
      return error !== null;
    }, "the follower reports its leader's answer");
    expect(error!).toContain("500");
    expect(error!).not.toContain("SECRET");
  } finally {
    fake.stop(true);
  }
});

test("a forged ack naming a guessable session (1) with a huge offset is refused and counts for nothing", async () => {
  const leader = await startLeader(["--min-insync-replicas=2"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1, [follower]);
  expect((await produce(leader, "t", [{ value: "a" }], "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  for (const session of [1, "1", "00000000000000000000000000000001"]) {
    const forged = await postJson(`${leader.url}/api/v1/replication/ack`, {
      follower_id: 2,
      session,
      positions: [{ topic: "t", partition: 0, offset: 9_000_000_000 }],
    });
    expect({ session, accepted: forged.status === 200 && forged.body.accepted === true }).toEqual({ session, accepted: false });
  }
  const view = await status(leader);
  expect(view.followers[0].partitions[0].acked_offset).toBe(1);
  expect(view.partitions[0].high_watermark).toBe(1);
});

async function clusterIdOf(broker: BrokerProcess): Promise<string | null> {
  return (await getJson(`${broker.url}/healthz`)).body.cluster_id;
}

test("a leader makes its cluster id at first start and keeps it across restarts; a new follower takes its leader's", async () => {
  const leader = await startLeader();
  const clusterId = await clusterIdOf(leader);
  expect(clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(existsSync(path.join(leader.dataDir, "cluster.json"))).toBe(true);
  await leader.restart();
  expect(await clusterIdOf(leader)).toBe(clusterId);

  const follower = await startFollower(leader, 2);
  await waitFor(async () => (await clusterIdOf(follower)) === clusterId, "the follower to take its leader's cluster id");
  await follower.restart();
  expect(await clusterIdOf(follower)).toBe(clusterId);
  expect((await status(follower)).cluster_id).toBe(clusterId);

  const cluster = await runCli(["admin", "cluster", `--broker=${follower.hostPort}`]);
  expect(cluster.exitCode).toBe(0);
  expect(cluster.stdout).toStartWith(`CLUSTER ${clusterId}\n`);
  const json = await runCli(["admin", "cluster", "--json", `--broker=${follower.hostPort}`]);
  for (const line of json.stdout.trim().split("\n")) expect(JSON.parse(line).cluster_id).toBe(clusterId);
});

test("brokers of different clusters refuse each other's streams and announcements (409 cluster_id_mismatch); a follower pointed at another cluster keeps its data", async () => {
  const leader = await startLeader();
  const other = await startLeader();
  const otherId = await clusterIdOf(other);
  expect(otherId).not.toBe(await clusterIdOf(leader));
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1);
  expect((await produce(leader, "t", [{ value: "kept" }])).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  const streamed = await postJson(`${other.url}/api/v1/replication/stream`, {
    follower_id: 2,
    address: follower.hostPort,
    leader_epoch: 0,
    cluster_id: await clusterIdOf(leader),
    partitions: [],
  });
  expect(streamed.status).toBe(409);
  expect(streamed.body.error.code).toBe("cluster_id_mismatch");
  expect((await status(other)).followers).toEqual([]);

  const announced = await postJson(`${follower.url}/api/v1/replication/leader`, { leader_id: 1, leader_epoch: 99, address: other.hostPort, cluster_id: otherId });
  expect(announced.status).toBe(409);
  expect(announced.body.error.code).toBe("cluster_id_mismatch");
  const view = await status(follower);
  expect(view.leader).toBe(leader.hostPort);
  expect(view.leader_epoch).toBe(0);

  // Restarted with --leader naming the other cluster's leader: it refuses that stream, and cuts back or deletes nothing.
  await follower.stop();
  const misdirected = await startBrokerProcess({ dataDir: follower.dataDir, args: ["--id=2", "--role=follower", `--leader=${other.hostPort}`] });
  await waitFor(async () => String((await status(misdirected)).replication?.error ?? "").includes("cluster_id_mismatch"), "the follower to refuse the other cluster");
  expect((await readPartition(misdirected.url, "t", 0)).map((record) => record.value)).toEqual(["kept"]);
  expect(await clusterIdOf(misdirected)).toBe(await clusterIdOf(leader));
});

test("the cluster id is required in an announcement", async () => {
  const leader = await startLeader();
  const announced = await postJson(`${leader.url}/api/v1/replication/leader`, { leader_id: 9, leader_epoch: 99, address: "127.0.0.1:1" });
  expect(announced.status).toBe(400);
  expect(announced.body.error.code).toBe("invalid_request");
  expect((await status(leader)).role).toBe("leader");
});

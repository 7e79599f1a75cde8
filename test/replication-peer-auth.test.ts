import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { type Clock, systemClock } from "../src/core/clock.ts";
import { ManualClock } from "../src/core/manual-clock.ts";
import { ClusterSecret } from "../src/security/cluster-secret.ts";
import { PeerProofSigner } from "../src/security/peer-proof.ts";
import { type BrokerProcess, cleanupAll, makeTempDir, runCli } from "./helpers/broker-process.ts";
import { clusterSecretArgs, createTopic, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, readPartition, waitFor } from "./helpers/http.ts";

/**
 * Brokers started with --cluster-secret-file take replication's calls from
 * brokers holding the secret alone (the Gafka-Peer proof): announcements,
 * streams, acks and leader-epoch headers from anyone else count for nothing.
 */

afterAll(cleanupAll);

const SECRET = "test-cluster-secret-0123456789-abcdefghijklmnop";
const WRONG_SECRET = "another-cluster-secret-0123456789-abcdefghijk";

function proof(secret: string, method: string, urlPath: string, clock: Clock = systemClock, brokerId = 9): string {
  return new PeerProofSigner({ secret: ClusterSecret.fromText(secret), brokerId, clusterId: () => null, clock }).authorization(method, urlPath);
}

async function post(broker: BrokerProcess, urlPath: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${broker.url}${urlPath}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** No header, garbage, another scheme, and a well-formed proof made with the wrong secret. */
function forgedHeaders(method: string, urlPath: string): Record<string, string>[] {
  return [
    {},
    { authorization: "Gafka-Peer garbage" },
    { authorization: "Bearer abc" },
    { authorization: proof(WRONG_SECRET, method, urlPath) },
  ];
}

const replicationJson = (broker: BrokerProcess) => readFileSync(path.join(broker.dataDir, "replication.json"), "utf8");

test("R1: a leader announcement without a valid proof is 401; the broker still leads, takes produces, and keeps its records, topics and replication.json", async () => {
  const leader = await startLeader(await clusterSecretArgs(SECRET));
  await createTopic(leader, "t", 1);
  await createTopic(leader, "u", 1);
  expect((await produce(leader, "t", [{ value: "a" }, { value: "b" }])).status).toBe(200);
  const before = replicationJson(leader);
  const clusterId = (await status(leader)).cluster_id;

  const urlPath = "/api/v1/replication/leader";
  for (const headers of forgedHeaders("POST", urlPath)) {
    const answer = await post(leader, urlPath, { leader_id: 666, leader_epoch: 9_000_000, address: "127.0.0.1:1", cluster_id: clusterId }, headers);
    expect({ headers, status: answer.status, code: answer.body?.error?.code }).toEqual({ headers, status: 401, code: "unauthenticated" });
  }
  const view = await status(leader);
  expect({ role: view.role, epoch: view.leader_epoch, fenced: view.fenced }).toEqual({ role: "leader", epoch: 0, fenced: false });
  expect((await produce(leader, "t", [{ value: "c" }])).status).toBe(200);
  expect((await readPartition(leader.url, "t", 0)).map((record) => record.value)).toEqual(["a", "b", "c"]);
  expect((await getJson(`${leader.url}/api/v1/topics`)).body.topics.map((topic: any) => topic.name).sort()).toEqual(["t", "u"]);
  expect(replicationJson(leader)).toBe(before);
});

test("R3: a stream without a valid proof is 401: nothing streamed, no follower registered or persisted", async () => {
  const leader = await startLeader(await clusterSecretArgs(SECRET));
  await createTopic(leader, "t", 1);
  expect((await produce(leader, "t", [{ value: "secret record" }])).status).toBe(200);

  const urlPath = "/api/v1/replication/stream";
  for (const headers of forgedHeaders("POST", urlPath)) {
    const response = await fetch(`${leader.url}${urlPath}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ follower_id: 7, address: "127.0.0.1:1", leader_epoch: 0, partitions: [] }),
      // A stream that was let in never ends: fail fast instead.
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    expect({ headers, status: response.status }).toEqual({ headers, status: 401 });
    expect(text).not.toContain("secret record");
  }
  // A broker holding the secret speaks for itself only: broker 9 may not open broker 7's stream.
  const asAnother = await post(leader, urlPath, { follower_id: 7, address: "127.0.0.1:1", leader_epoch: 0, partitions: [] }, { authorization: proof(SECRET, "POST", urlPath) });
  expect({ status: asAnother.status, code: asAnother.body?.error?.code }).toEqual({ status: 403, code: "forbidden" });
  expect((await status(leader)).followers).toEqual([]);
  expect(JSON.parse(replicationJson(leader)).followers).toEqual([]);
});

test("R5: a forged ack without a proof is 401 and counts for nothing", async () => {
  const secretArgs = await clusterSecretArgs(SECRET);
  const leader = await startLeader(["--min-insync-replicas=2", ...secretArgs]);
  const follower = await startFollower(leader, 2, secretArgs);
  await createTopic(leader, "t", 1, [follower]);
  expect((await produce(leader, "t", [{ value: "a" }], "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  const urlPath = "/api/v1/replication/ack";
  for (const headers of forgedHeaders("POST", urlPath)) {
    const forged = await post(leader, urlPath, { follower_id: 2, session: "00000000000000000000000000000001", positions: [{ topic: "t", partition: 0, offset: 9_000_000_000 }] }, headers);
    expect({ headers, status: forged.status }).toEqual({ headers, status: 401 });
  }
  const view = await status(leader);
  expect(view.followers[0].partitions[0].acked_offset).toBe(1);
  expect(view.partitions[0].high_watermark).toBe(1);
});

test("R6: a client's gafka-leader-epoch header without a proof does not fence the leader", async () => {
  const leader = await startLeader(await clusterSecretArgs(SECRET));
  await createTopic(leader, "t", 1);
  for (const urlPath of ["/healthz", "/api/v1/topics"]) {
    const response = await fetch(`${leader.url}${urlPath}`, { headers: { "gafka-leader-epoch": "999" } });
    expect(response.status).toBe(200);
  }
  const carried = await post(leader, "/api/v1/produce", { topic: "t", value: "x" }, { "gafka-leader-epoch": "999" });
  expect(carried.status).toBe(200);
  expect((await produce(leader, "t", [{ value: "y" }])).status).toBe(200);
  expect((await status(leader)).fenced).toBe(false);
});

test("a proof is taken once (a replay is 401), and not when older than the 60 s window", async () => {
  const leader = await startLeader(await clusterSecretArgs(SECRET));
  const urlPath = "/api/v1/replication/status";
  const header = proof(SECRET, "GET", urlPath);
  const first = await fetch(`${leader.url}${urlPath}`, { headers: { authorization: header } });
  expect(first.status).toBe(200);
  const replayed = await fetch(`${leader.url}${urlPath}`, { headers: { authorization: header } });
  expect(replayed.status).toBe(401);
  expect(((await replayed.json()) as any).error.message).toContain("nonce was used already");

  const old = proof(SECRET, "GET", urlPath, new ManualClock({ nowMs: Date.now() - 61_000 }));
  const tooOld = await fetch(`${leader.url}${urlPath}`, { headers: { authorization: old } });
  expect(tooOld.status).toBe(401);
  expect(((await tooOld.json()) as any).error.message).toContain("timestamp");
});

test("a follower with the wrong secret is refused; its status says why (401 from its leader), never the secret", async () => {
  const leader = await startLeader(await clusterSecretArgs(SECRET));
  await createTopic(leader, "t", 1);
  const follower = await startFollower(leader, 2, await clusterSecretArgs(WRONG_SECRET));
  let error = "";
  await waitFor(async () => {
    error = String((await status(follower)).replication?.error ?? "");
    return error.includes("401");
  }, "the follower to report its leader's refusal");
  expect(error).toContain("--cluster-secret-file");
  const shown = JSON.stringify(await status(follower)) + follower.stderr() + leader.stderr();
  expect(shown).not.toContain(SECRET);
  expect(shown).not.toContain(WRONG_SECRET);
  expect((await status(leader)).followers).toEqual([]);
  expect((await getJson(`${follower.url}/api/v1/topics`)).body.topics).toEqual([]);
});

test("two brokers with the same secret replicate, promote and fail over as without one", async () => {
  const secretArgs = await clusterSecretArgs();
  const leader = await startLeader(["--min-insync-replicas=2", ...secretArgs]);
  const follower = await startFollower(leader, 2, secretArgs);
  await createTopic(leader, "t", 1, [follower]);
  expect((await produce(leader, "t", [{ value: "before" }], "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
  expect(promote.exitCode).toBe(0);
  expect(promote.stdout).toContain(`former leader ${leader.hostPort} was told`);
  expect((await produce(leader, "t", [{ value: "stale" }])).status).toBe(421);
  await waitCaughtUp(follower, [leader]);
  expect((await produce(follower, "t", [{ value: "after" }], "all")).status).toBe(200);
  await waitCaughtUp(follower, [leader]);
  expect((await readPartition(leader.url, "t", 0)).map((record) => record.value)).toEqual(["before", "after"]);
});

test("--cluster-secret-file: a file others may read, or a short secret, stops the start with one line naming the flag, never the secret", async () => {
  const dir = await makeTempDir();
  const { chmodSync, writeFileSync } = await import("node:fs");
  const file = path.join(dir, "secret");
  writeFileSync(file, `${SECRET}\n`, { mode: 0o644 });
  chmodSync(file, 0o644);
  const open = await runCli(["broker", "--port=0", `--data-dir=${dir}/data`, `--cluster-secret-file=${file}`], { timeoutMs: 10_000 });
  expect(open.exitCode).not.toBe(0);
  expect(open.stderr).toContain("--cluster-secret-file");
  expect(open.stderr).toContain("chmod 600");
  expect(open.stderr).not.toContain(SECRET);

  writeFileSync(file, "too-short\n");
  chmodSync(file, 0o600);
  const short = await runCli(["broker", "--port=0", `--data-dir=${dir}/data`, `--cluster-secret-file=${file}`], { timeoutMs: 10_000 });
  expect(short.exitCode).not.toBe(0);
  expect(short.stderr).toContain("openssl rand -base64 32");
  expect(short.stderr).not.toContain("too-short");
});

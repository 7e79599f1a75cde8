import { afterAll, expect, test } from "bun:test";
import { cleanupAll, makeTempDir, runCli } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { postJson, waitFor } from "./helpers/http.ts";

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
  await createTopic(leader, "t", 1);
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

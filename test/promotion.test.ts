import { afterAll, expect, test } from "bun:test";
import { cleanupAll, runCli } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { readPartition, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

/**
 * `gafka admin promote` of a follower whose leader cannot be reached (SIGSTOP:
 * a partitioned leader that neither answers nor closes its connections), by
 * the rules of docs/operations.md "Promotion".
 */

test("min.insync.replicas=1, leader unreachable: refused without --force, saying what may be lost; --force promotes, saying it is unclean", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 2);
  expect((await produce(leader, "t", Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })), "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  leader.process.kill("SIGSTOP");
  try {
    const refused = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`not promoted; the leader ${leader.hostPort} could not be reached`);
    expect(refused.stderr).toMatch(/t-0: log end \d+, last high watermark sent \d+/);
    expect(refused.stderr).toContain("with min.insync.replicas=1 the leader may have made records visible and acknowledged them without this follower");
    expect(refused.stderr).toContain("promote with force");
    expect((await status(follower)).role).toBe("follower");

    const forced = await runCli(["admin", "promote", `--broker=${follower.hostPort}`, "--force"]);
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout).toContain("is the leader under leader epoch 1");
    expect(forced.stdout).toContain("UNCLEAN election (--force)");
    expect(forced.stdout).toMatch(/t-1: log end \d+, last high watermark sent \d+/);
    expect(forced.stdout).toContain("holds no lease");
    expect(forced.stdout).toContain(`former leader ${leader.hostPort} could not be reached`);
  } finally {
    leader.process.kill("SIGCONT");
  }
  // Told once it runs again: it follows the new leader.
  await waitFor(async () => (await status(leader)).role === "follower", "the old leader to follow");
});

test("min.insync.replicas=2, in-sync follower, leader unreachable: promoted cleanly once the old leader's lease lapsed; no acks=all record lost", async () => {
  const flags = ["--replica-lag-max=2s"];
  const leader = await startLeader([...flags, "--min-insync-replicas=2"]);
  const follower = await startFollower(leader, 2, flags);
  await createTopic(leader, "t", 2, [follower]);
  const acked: string[] = [];
  for (let batch = 0; batch < 20; batch++) {
    const values = Array.from({ length: 10 }, (_, i) => `b${batch}-${i}`);
    const answer = await produce(leader, "t", values.map((value, i) => ({ key: `k${i}`, value })), "all");
    expect(answer.status).toBe(200);
    acked.push(...values);
  }

  leader.process.kill("SIGSTOP");
  try {
    const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
    expect(promote.exitCode).toBe(0);
    expect(promote.stdout).toMatch(/waiting up to \d+\.\d s for its lease to lapse/);
    expect(promote.stdout).toContain("is the leader under leader epoch 1");
    expect(promote.stdout).not.toContain("UNCLEAN");
    expect(promote.stdout).toMatch(/waited \d+\.\d s for the old leader's lease to lapse/);
  } finally {
    leader.process.kill("SIGCONT");
  }
  const stored = new Set<string>();
  for (let partition = 0; partition < 2; partition++) for (const record of await readPartition(follower.url, "t", partition)) stored.add(record.value);
  for (const value of acked) expect(stored.has(value)).toBe(true);
  // The old leader hears of epoch 1, follows, and ends with the new leader's log.
  await waitFor(async () => (await status(leader)).role === "follower", "the old leader to follow");
  expect((await produce(follower, "t", [{ value: "after" }], 1)).status).toBe(200);
  await waitCaughtUp(follower, [leader]);
});

test("a reachable leader is asked, not waited out: the follower catches up to its high watermark and the leader steps down when told", async () => {
  const leader = await startLeader(["--min-insync-replicas=2"]);
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "t", 1, [follower]);
  expect((await produce(leader, "t", [{ value: "a" }, { value: "b" }], "all")).status).toBe(200);
  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
  expect(promote.exitCode).toBe(0);
  expect(promote.stdout).not.toContain("UNCLEAN");
  expect(promote.stdout).toContain("the old leader stepped down when told");
  expect((await readPartition(follower.url, "t", 0)).map((r) => r.value)).toEqual(["a", "b"]);
  expect((await status(leader)).role).toBe("follower");
});

/**
 * A kafkajs consumer group of three members on a real broker's Kafka door,
 * each member its own process (test/helpers/kafka-group-member.ts): the
 * group rebalances when a member joins, when one leaves (disconnects) and
 * when one is killed with SIGKILL (after its session timeout); after each
 * rebalance every partition is owned by exactly one member, in the
 * members' own view and in the group's status over HTTP.
 */
import { afterAll, expect, test } from "bun:test";
import path from "node:path";
import type { Subprocess } from "bun";
import { cleanupAll, repoRoot, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";

const PARTITIONS = 6;
const SESSION_TIMEOUT_MS = 6_000;

const members: Subprocess<"ignore", "pipe", "pipe">[] = [];
afterAll(async () => {
  for (const member of members) member.kill("SIGKILL");
  await cleanupAll();
});

interface Member {
  process: Subprocess<"ignore", "pipe", "pipe">;
  /** The member's latest assignment, as it printed it. */
  latest(): { memberId: string; partitions: number[] } | undefined;
}

function startMember(kafkaPort: number, group: string, topic: string): Member {
  const child = Bun.spawn([process.execPath, path.join(repoRoot, "test/helpers/kafka-group-member.ts"), String(kafkaPort), group, topic, String(SESSION_TIMEOUT_MS)], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  members.push(child);
  let latest: { memberId: string; partitions: number[] } | undefined;
  let pending = "";
  void (async () => {
    for await (const chunk of child.stdout) {
      pending += new TextDecoder().decode(chunk);
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") latest = JSON.parse(line);
    }
  })();
  return { process: child, latest: () => latest };
}

/** Whether the live members' latest assignments cover every partition exactly once. */
function ownedExactlyOnce(live: Member[]): boolean {
  const owned = live.flatMap((member) => member.latest()?.partitions ?? []);
  if (live.some((member) => member.latest() === undefined)) return false;
  return owned.length === PARTITIONS && new Set(owned).size === PARTITIONS;
}

test("three kafkajs members in their own processes: rebalances on join, leave and kill -9, each partition owned once", async () => {
  const broker = await startBrokerProcess();
  const kafkaPort = broker.kafkaPort!;
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "rebalanced", partitions: PARTITIONS })).status).toBe(201);
  const group = "three-members";

  const status = async () => (await getJson(`${broker.url}/api/v1/consumer-groups/${group}/status`)).body;
  /** The members' view and the broker's agree: `live` members, each partition owned once, by the owner the member itself reports. */
  const settledOn = async (live: Member[]) => {
    if (!ownedExactlyOnce(live)) return false;
    const seen = await status();
    if (seen.members?.length !== live.length) return false;
    return live.every((member) => {
      const mine = member.latest()!;
      const theirs = seen.members.find((m: { consumer_id: string }) => m.consumer_id === mine.memberId);
      return theirs !== undefined && JSON.stringify(theirs.assignment.map((tp: { partition: number }) => tp.partition).sort()) === JSON.stringify(mine.partitions);
    });
  };

  const a = startMember(kafkaPort, group, "rebalanced");
  await waitFor(() => settledOn([a]), "the first member owning every partition", 20_000);
  const b = startMember(kafkaPort, group, "rebalanced");
  await waitFor(() => settledOn([a, b]), "two members sharing the partitions", 20_000);
  const c = startMember(kafkaPort, group, "rebalanced");
  await waitFor(() => settledOn([a, b, c]), "three members sharing the partitions", 20_000);
  expect(a.latest()!.partitions.length).toBe(2);

  // A clean leave: SIGTERM makes the member disconnect, which sends LeaveGroup.
  c.process.kill("SIGTERM");
  await c.process.exited;
  await waitFor(() => settledOn([a, b]), "two members after a leave", 20_000);

  // A crash: no LeaveGroup; the broker drops the member once its session times out.
  b.process.kill("SIGKILL");
  await b.process.exited;
  await waitFor(() => settledOn([a]), "one member after a kill -9 and its session timeout", 30_000);
  expect((await status()).state).toBe("stable");
  expect(broker.stderr()).toContain("missed its session timeout");
}, 90_000);

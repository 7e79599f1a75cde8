import { afterAll, expect, test } from "bun:test";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson } from "./helpers/http.ts";

afterAll(cleanupAll);

async function curl(args: string[]): Promise<{ status: number; body: any }> {
  const child = Bun.spawn(["curl", "-s", "-w", "\n%{http_code}", ...args], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(child.stdout).text();
  await child.exited;
  const newline = out.lastIndexOf("\n");
  return { status: Number(out.slice(newline + 1)), body: JSON.parse(out.slice(0, newline)) };
}

test("the seed's group curl commands work as written, and committed offsets survive kill -9", async () => {
  const broker = await startBrokerProcess();
  const base = `http://${broker.hostPort}`;
  expect((await postJson(`${base}/api/v1/topics`, { name: "test-topic", partitions: 2 })).status).toBe(201);
  const records = Array.from({ length: 40 }, (_, i) => ({ key: `user${i}`, value: `m${i}` }));
  expect((await postJson(`${base}/api/v1/produce`, { topic: "test-topic", records })).status).toBe(200);

  // The seed's commands (spec/seed.md §5), with this broker's address.
  const first = await curl([`${base}/api/v1/consume?topic=test-topic&count=10&consumer_id=consumer-1&group_id=test-group&timeout=30s`]);
  expect(first.status).toBe(200);
  expect(first.body.records).toHaveLength(10);
  expect(first.body.assignment).toHaveLength(2);
  const beat = await curl(["-X", "POST", `${base}/api/v1/consumer-groups/test-group/members/consumer-1/heartbeat`]);
  expect(beat.status).toBe(200);
  expect(beat.body.generation).toBe(first.body.generation);
  // The second call acknowledges the first ten.
  const second = await curl([`${base}/api/v1/consume?topic=test-topic&count=10&consumer_id=consumer-1&group_id=test-group&timeout=30s`]);
  expect(second.body.records).toHaveLength(10);
  const status = await curl([`${base}/api/v1/consumer-groups/test-group/status`]);
  expect(status.status).toBe(200);
  expect(status.body.members.map((m: any) => m.consumer_id)).toEqual(["consumer-1"]);
  const committed = status.body.partitions.reduce((sum: number, p: any) => sum + (p.committed_offset ?? 0), 0);
  expect(committed).toBe(10);
  const committedBefore = status.body.partitions.map((p: any) => [p.partition, p.committed_offset]);

  // A second group sees every record too, independently.
  const other = await getJson(`${base}/api/v1/consume?topic=test-topic&count=1000&consumer_id=x&group_id=other-group`);
  expect(other.body.records).toHaveLength(40);
  const otherAgain = await getJson(`${base}/api/v1/consume?topic=test-topic&count=1000&consumer_id=x&group_id=other-group`);
  expect(otherAgain.body.records).toHaveLength(0); // and commits all 40

  await broker.kill();
  await broker.restart();
  const after = await getJson(`${broker.url}/api/v1/consumer-groups/test-group/status`);
  expect(after.status).toBe(200);
  expect(after.body.members).toEqual([]);
  expect(after.body.partitions.map((p: any) => [p.partition, p.committed_offset])).toEqual(committedBefore);
  const list = await getJson(`${broker.url}/api/v1/consumer-groups`);
  expect(list.body.groups.map((g: any) => g.group_id)).toEqual(["other-group", "test-group"]);

  // A new member resumes where the group left off: the second batch (delivered, never acknowledged) comes again.
  const resumed = await getJson(`${broker.url}/api/v1/consume?topic=test-topic&count=1000&consumer_id=consumer-2&group_id=test-group`);
  expect(resumed.body.records).toHaveLength(30);
  const values = new Set(resumed.body.records.map((r: any) => r.value));
  for (const record of second.body.records) expect(values.has(record.value)).toBe(true);
  for (const record of first.body.records) expect(values.has(record.value)).toBe(false);

  // Bad input: clear errors, nothing changed.
  expect((await getJson(`${broker.url}/api/v1/consumer-groups/nope/status`)).status).toBe(404);
  expect((await getJson(`${broker.url}/api/v1/consume?topic=test-topic&group_id=bad%20id&consumer_id=c`)).status).toBe(400);
  const reset = await postJson(`${broker.url}/api/v1/consumer-groups/test-group/offsets/reset`, { topic: "test-topic", to: "earliest" });
  expect(reset.status).toBe(409);
  expect(reset.body.error.code).toBe("group_not_empty");
  await broker.cleanup();
});

import { afterAll, beforeAll, expect, test } from "bun:test";
import { runBroker, type RunningBroker } from "../../run-broker.ts";
import { testRunConfig } from "../../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../../test/helpers/temp-dir.ts";

const temp = makeTempDir("gafka-groups-http-");
let running: RunningBroker;
let base: string;

beforeAll(async () => {
  running = await runBroker(testRunConfig(temp.dir));
  base = running.url;
  await call("POST", "/api/v1/topics", { name: "a", partitions: 2 });
  await call("POST", "/api/v1/topics", { name: "b", partitions: 1 });
  await call("POST", "/api/v1/produce", { topic: "a", records: [0, 1, 2, 3].map((i) => ({ partition: i % 2, value: `a${i}` })) });
  await call("POST", "/api/v1/produce", { topic: "b", value: "b0", timestamp: 5000 });
});

afterAll(async () => {
  await running.stop();
  temp.remove();
});

async function call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

function expectError(result: { status: number; body: any }, status: number, code: string): void {
  expect(result.status).toBe(status);
  expect(result.body.error.code).toBe(code);
  expect(typeof result.body.error.message).toBe("string");
}

test("join, heartbeat, group consume over two topics, commit, status, leave", async () => {
  const joined = await call("POST", "/api/v1/consumer-groups/g/members/m1", { topics: ["a", "b"], session_timeout_ms: 5000, assignor: "sticky" });
  expect(joined.status).toBe(200);
  expect(joined.body).toMatchObject({ group_id: "g", consumer_id: "m1", generation: 1, session_timeout_ms: 5000 });
  expect(joined.body.assignment).toHaveLength(3);
  const beat = await call("POST", "/api/v1/consumer-groups/g/members/m1/heartbeat");
  expect(beat.body.generation).toBe(1);

  const consumed = await call("GET", "/api/v1/consume?topic=a,b&group_id=g&consumer_id=m1&count=100&generation=1");
  expect(consumed.status).toBe(200);
  expect(consumed.body.records.map((r: any) => `${r.topic}:${r.value}`).sort()).toEqual(["a:a0", "a:a1", "a:a2", "a:a3", "b:b0"]);
  const onlyOne = await call("GET", "/api/v1/consume?topic=a&group_id=g&consumer_id=m1&partition=0&value_encoding=base64");
  expect(onlyOne.status).toBe(200);

  const committed = await call("POST", "/api/v1/consumer-groups/g/offsets", { consumer_id: "m1", generation: 1, offsets: [{ topic: "b", partition: 0, offset: 1 }] });
  expect(committed.status).toBe(200);
  expect(committed.body.committed).toEqual([{ topic: "b", partition: 0, offset: 1 }]);

  const status = await call("GET", "/api/v1/consumer-groups/g/status");
  expect(status.body).toMatchObject({ group_id: "g", state: "stable", generation: 1, assignor: "sticky" });
  expect(status.body.members[0]).toMatchObject({ consumer_id: "m1", topics: ["a", "b"], session_timeout_ms: 5000 });
  expect(status.body.partitions).toContainEqual({ topic: "b", partition: 0, committed_offset: 1, log_start_offset: 0, below_log_start: false, log_end_offset: 1, lag: 0, owner: "m1" });
  expect(status.body.partitions).toContainEqual({ topic: "a", partition: 0, committed_offset: 2, log_start_offset: 0, below_log_start: false, log_end_offset: 2, lag: 0, owner: "m1" });

  const list = await call("GET", "/api/v1/consumer-groups");
  expect(list.body.groups).toEqual([{ group_id: "g", state: "stable", generation: 1, members: 1 }]);

  expectError(await call("POST", "/api/v1/consumer-groups/g/offsets/reset", { topic: "a", to: "earliest" }), 409, "group_not_empty");
  expectError(await call("DELETE", "/api/v1/consumer-groups/g"), 409, "group_not_empty");
  expectError(await call("POST", "/api/v1/consumer-groups/g/offsets", { offsets: [{ topic: "a", partition: 0, offset: 0 }] }), 409, "group_not_empty");

  const left = await call("DELETE", "/api/v1/consumer-groups/g/members/m1");
  expect(left.body).toEqual({ group_id: "g", consumer_id: "m1", left: true });
  expectError(await call("POST", "/api/v1/consumer-groups/g/members/m1/heartbeat"), 404, "unknown_member");

  for (const [to, extra, expected] of [
    ["latest", {}, 2],
    ["earliest", {}, 0],
    ["offset", { offset: 1 }, 1],
    ["timestamp", { timestamp: 0 }, 0],
  ] as const) {
    const reset = await call("POST", "/api/v1/consumer-groups/g/offsets/reset", { topic: "a", partitions: [1], to, ...extra });
    expect(reset.status).toBe(200);
    expect(reset.body.offsets).toEqual([{ topic: "a", partition: 1, offset: expected }]);
  }
  const standalone = await call("POST", "/api/v1/consumer-groups/g/offsets", { offsets: [{ topic: "a", partition: 0, offset: 1 }] });
  expect(standalone.status).toBe(200);
  expect((await call("DELETE", "/api/v1/consumer-groups/g")).body).toEqual({ deleted: "g" });
  expectError(await call("GET", "/api/v1/consumer-groups/g/status"), 404, "group_not_found");
});

test("group conflicts answer 409 with the current assignment", async () => {
  await call("POST", "/api/v1/consumer-groups/c/members/x", { topics: "a" });
  const y = await call("POST", "/api/v1/consumer-groups/c/members/y", { topics: "a" });
  const xAssignment = (await call("POST", "/api/v1/consumer-groups/c/members/x/heartbeat")).body.assignment;
  const foreign = y.body.assignment[0];
  const conflict = await call("GET", `/api/v1/consume?topic=a&group_id=c&consumer_id=x&partition=${foreign.partition}`);
  expectError(conflict, 409, "partition_not_owned");
  expect(conflict.body.error).toMatchObject({ generation: 2, member_id: "x", assignment: xAssignment });
  expectError(await call("GET", "/api/v1/consume?topic=a&group_id=c&consumer_id=x&generation=1"), 409, "stale_generation");
  const commitForeign = await call("POST", "/api/v1/consumer-groups/c/offsets", { consumer_id: "x", offsets: [{ topic: "a", partition: foreign.partition, offset: 0 }] });
  expectError(commitForeign, 409, "partition_not_owned");
  const beyond = await call("POST", "/api/v1/consumer-groups/c/offsets", { consumer_id: "x", offsets: [{ topic: "a", partition: xAssignment[0].partition, offset: 99 }] });
  expectError(beyond, 416, "offset_out_of_range");
});

test("commit=none: a member's consume calls commit nothing; it reads on, and commits through the offsets endpoint", async () => {
  const consume = (commit: string) => call("GET", `/api/v1/consume?topic=a&group_id=own&consumer_id=m&count=2&partition=0${commit}`);
  expect((await consume("&commit=none")).body.records.map((r: any) => r.value)).toEqual(["a0", "a2"]);
  expect((await consume("&commit=none")).body.records).toEqual([]);
  const status = await call("GET", "/api/v1/consumer-groups/own/status");
  expect(status.body.partitions.find((p: any) => p.partition === 0).committed_offset).toBeNull();
  const committed = await call("POST", "/api/v1/consumer-groups/own/offsets", { consumer_id: "m", offsets: [{ topic: "a", partition: 0, offset: 2 }] });
  expect(committed.status).toBe(200);
  expect((await call("GET", "/api/v1/consumer-groups/own/status")).body.partitions.find((p: any) => p.partition === 0).committed_offset).toBe(2);
  // The default, spelled out: this call acknowledges what the member was handed.
  expect((await consume("&commit=previous")).body.records).toEqual([]);
  expect((await call("GET", "/api/v1/consumer-groups/own/status")).body.partitions.find((p: any) => p.partition === 0).committed_offset).toBe(2);
  expect((await call("DELETE", "/api/v1/consumer-groups/own/members/m")).status).toBe(200);
});

test("bad group input gets a clear error and changes nothing", async () => {
  const before = (await call("GET", "/api/v1/consumer-groups")).body;
  const cases: [string, string, unknown, number, string][] = [
    ["POST", "/api/v1/consumer-groups/g2/members/m", { topics: [] }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/members/m", { topics: 5 }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/members/m", { topics: ["missing"] }, 404, "topic_not_found"],
    ["POST", "/api/v1/consumer-groups/g2/members/m", { topics: ["a"], assignor: "random" }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/members/m", { topics: ["a"], session_timeout_ms: "soon" }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/members/m", { topics: ["a"], session_timeout_ms: 1 }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/members/m", "{not json", 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/bad%20id/members/m", { topics: ["a"] }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/members/m/heartbeat", undefined, 404, "group_not_found"],
    ["DELETE", "/api/v1/consumer-groups/g2/members/m", undefined, 404, "group_not_found"],
    ["POST", "/api/v1/consumer-groups/g2/offsets", { offsets: [] }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/offsets", { offsets: [{ topic: "a" }] }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/g2/offsets", { consumer_id: "m", offsets: [{ topic: "a", partition: 0, offset: 0 }] }, 404, "group_not_found"],
    ["POST", "/api/v1/consumer-groups/g2/offsets/reset", { topic: "a", to: "earliest" }, 404, "group_not_found"],
    ["POST", "/api/v1/consumer-groups/c/offsets/reset", { to: "earliest" }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/c/offsets/reset", { topic: "a", to: "tomorrow" }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/c/offsets/reset", { topic: "a", to: "offset" }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/c/offsets/reset", { topic: "a", to: "timestamp" }, 400, "invalid_request"],
    ["POST", "/api/v1/consumer-groups/c/offsets/reset", { topic: "a", to: "latest", partitions: "0" }, 400, "invalid_request"],
    ["GET", "/api/v1/consume?topic=a,b&group_id=g2&consumer_id=m&partition=0", undefined, 400, "invalid_request"],
    ["GET", "/api/v1/consume?topic=a&group_id=g2", undefined, 400, "invalid_request"],
    ["GET", "/api/v1/consume?topic=a&group_id=g2&consumer_id=m&commit=later", undefined, 400, "invalid_request"],
    ["GET", "/api/v1/consumer-groups/g2/status", undefined, 404, "group_not_found"],
    ["DELETE", "/api/v1/consumer-groups/g2", undefined, 404, "group_not_found"],
  ];
  for (const [method, path, body, status, code] of cases) expectError(await call(method, path, body), status, code);
  expectError(await call("POST", "/api/v1/consumer-groups/g2/members/m", "topics=a", "text/plain"), 415, "unsupported_media_type");
  expect((await call("GET", "/api/v1/consumer-groups")).body).toEqual(before);
});

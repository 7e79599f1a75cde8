import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { defaultAuthRequired } from "../src/run-broker.ts";
import { acl, basic, bearer, credentialStoreOf } from "./helpers/auth.ts";
import { type BrokerProcess, cleanupAll, makeTempDir, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { waitFor } from "./helpers/http.ts";

/**
 * What users may do under --auth required: each right its ACL gives and no
 * other, prefixed ACLs, deny over allow, a group member's two checks, super
 * users, bearer tokens, and the first admin a new data dir gets.
 */

afterAll(cleanupAll);

const PASSWORD = "correct-horse-battery";
const as = (user: string) => basic(user, PASSWORD);
let broker: BrokerProcess;
let readerToken: string;
let shortToken: string;

beforeAll(async () => {
  const dataDir = await makeTempDir("gafka-acls-");
  const store = credentialStoreOf(dataDir);
  for (const user of ["admin", "writer", "reader", "pfx", "denied", "member", "grouponly", "topiconly"]) await store.addUser(user, PASSWORD);
  for (const binding of [
    acl("writer", "write", "topic", "t"),
    acl("reader", "read", "topic", "t"),
    acl("pfx", "read", "topic", "logs-", { patternType: "prefixed" }),
    acl("denied", "read", "topic", "*"),
    acl("denied", "read", "topic", "t", { permission: "deny" }),
    acl("member", "read", "group", "g"),
    acl("member", "read", "topic", "t"),
    acl("grouponly", "read", "group", "g"),
    acl("topiconly", "read", "topic", "t"),
  ]) {
    await store.addAcl(binding);
  }
  readerToken = (await store.createToken("reader")).token;
  // Long enough to be seen working once the broker is up, short enough to watch it expire.
  shortToken = (await store.createToken("reader", { expiresInMs: 4_000 })).token;
  broker = await startBrokerProcess({ dataDir, args: ["--auth=required"] });
  for (const [name, partitions] of [["t", 2], ["other", 1], ["logs-a", 1]] as const) {
    expect((await call("POST", "/api/v1/topics", as("admin"), { name, partitions })).status).toBe(201);
    expect((await call("POST", "/api/v1/produce", as("admin"), { topic: name, partition: 0, value: `in ${name}` })).status).toBe(200);
  }
});

async function call(method: string, urlPath: string, auth: Record<string, string>, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${broker.url}${urlPath}`, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...auth },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

const consume = (topic: string, auth: Record<string, string>) => call("GET", `/api/v1/consume?topic=${topic}&partition=0&offset=0`, auth);
const produce = (topic: string, auth: Record<string, string>) => call("POST", "/api/v1/produce", auth, { topic, partition: 0, value: "v" });

test("WRITE on a topic produces to it and reads nothing; READ consumes it and writes nothing", async () => {
  expect((await produce("t", as("writer"))).status).toBe(200);
  expect((await consume("t", as("writer"))).status).toBe(403);
  expect((await produce("other", as("writer"))).status).toBe(403);
  const read = await consume("t", as("reader"));
  expect(read.status).toBe(200);
  expect(read.body.records[0].value).toBe("in t");
  expect((await produce("t", as("reader"))).status).toBe(403);
  expect((await consume("other", as("reader"))).status).toBe(403);
});

test("lists show what the principal may describe; describing another topic is 403 whether it exists or not", async () => {
  expect((await call("GET", "/api/v1/topics", as("reader"))).body.topics.map((topic: any) => topic.name)).toEqual(["t"]);
  expect((await call("GET", "/api/v1/topics", as("pfx"))).body.topics.map((topic: any) => topic.name)).toEqual(["logs-a"]);
  expect((await call("GET", "/api/v1/topics", as("admin"))).body.topics.map((topic: any) => topic.name)).toEqual(["logs-a", "other", "t"]);
  expect((await call("GET", "/api/v1/topics/other", as("reader"))).status).toBe(403);
  expect((await call("GET", "/api/v1/topics/no-such-topic", as("reader"))).status).toBe(403);
  expect((await call("GET", "/api/v1/topics/no-such-topic", as("admin"))).status).toBe(404);
});

test("a prefixed ACL covers the names that start with it, no other", async () => {
  expect((await consume("logs-a", as("pfx"))).status).toBe(200);
  expect((await consume("t", as("pfx"))).status).toBe(403);
});

test("deny wins over allow", async () => {
  expect((await consume("other", as("denied"))).status).toBe(200);
  expect((await consume("t", as("denied"))).status).toBe(403);
});

test("a group member needs READ on the group and on each topic it reads or commits", async () => {
  const groupConsume = (auth: Record<string, string>, member: string) => call("GET", `/api/v1/consume?topic=t&group_id=g&consumer_id=${member}`, auth);
  expect((await groupConsume(as("grouponly"), "m-group")).status).toBe(403);
  expect((await groupConsume(as("topiconly"), "m-topic")).status).toBe(403);
  const answer = await groupConsume(as("member"), "m1");
  expect(answer.status).toBe(200);
  expect(answer.body.records.length).toBeGreaterThan(0);
  expect((await call("POST", "/api/v1/consumer-groups/g/members/m1/heartbeat", as("member"))).status).toBe(200);
  const commitOther = await call("POST", "/api/v1/consumer-groups/g/offsets", as("member"), { consumer_id: "m1", offsets: [{ topic: "other", partition: 0, offset: 1 }] });
  expect(commitOther.status).toBe(403);
  // READ on a group implies DESCRIBE: the member sees it listed, the others with no group right do not.
  expect((await call("GET", "/api/v1/consumer-groups", as("member"))).body.groups.map((group: any) => group.group_id)).toEqual(["g"]);
  expect((await call("GET", "/api/v1/consumer-groups", as("topiconly"))).body.groups).toEqual([]);
  // Only the members who got in are members: the refused calls joined nothing.
  const status = await call("GET", "/api/v1/consumer-groups/g/status", as("admin"));
  expect(status.body.members.map((m: any) => m.consumer_id)).toEqual(["m1"]);
  expect((await call("DELETE", "/api/v1/consumer-groups/g/members/m1", as("member"))).status).toBe(200);
});

test("a super user may do everything: create and delete topics, metrics, replication status", async () => {
  expect((await call("POST", "/api/v1/topics", as("admin"), { name: "scratch" })).status).toBe(201);
  expect((await call("DELETE", "/api/v1/topics/scratch", as("admin"))).status).toBe(200);
  expect((await fetch(`${broker.url}/metrics`, { headers: as("admin") })).status).toBe(200);
  expect((await fetch(`${broker.url}/metrics`, { headers: as("reader") })).status).toBe(403);
  expect((await call("GET", "/api/v1/replication/status", as("admin"))).status).toBe(200);
});

test("a bearer token is its user's until it expires", async () => {
  expect((await consume("t", bearer(readerToken))).status).toBe(200);
  expect((await produce("t", bearer(readerToken))).status).toBe(403);
  expect((await consume("t", bearer(shortToken))).status).toBe(200);
  await waitFor(async () => (await consume("t", bearer(shortToken))).status === 401, "the short token to expire", 30_000);
  expect((await consume("t", bearer(readerToken))).status).toBe(200);
});

test("the first start under --auth required makes user admin, its password in <data-dir>/admin-password (0600); a restart keeps both", async () => {
  const first = await startBrokerProcess({ args: ["--auth=required"] });
  const file = path.join(first.dataDir, "admin-password");
  const password = readFileSync(file, "utf8").trim();
  expect(password.length).toBe(32);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  await waitFor(() => first.stderr().includes(file), "the log line naming the file");
  expect(first.stderr()).not.toContain(password);
  const create = (auth: Record<string, string>) =>
    fetch(`${first.url}/api/v1/topics`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body: JSON.stringify({ name: "made-by-admin" }) });
  expect((await create({})).status).toBe(401);
  expect((await create(basic("admin", password))).status).toBe(201);
  await first.restart();
  expect(readFileSync(file, "utf8").trim()).toBe(password);
  const listed = await fetch(`${first.url}/api/v1/topics`, { headers: basic("admin", password) });
  expect(((await listed.json()) as any).topics.map((topic: any) => topic.name)).toEqual(["made-by-admin"]);
});

test("a follower under --auth required without a cluster secret does not start; --auth off and the host's default", async () => {
  const dataDir = await makeTempDir("gafka-follower-");
  const result = await runCli(["broker", "--port=0", `--data-dir=${dataDir}`, "--role=follower", "--leader=127.0.0.1:1", "--auth=required"]);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toContain("--cluster-secret-file");
  expect((await runCli(["broker", "--port=0", `--data-dir=${dataDir}`, "--auth=maybe"])).stderr).toContain("--auth must be required or off");
  expect([defaultAuthRequired("127.0.0.1"), defaultAuthRequired("localhost"), defaultAuthRequired("::1")]).toEqual([false, false, false]);
  expect([defaultAuthRequired("0.0.0.0"), defaultAuthRequired("10.1.2.3"), defaultAuthRequired("::")]).toEqual([true, true, true]);
});

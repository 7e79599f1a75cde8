import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { routeTable } from "../src/http/server.ts";
import { RECORD_BATCH_MEDIA_TYPE } from "../src/http/request.ts";
import { acl, basic, bearer, credentialStoreOf } from "./helpers/auth.ts";
import { type BrokerProcess, cleanupAll, makeTempDir, startBrokerProcess } from "./helpers/broker-process.ts";
import { clusterSecretArgs, partitionFiles } from "./helpers/cluster.ts";

/**
 * Under --auth required (with a cluster secret, as in production), every
 * route of the route table is walked with no credentials, bad credentials
 * of every kind, and a user no ACL allows anything: none reaches or changes
 * data. The walk iterates routeTable itself, so a route added without a
 * case here fails the first test.
 */

afterAll(cleanupAll);

const PASSWORD = "correct-horse-battery";
let broker: BrokerProcess;
let revokedToken: string;
let expiredToken: string;
/** A token that works: a request to revoke it must be refused, and it must keep working. */
let liveTokenId: string;
let clusterId: string;

const headers = (name: string) => basic(name, PASSWORD);
const ADMIN = headers("admin");

beforeAll(async () => {
  const dataDir = await makeTempDir("gafka-auth-");
  const store = credentialStoreOf(dataDir);
  for (const user of ["admin", "nobody", "other"]) await store.addUser(user, PASSWORD);
  // Rights for someone else: none of them reaches `nobody`.
  for (const binding of [acl("other", "all", "topic", "*"), acl("other", "all", "group", "*"), acl("other", "all", "cluster", "kafka-cluster")]) await store.addAcl(binding);
  revokedToken = (await store.createToken("admin")).token;
  await store.revokeToken(revokedToken.split("_")[1]!);
  expiredToken = (await store.createToken("admin", { expiresInMs: 1 })).token;
  liveTokenId = (await store.createToken("admin")).info.id;
  broker = await startBrokerProcess({ dataDir, args: ["--auth=required", ...(await clusterSecretArgs())] });
  clusterId = ((await (await call("GET", "/healthz", {}, undefined, 200)).json()) as { cluster_id: string }).cluster_id;
  await call("POST", "/api/v1/topics", ADMIN, { name: "t", partitions: 2 }, 201);
  await call("POST", "/api/v1/topics", ADMIN, { name: "other", partitions: 1 }, 201);
  await call("POST", "/api/v1/produce", ADMIN, { topic: "t", records: [{ key: "k", value: "a" }, { value: "b" }, { value: "c" }] }, 200);
  await call("POST", "/api/v1/produce", ADMIN, { topic: "other", value: "x" }, 200);
  await call("POST", "/api/v1/consumer-groups/g/offsets", ADMIN, { offsets: [{ topic: "t", partition: 0, offset: 1 }] }, 200);
});

async function call(method: string, urlPath: string, auth: Record<string, string>, body?: unknown, expected?: number): Promise<Response> {
  const response = await fetch(`${broker.url}${urlPath}`, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...auth },
    body: body === undefined ? undefined : JSON.stringify(body),
    // A replication stream that was let in never ends: fail fast instead.
    signal: AbortSignal.timeout(10_000),
  });
  if (expected !== undefined && response.status !== expected) throw new Error(`${method} ${urlPath} answered ${response.status}: ${await response.text()}`);
  return response;
}

/** One request to a route: the concrete path (with query) and body, as a caller allowed to would send it. */
interface RouteCase {
  path: string;
  /** A function when it needs what the broker made at start (its cluster id). */
  body?: unknown;
  contentType?: string;
}

const SESSION = "0123456789abcdef0123456789abcdef";

/** Every route, by `METHOD path` of the route table: one or more requests that would act if allowed. */
const CASES: Record<string, RouteCase[]> = {
  "POST /api/v1/produce": [
    { path: "/api/v1/produce", body: { topic: "t", value: "intruder" } },
    { path: "/api/v1/produce?topic=t&partition=0", body: new Uint8Array(64), contentType: RECORD_BATCH_MEDIA_TYPE },
  ],
  "GET /api/v1/consume": [
    { path: "/api/v1/consume?topic=t&partition=0&offset=0" },
    { path: "/api/v1/consume?topic=t&group_id=g&consumer_id=m1" },
    { path: "/api/v1/consume?topic=unknown-topic&partition=0&offset=0" },
  ],
  "POST /api/v1/topics": [{ path: "/api/v1/topics", body: { name: "intruder", partitions: 1 } }],
  "GET /api/v1/topics": [{ path: "/api/v1/topics" }],
  "GET /api/v1/topics/{name}": [{ path: "/api/v1/topics/t" }, { path: "/api/v1/topics/unknown-topic" }],
  "DELETE /api/v1/topics/{name}": [{ path: "/api/v1/topics/t" }],
  "POST /api/v1/topics/{name}/delete-records": [{ path: "/api/v1/topics/t/delete-records", body: { partitions: [{ partition: 0, before: -1 }] } }],
  "POST /api/v1/topics/{name}/configs": [{ path: "/api/v1/topics/t/configs", body: { set: { "max.message.bytes": "1" }, delete: ["retention.ms"] } }],
  "GET /api/v1/consumer-groups": [{ path: "/api/v1/consumer-groups" }],
  "GET /api/v1/consumer-groups/{group}/status": [{ path: "/api/v1/consumer-groups/g/status" }],
  "DELETE /api/v1/consumer-groups/{group}": [{ path: "/api/v1/consumer-groups/g" }],
  "POST /api/v1/consumer-groups/{group}/members/{member}": [{ path: "/api/v1/consumer-groups/g/members/m1", body: { topics: ["t"] } }],
  "DELETE /api/v1/consumer-groups/{group}/members/{member}": [{ path: "/api/v1/consumer-groups/g/members/m1" }],
  "POST /api/v1/consumer-groups/{group}/members/{member}/heartbeat": [{ path: "/api/v1/consumer-groups/g/members/m1/heartbeat" }],
  "POST /api/v1/consumer-groups/{group}/offsets": [{ path: "/api/v1/consumer-groups/g/offsets", body: { offsets: [{ topic: "t", partition: 0, offset: 3 }] } }],
  "POST /api/v1/consumer-groups/{group}/offsets/reset": [{ path: "/api/v1/consumer-groups/g/offsets/reset", body: { topic: "t", to: "earliest" } }],
  "POST /api/v1/replication/stream": [{ path: "/api/v1/replication/stream", body: { follower_id: 7, address: "127.0.0.1:1", leader_epoch: 0, partitions: [] } }],
  "POST /api/v1/replication/ack": [{ path: "/api/v1/replication/ack", body: { follower_id: 7, session: SESSION, positions: [{ topic: "t", partition: 0, offset: 9_000_000 }] } }],
  "POST /api/v1/replication/leader": [{ path: "/api/v1/replication/leader", body: () => ({ leader_id: 666, leader_epoch: 9_000_000, address: "127.0.0.1:1", cluster_id: clusterId }) }],
  "POST /api/v1/replication/promote": [{ path: "/api/v1/replication/promote", body: { force: true, leader_dead: true } }],
  "GET /api/v1/replication/status": [{ path: "/api/v1/replication/status" }],
  "GET /healthz": [{ path: "/healthz" }],
  "GET /metrics": [{ path: "/metrics" }],
  "GET /api/v1/security/users": [{ path: "/api/v1/security/users" }],
  "POST /api/v1/security/users": [{ path: "/api/v1/security/users", body: { name: "intruder", password: PASSWORD } }],
  "DELETE /api/v1/security/users/{name}": [{ path: "/api/v1/security/users/admin" }],
  "POST /api/v1/security/users/{name}/password": [{ path: "/api/v1/security/users/admin/password", body: { password: "taken-over-password" } }],
  "GET /api/v1/security/tokens": [{ path: "/api/v1/security/tokens" }, { path: "/api/v1/security/tokens?user=admin" }],
  "POST /api/v1/security/tokens": [{ path: "/api/v1/security/tokens", body: { user: "admin" } }],
  "DELETE /api/v1/security/tokens/{id}": [{ path: "/api/v1/security/tokens/{live}", body: undefined }],
  "GET /api/v1/security/acls": [{ path: "/api/v1/security/acls" }],
  "POST /api/v1/security/acls": [
    { path: "/api/v1/security/acls", body: { principal: "User:nobody", resource_type: "cluster", resource_name: "kafka-cluster", pattern_type: "literal", operation: "all", permission: "allow" } },
  ],
  "POST /api/v1/security/acls/delete": [{ path: "/api/v1/security/acls/delete", body: {} }],
};

/** Routes whose answer to an authenticated principal without any ACL is 200 with an empty list (Kafka's way), and /healthz, open to all. */
const EMPTY_LIST_FOR_NO_ACL: Record<string, unknown> = {
  "GET /api/v1/topics": { topics: [] },
  "GET /api/v1/consumer-groups": { groups: [] },
};
const OPEN_ROUTES = new Set(["GET /healthz"]);

async function send(method: string, routeCase: RouteCase, auth: Record<string, string>): Promise<{ status: number; body: any; wwwAuthenticate: string | null }> {
  const body = typeof routeCase.body === "function" ? routeCase.body() : routeCase.body;
  const binary = body instanceof Uint8Array;
  const response = await fetch(`${broker.url}${routeCase.path.replace("{live}", liveTokenId)}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": routeCase.contentType ?? "application/json" }),
      ...auth,
    },
    body: body === undefined ? undefined : binary ? (body as Uint8Array) : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let answer: any = text;
  try {
    answer = JSON.parse(text);
  } catch {}
  return { status: response.status, body: answer, wwwAuthenticate: response.headers.get("www-authenticate") };
}

/** What must not change: the logs' bytes, topics, groups and their committed offsets, users/ACLs, the replication role. */
async function dataSnapshot() {
  const readJson = async (urlPath: string): Promise<any> => (await call("GET", urlPath, ADMIN, undefined, 200)).json();
  return {
    files: [...partitionFiles(broker.dataDir)],
    topics: await readJson("/api/v1/topics"),
    groups: await readJson("/api/v1/consumer-groups"),
    group: await readJson("/api/v1/consumer-groups/g/status"),
    records: await readJson("/api/v1/consume?topic=t&partition=0&offset=0&count=100"),
    security: readFileSync(path.join(broker.dataDir, "security.json"), "utf8"),
    replication: readFileSync(path.join(broker.dataDir, "replication.json"), "utf8"),
  };
}

test("every route under --auth required: 401 without or with bad credentials, 403 (or an empty list) without an ACL, and nothing changes", async () => {
  const missing = routeTable.map(({ method, path }) => `${method} ${path}`).filter((key) => CASES[key] === undefined);
  expect(missing).toEqual([]); // a new route needs its case here
  expect(Object.keys(CASES).length).toBe(routeTable.length);

  const before = await dataSnapshot();
  expect(before.records.records.length).toBeGreaterThan(0);
  const badCredentials: Record<string, Record<string, string>> = {
    "wrong password": basic("admin", "not-the-password"),
    "unknown user": basic("mallory", PASSWORD),
    "malformed Basic": { authorization: "Basic !!!" },
    "malformed token": bearer("gafka_not-a-token"),
    "revoked token": bearer(revokedToken),
    "expired token": bearer(expiredToken),
    "unknown scheme": { authorization: "Digest username=admin" },
  };
  const seen: unknown[] = [];
  const expected: unknown[] = [];
  for (const { method, path: routePath } of routeTable) {
    const key = `${method} ${routePath}`;
    for (const routeCase of CASES[key]!) {
      const anonymous = await send(method, routeCase, {});
      seen.push({ key, case: routeCase.path, who: "anonymous", status: anonymous.status, challenged: anonymous.wwwAuthenticate !== null });
      expected.push({ key, case: routeCase.path, who: "anonymous", status: OPEN_ROUTES.has(key) ? 200 : 401, challenged: !OPEN_ROUTES.has(key) });
      for (const [who, auth] of Object.entries(badCredentials)) {
        const answer = await send(method, routeCase, auth);
        seen.push({ key, case: routeCase.path, who, status: answer.status, code: answer.body?.error?.code });
        expected.push({ key, case: routeCase.path, who, status: 401, code: "unauthenticated" });
      }
      const noAcl = await send(method, routeCase, headers("nobody"));
      if (OPEN_ROUTES.has(key) || key in EMPTY_LIST_FOR_NO_ACL) {
        seen.push({ key, case: routeCase.path, who: "nobody", status: noAcl.status, body: OPEN_ROUTES.has(key) ? undefined : noAcl.body });
        expected.push({ key, case: routeCase.path, who: "nobody", status: 200, body: EMPTY_LIST_FOR_NO_ACL[key] });
      } else {
        seen.push({ key, case: routeCase.path, who: "nobody", status: noAcl.status, code: noAcl.body?.error?.code });
        expected.push({ key, case: routeCase.path, who: "nobody", status: 403, code: "forbidden" });
      }
    }
  }
  expect(seen).toEqual(expected);
  expect(await dataSnapshot()).toEqual(before);
});

test("/healthz stays open under --auth required; a super user reaches every other route", async () => {
  expect((await send("GET", { path: "/healthz" }, {})).body.status).toBe("ok");
  expect((await call("GET", "/metrics", ADMIN)).status).toBe(200);
  expect((await call("GET", "/api/v1/replication/status", ADMIN)).status).toBe(200);
  expect((await call("GET", "/api/v1/topics/t", ADMIN)).status).toBe(200);
});

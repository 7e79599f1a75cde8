import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, makeTempDir, runCli, type BrokerProcess, type CliResult } from "./helpers/broker-process.ts";
import { startFollower, startLeader } from "./helpers/cluster.ts";
import { getJson, postJson } from "./helpers/http.ts";

/**
 * `gafka admin users|tokens|acls` against real broker processes (no
 * authentication is enforced yet: anonymous may do everything in the open
 * mode). Each command's effect is checked through the HTTP API and in
 * security.json after a restart; a follower refuses changes; bad input
 * changes nothing; the CLI sends the credentials it is given.
 */

let leader: BrokerProcess;
let follower: BrokerProcess;

beforeAll(async () => {
  leader = await startLeader();
  follower = await startFollower(leader, 2);
});
afterAll(cleanupAll);

async function cli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<string> {
  const result = await runCli(["admin", ...args, "--broker", leader.hostPort], options);
  expectSuccess(result, args);
  return result.stdout;
}

function expectSuccess(result: CliResult, args: string[]): void {
  if (result.exitCode !== 0 || result.timedOut) throw new Error(`${args.join(" ")}: exit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

function securityFile(broker: BrokerProcess): any {
  return JSON.parse(readFileSync(path.join(broker.dataDir, "security.json"), "utf8"));
}

async function deleteJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: "DELETE" });
  return { status: response.status, body: await response.json() };
}

test("every admin users|tokens|acls subcommand changes the store as the HTTP API and security.json show, durably", async () => {
  const passwordFile = path.join(await makeTempDir("gafka-security-cli-"), "carol.pw");
  await Bun.write(passwordFile, "carol-password\n");
  expect(await cli(["users", "add", "--name", "alice"], { stdin: "alice-password\n" })).toContain("added user alice");
  await cli(["users", "add", "--name", "bob"], { env: { GAFKA_NEW_PASSWORD: "bob-password" } });
  await cli(["users", "add", "--name", "carol", "--new-password-file", passwordFile, "--iterations", "8192"]);
  const listed = JSON.parse(await cli(["users", "list", "--json"]));
  expect(listed.map((user: any) => user.name)).toEqual(["alice", "bob", "carol"]);
  expect(listed[2].mechanisms).toEqual([{ mechanism: "SCRAM-SHA-256", iterations: 8192 }, { mechanism: "SCRAM-SHA-512", iterations: 8192 }]);
  expect(await cli(["users", "list"])).toMatch(/USER\s+MECHANISMS/);

  const bobKey = () => securityFile(leader).users.find((user: any) => user.name === "bob").scram[0].stored_key;
  const bobKeyBefore = bobKey();
  await cli(["users", "passwd", "--name", "bob"], { stdin: "bob-password-2" });
  expect(bobKey()).not.toBe(bobKeyBefore);

  const aliceToken = (await cli(["tokens", "create", "--owner", "alice", "--expires-in", "24h", "--description", "ci"])).trim();
  expect(aliceToken).toMatch(/^gafka_[0-9a-f]{16}_[0-9a-f]{64}$/);
  const bobToken = JSON.parse(await cli(["tokens", "create", "--owner", "bob", "--json"]));
  const tokens = JSON.parse(await cli(["tokens", "list", "--json"]));
  expect(tokens.map((token: any) => [token.user, token.description, token.expires_at === null])).toEqual([["alice", "ci", false], ["bob", "", true]]);
  expect(JSON.stringify(tokens)).not.toContain(aliceToken.slice(-64));
  expect(await cli(["tokens", "revoke", "--id", bobToken.id])).toContain(`revoked token ${bobToken.id}`);
  expect((await getJson(`${leader.url}/api/v1/security/tokens?user=bob`)).body.tokens).toEqual([]);

  await cli(["acls", "add", "--principal", "User:alice", "--operation", "read,describe", "--topic", "orders", "--prefixed"]);
  await cli(["acls", "add", "--principal", "User:bob", "--operation", "read", "--group", "g1", "--deny"]);
  expect(await cli(["acls", "add", "--principal", "User:carol", "--operation", "alter", "--cluster"])).toContain("User:carol may alter the cluster");
  expect(await cli(["acls", "add", "--principal", "User:carol", "--operation", "alter", "--cluster"])).toContain("already there");
  expect(JSON.parse(await cli(["acls", "list", "--principal", "User:alice", "--json"]))).toHaveLength(2);
  const removed = JSON.parse(await cli(["acls", "remove", "--principal", "User:bob", "--json"]));
  expect(removed).toEqual([{ principal: "User:bob", resource_type: "group", resource_name: "g1", pattern_type: "literal", operation: "read", permission: "deny" }]);
  expect(await cli(["users", "delete", "--name", "alice"])).toContain("deleted user alice and 1 token");

  const expected = {
    users: ["bob", "carol"],
    tokens: 0,
    acls: [
      { principal: "User:alice", resource_type: "topic", resource_name: "orders", pattern_type: "prefixed", operation: "read", permission: "allow" },
      { principal: "User:alice", resource_type: "topic", resource_name: "orders", pattern_type: "prefixed", operation: "describe", permission: "allow" },
      { principal: "User:carol", resource_type: "cluster", resource_name: "kafka-cluster", pattern_type: "literal", operation: "alter", permission: "allow" },
    ],
  };
  const current = async () => ({
    users: (await getJson(`${leader.url}/api/v1/security/users`)).body.users.map((user: any) => user.name),
    tokens: (await getJson(`${leader.url}/api/v1/security/tokens`)).body.tokens.length,
    acls: (await getJson(`${leader.url}/api/v1/security/acls`)).body.acls,
  });
  expect(await current()).toEqual(expected);
  await leader.restart();
  expect(await current()).toEqual(expected);
  const file = readFileSync(path.join(leader.dataDir, "security.json"), "utf8");
  for (const secret of ["alice-password", "bob-password", "carol-password", aliceToken.slice(-64)]) expect(file).not.toContain(secret);
  expect(securityFile(leader).users.map((user: any) => user.name)).toEqual(["bob", "carol"]);
});

test("a follower answers a change with 421 not_leader and changes nothing; the CLI follows it to the leader", async () => {
  const answer = await postJson(`${follower.url}/api/v1/security/users`, { name: "dave", password: "dave-password" });
  expect(answer.status).toBe(421);
  expect(answer.body.error.code).toBe("not_leader");
  expect((await deleteJson(`${follower.url}/api/v1/security/users/bob`)).status).toBe(421);
  expect((await postJson(`${follower.url}/api/v1/security/acls/delete`, {})).status).toBe(421);
  const followerUsers = await getJson(`${follower.url}/api/v1/security/users`);
  expect(followerUsers.status).toBe(200);
  expect(followerUsers.body.users.map((user: any) => user.name)).not.toContain("dave");
  const result = await runCli(["admin", "users", "add", "--name", "dave", "--broker", follower.hostPort], { env: { GAFKA_NEW_PASSWORD: "dave-password" } });
  expectSuccess(result, ["users add via the follower"]);
  expect((await getJson(`${leader.url}/api/v1/security/users`)).body.users.map((user: any) => user.name)).toContain("dave");
});

test("bad input answers 400 with the JSON error and changes nothing", async () => {
  const version = securityFile(leader).state_version;
  const bad: [string, string, unknown][] = [
    ["POST", "/api/v1/security/users", { name: "erin" }],
    ["POST", "/api/v1/security/users", { name: "erin", password: "short" }],
    ["POST", "/api/v1/security/users", { name: "no spaces", password: "long-enough" }],
    ["POST", "/api/v1/security/users", { name: "erin", password: "long-enough", iterations: 1 }],
    ["POST", "/api/v1/security/users", { name: "erin", password: "long-enough", pasword: "typo" }],
    ["POST", "/api/v1/security/users/bob/password", { password: 12345678 }],
    ["POST", "/api/v1/security/tokens", { user: "bob", expires_in: "forever" }],
    ["POST", "/api/v1/security/tokens", { user: "bob", expires_in: -5 }],
    ["POST", "/api/v1/security/tokens", { user: "bob", description: 7 }],
    ["POST", "/api/v1/security/acls", { principal: "alice", resource_type: "topic", resource_name: "t", pattern_type: "literal", operation: "read", permission: "allow" }],
    ["POST", "/api/v1/security/acls", { principal: "User:alice", resource_type: "topic", resource_name: "t", pattern_type: "literal", operation: "fly", permission: "allow" }],
    ["POST", "/api/v1/security/acls", { principal: "User:alice", resource_type: "cluster", resource_name: "t", pattern_type: "literal", operation: "alter", permission: "allow" }],
    ["POST", "/api/v1/security/acls/delete", { operation: "fly" }],
    ["POST", "/api/v1/security/acls/delete", { resource: "t" }],
    ["GET", "/api/v1/security/acls?operation=fly", undefined],
    ["GET", "/api/v1/security/tokens?owner=bob", undefined],
  ];
  for (const [method, route, body] of bad) {
    const response = await fetch(`${leader.url}${route}`, {
      method,
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const json: any = await response.json();
    expect({ route, body, status: response.status, code: json.error?.code }).toEqual({ route, body, status: 400, code: "invalid_request" });
    expect(typeof json.error.message).toBe("string");
  }
  expect((await postJson(`${leader.url}/api/v1/security/users`, { name: "bob", password: "long-enough" })).body.error.code).toBe("user_exists");
  expect((await deleteJson(`${leader.url}/api/v1/security/users/nobody`)).body.error.code).toBe("user_not_found");
  expect((await deleteJson(`${leader.url}/api/v1/security/tokens/0000000000000000`)).body.error.code).toBe("token_not_found");
  expect(securityFile(leader).state_version).toBe(version);
  // The CLI refuses a remove that names nothing before it reaches the broker.
  const wipe = await runCli(["admin", "acls", "remove", "--broker", leader.hostPort]);
  expect(wipe.exitCode).toBe(1);
  expect(wipe.stderr).toContain("--all");
  expect(securityFile(leader).acls.length).toBeGreaterThan(0);
});

test("the CLI sends --user/--password-file as Basic and GAFKA_TOKEN as Bearer", async () => {
  const seen: (string | null)[] = [];
  const recorder = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      seen.push(request.headers.get("authorization"));
      return Response.json(new URL(request.url).pathname === "/api/v1/topics" ? { topics: [] } : { users: [] });
    },
  });
  try {
    const passwordFile = path.join(await makeTempDir("gafka-security-cli-"), "alice.pw");
    await Bun.write(passwordFile, "alice-password\n");
    const address = `127.0.0.1:${recorder.port}`;
    expectSuccess(await runCli(["admin", "list-topics", "--broker", address, "--user", "alice", "--password-file", passwordFile]), ["list-topics"]);
    expectSuccess(await runCli(["admin", "users", "list", "--broker", address], { env: { GAFKA_TOKEN: "gafka_token_from_env" } }), ["users list"]);
    expect(seen).toEqual([`Basic ${Buffer.from("alice:alice-password").toString("base64")}`, "Bearer gafka_token_from_env"]);
  } finally {
    recorder.stop(true);
  }
});

import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { systemClock } from "../src/core/clock.ts";
import { CredentialStore, SECURITY_FILE_NAME } from "../src/security/credential-store.ts";
import { nodeFileSystem } from "../src/storage/file-system.ts";
import { cleanupAll, makeTempDir, startBrokerProcess } from "./helpers/broker-process.ts";
import { startFollower, status } from "./helpers/cluster.ts";
import { postJson, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

/**
 * The credential store (users, tokens, ACLs in security.json) replicates from
 * the leader to its followers over the replication stream. Changes made
 * through the store while a broker runs are covered in-process
 * (src/replication/security-replication.test.ts); here the leader starts
 * with a security.json made beforehand.
 */

const securityFile = (dataDir: string) => JSON.parse(readFileSync(path.join(dataDir, SECURITY_FILE_NAME), "utf8"));

/** A data dir whose security.json holds one user, one token and one ACL, plus `extraUsers` users (each a change). */
async function dataDirWithCredentials(user: string, extraUsers = 0): Promise<string> {
  const dataDir = await makeTempDir("gafka-security-");
  const store = CredentialStore.load(dataDir, nodeFileSystem, systemClock);
  await store.addUser(user, "password-1", { iterations: 4096 });
  await store.createToken(user, { description: "ci" });
  await store.addAcl({ principal: `User:${user}`, resourceType: "topic", resourceName: "orders", patternType: "literal", operation: "read", permission: "allow" });
  for (let i = 0; i < extraUsers; i++) await store.addUser(`${user}-${i}`, "password-1");
  return dataDir;
}

async function waitSameCredentials(leaderDir: string, followerDir: string): Promise<void> {
  const leaderState = JSON.stringify(securityFile(leaderDir));
  await waitFor(() => {
    try {
      return JSON.stringify(securityFile(followerDir)) === leaderState;
    } catch {
      return false;
    }
  }, "the follower to hold the leader's security.json");
}

test("a follower adopts the leader's users, tokens and ACLs, keeps them over a restart, and has them intact once promoted", async () => {
  const leader = await startBrokerProcess({ dataDir: await dataDirWithCredentials("alice"), args: ["--id=1", "--role=leader"] });
  const follower = await startFollower(leader, 2);
  await waitSameCredentials(leader.dataDir, follower.dataDir);
  const held = securityFile(follower.dataDir);
  expect(held).toMatchObject({ state_version: 3, users: [{ name: "alice" }], tokens: [{ user: "alice", description: "ci" }], acls: [{ principal: "User:alice" }] });
  expect(JSON.stringify(held)).not.toContain("password-1");
  expect((await status(leader)).security_version).toBe(3);
  expect((await status(follower)).security_version).toBe(3);
  expect(follower.stderr()).toContain("adopted the leader's version 3 (held 0)");

  await follower.restart();
  expect(securityFile(follower.dataDir)).toEqual(held);
  await waitFor(async () => (await status(follower)).replication?.connected === true, "the follower to reconnect");
  expect((await status(follower)).security_version).toBe(3);

  const promoted = await postJson(`${follower.url}/api/v1/replication/promote`, {});
  expect(promoted.status).toBe(200);
  const view = await status(follower);
  expect(view).toMatchObject({ role: "leader", security_version: 3 });
  expect(securityFile(follower.dataDir)).toEqual(held);
  // The former leader follows it now and holds the same state: nothing to adopt.
  await waitFor(async () => (await status(leader)).replication?.connected === true, "the former leader to follow");
  expect((await status(leader)).security_version).toBe(3);
  expect(securityFile(leader.dataDir)).toEqual(held);
});

test("a follower whose security.json is newer but different takes the leader's anyway", async () => {
  const leader = await startBrokerProcess({ dataDir: await dataDirWithCredentials("alice"), args: ["--id=1", "--role=leader"] });
  const followerDir = await dataDirWithCredentials("mallory", 4);
  expect(securityFile(followerDir).state_version).toBe(7);
  const follower = await startBrokerProcess({ dataDir: followerDir, args: ["--id=2", "--role=follower", `--leader=${leader.hostPort}`] });
  await waitSameCredentials(leader.dataDir, follower.dataDir);
  expect(securityFile(follower.dataDir)).toMatchObject({ state_version: 3, users: [{ name: "alice" }] });
  expect((await status(follower)).security_version).toBe(3);
  expect(follower.stderr()).toContain("adopted the leader's version 3 (held 7)");
});

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ManualClock } from "../core/manual-clock.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { AclBinding } from "./acl.ts";
import { CredentialStore, parseToken, SECURITY_FILE_NAME, tokenSecretSha256 } from "./credential-store.ts";
import { verifyPassword } from "./scram.ts";

let temp: { dir: string; remove: () => void };
let clock: ManualClock;
beforeEach(() => {
  temp = makeTempDir("gafka-credentials-");
  clock = new ManualClock();
});
afterEach(() => temp.remove());

const load = (fileSystem = nodeFileSystem) => CredentialStore.load(temp.dir, fileSystem, clock);
const fileText = () => fs.readFileSync(path.join(temp.dir, SECURITY_FILE_NAME), "utf8");

const readAlice: AclBinding = { principal: "User:alice", resourceType: "topic", resourceName: "orders", patternType: "literal", operation: "read", permission: "allow" };

describe("users", () => {
  test("addUser stores both SCRAM mechanisms; the password verifies and is nowhere in the file; a restart reads them back", async () => {
    const store = load();
    expect(store.version).toBe(0);
    await store.addUser("alice", "correct horse battery");
    expect(store.version).toBe(1);
    expect(store.listUsers()).toEqual([
      { name: "alice", mechanisms: [{ mechanism: "SCRAM-SHA-256", iterations: 4096 }, { mechanism: "SCRAM-SHA-512", iterations: 4096 }] },
    ]);
    expect(fileText()).not.toContain("correct horse");
    const reloaded = load();
    expect(reloaded.version).toBe(1);
    for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      expect(await verifyPassword(reloaded.scramCredential("alice", mechanism)!, "correct horse battery")).toBe(true);
    }
  });

  test("add refuses a taken name, passwd an unknown one; names, passwords and iterations are checked", async () => {
    const store = load();
    await store.addUser("alice", "password-1", { iterations: 8192 });
    expect(store.listUsers()[0].mechanisms[0].iterations).toBe(8192);
    await expect(store.addUser("alice", "password-2")).rejects.toMatchObject({ code: "user_exists" });
    await expect(store.setPassword("bob", "password-2")).rejects.toMatchObject({ code: "user_not_found" });
    for (const name of ["", "a:b", "a b", "a,b", "a=b", "*", "x".repeat(129)]) {
      await expect(store.addUser(name, "password-1")).rejects.toMatchObject({ code: "invalid_request" });
    }
    for (const password of ["short", "x".repeat(1025)]) await expect(store.addUser("bob", password)).rejects.toMatchObject({ code: "invalid_request" });
    await expect(store.addUser("bob", "password-1", { iterations: 1000 })).rejects.toMatchObject({ code: "invalid_request" });
    expect(store.version).toBe(1);
  });

  test("setPassword replaces both credentials with fresh salts", async () => {
    const store = load();
    await store.addUser("alice", "password-1");
    const before = store.scramCredential("alice", "SCRAM-SHA-256")!;
    await store.setPassword("alice", "password-2");
    const after = store.scramCredential("alice", "SCRAM-SHA-256")!;
    expect(Buffer.from(after.salt).equals(Buffer.from(before.salt))).toBe(false);
    expect(await verifyPassword(after, "password-2")).toBe(true);
    expect(await verifyPassword(store.scramCredential("alice", "SCRAM-SHA-512")!, "password-1")).toBe(false);
  });

  test("deleteUser removes the user and their tokens, not other users' tokens nor ACLs", async () => {
    const store = load();
    await store.addUser("alice", "password-1");
    await store.addUser("bob", "password-1");
    await store.createToken("alice");
    await store.createToken("alice");
    const bobs = await store.createToken("bob");
    await store.addAcl(readAlice);
    expect(await store.deleteUser("alice")).toBe(2);
    expect(store.listUsers().map((user) => user.name)).toEqual(["bob"]);
    expect(store.listTokens().map((token) => token.id)).toEqual([bobs.info.id]);
    expect(store.listAcls()).toEqual([readAlice]);
    await expect(store.deleteUser("alice")).rejects.toMatchObject({ code: "user_not_found" });
  });

  test("upsertScramCredential sets one mechanism, creating the user when missing", async () => {
    const source = load();
    await source.addUser("alice", "password-1");
    const other = makeTempDir();
    try {
      const store = CredentialStore.load(other.dir, nodeFileSystem, clock);
      await store.upsertScramCredential("alice", source.scramCredential("alice", "SCRAM-SHA-512")!);
      expect(store.listUsers()).toEqual([{ name: "alice", mechanisms: [{ mechanism: "SCRAM-SHA-512", iterations: 4096 }] }]);
      expect(store.scramCredential("alice", "SCRAM-SHA-256")).toBeUndefined();
    } finally {
      other.remove();
    }
  });
});

describe("tokens", () => {
  test("a token is shown once, stored as the SHA-256 of its secret, and listed without it", async () => {
    const store = load();
    await store.addUser("alice", "password-1");
    const { token, info } = await store.createToken("alice", { expiresInMs: 60_000, description: "ci" });
    const parsed = parseToken(token)!;
    expect(parsed.id).toBe(info.id);
    expect(parsed.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(info).toEqual({ id: parsed.id, user: "alice", createdAtMs: clock.nowMs(), expiresAtMs: clock.nowMs() + 60_000, description: "ci" });
    expect(store.listTokens()).toEqual([info]);
    expect(Buffer.from(store.token(parsed.id)!.secretSha256).equals(Buffer.from(tokenSecretSha256(parsed.secret)))).toBe(true);
    expect(fileText()).not.toContain(parsed.secret);
    expect(load().token(parsed.id)).toEqual(store.token(parsed.id)!);
  });

  test("revoke removes it; unknown ids and users, bad lifetimes and descriptions are refused", async () => {
    const store = load();
    await store.addUser("alice", "password-1");
    const { info } = await store.createToken("alice");
    expect(info.expiresAtMs).toBeNull();
    await store.revokeToken(info.id);
    expect(store.listTokens()).toEqual([]);
    await expect(store.revokeToken(info.id)).rejects.toMatchObject({ code: "token_not_found" });
    await expect(store.createToken("bob")).rejects.toMatchObject({ code: "user_not_found" });
    for (const expiresInMs of [0, -1, 1.5, 11 * 365 * 24 * 3600 * 1000]) {
      await expect(store.createToken("alice", { expiresInMs })).rejects.toMatchObject({ code: "invalid_request" });
    }
    await expect(store.createToken("alice", { description: "x".repeat(257) })).rejects.toMatchObject({ code: "invalid_request" });
  });

  test("expired tokens are dropped when a new one is made", async () => {
    const store = load();
    await store.addUser("alice", "password-1");
    const old = await store.createToken("alice", { expiresInMs: 1000 });
    clock.advance(1000);
    const fresh = await store.createToken("alice");
    expect(store.listTokens().map((token) => token.id)).toEqual([fresh.info.id]);
    expect(store.token(old.info.id)).toBeUndefined();
  });

  test("parseToken takes only the shape createToken gives", () => {
    expect(parseToken(`gafka_0123456789abcdef_${"a".repeat(64)}`)).toEqual({ id: "0123456789abcdef", secret: "a".repeat(64) });
    for (const token of ["", "gafka_", `gafka_0123456789abcdef_${"a".repeat(63)}`, `gafka_0123456789ABCDEF_${"a".repeat(64)}`, `x${"a".repeat(80)}`]) {
      expect(parseToken(token)).toBeUndefined();
    }
  });
});

describe("ACLs", () => {
  test("add is idempotent, list and remove take Kafka-style filters", async () => {
    const store = load();
    const writeAlice: AclBinding = { ...readAlice, operation: "write" };
    const denyAll: AclBinding = { principal: "User:*", resourceType: "group", resourceName: "*", patternType: "literal", operation: "all", permission: "deny" };
    expect(await store.addAcl(readAlice)).toBe(true);
    expect(await store.addAcl({ ...readAlice })).toBe(false);
    await store.addAcl(writeAlice);
    await store.addAcl(denyAll);
    expect(store.version).toBe(3);
    expect(store.listAcls({ principal: "User:alice" })).toEqual([readAlice, writeAlice]);
    expect(await store.removeAcls(readAlice)).toEqual([readAlice]);
    expect(await store.removeAcls(readAlice)).toEqual([]);
    expect(store.version).toBe(4);
    expect(await store.removeAcls({ resourceType: "group" })).toEqual([denyAll]);
    expect(load().listAcls()).toEqual([writeAlice]);
    expect(await store.removeAcls({})).toEqual([writeAlice]);
  });

  test("every field of a binding is checked", async () => {
    const store = load();
    const bad: Record<string, unknown>[] = [
      { ...readAlice, principal: "alice" },
      { ...readAlice, principal: "Group:x" },
      { ...readAlice, principal: "User:a:b" },
      { ...readAlice, principal: "Broker:1" },
      { ...readAlice, resourceType: "broker" },
      { ...readAlice, resourceName: "" },
      { ...readAlice, resourceName: "a/b" },
      { ...readAlice, resourceName: "*", patternType: "prefixed" },
      { ...readAlice, resourceType: "cluster", resourceName: "orders" },
      { ...readAlice, patternType: "match" },
      { ...readAlice, operation: "idempotent_write" },
      { ...readAlice, permission: "maybe" },
      { ...readAlice, extra: 1 },
      { principal: "User:alice" },
    ];
    for (const binding of bad) await expect(store.addAcl(binding as unknown as AclBinding)).rejects.toMatchObject({ code: "invalid_request" });
    await expect(store.removeAcls({ operation: "everything" } as never)).rejects.toMatchObject({ code: "invalid_request" });
    expect(await store.addAcl({ ...readAlice, principal: "User:*", resourceName: "ord", patternType: "prefixed" })).toBe(true);
    expect(await store.addAcl({ principal: "User:ops", resourceType: "cluster", resourceName: "kafka-cluster", patternType: "literal", operation: "alter", permission: "allow" })).toBe(true);
  });
});

describe("durability and replication", () => {
  test("snapshot holds keys and hashes only; adopt replaces the whole state durably, version included", async () => {
    const leader = load();
    await leader.addUser("alice", "password-1");
    const { token } = await leader.createToken("alice");
    await leader.addAcl(readAlice);
    const snapshot = leader.snapshot();
    const text = JSON.stringify(snapshot);
    expect(text).not.toContain("password-1");
    expect(text).not.toContain(parseToken(token)!.secret);

    const followerDir = makeTempDir();
    try {
      const follower = CredentialStore.load(followerDir.dir, nodeFileSystem, clock);
      await follower.addUser("stale", "password-1");
      await follower.adopt(JSON.parse(text));
      expect(follower.version).toBe(leader.version);
      expect(follower.snapshot()).toEqual(snapshot);
      const reloaded = CredentialStore.load(followerDir.dir, nodeFileSystem, clock);
      expect(reloaded.snapshot()).toEqual(snapshot);
      expect(await verifyPassword(reloaded.scramCredential("alice", "SCRAM-SHA-256")!, "password-1")).toBe(true);

      await expect(follower.adopt({ ...snapshot, users: [{ name: "a:b", scram: [] }] })).rejects.toMatchObject({ code: "invalid_request" });
      await expect(follower.adopt({ ...snapshot, tokens: [{ ...snapshot.tokens[0], user: "nobody" }] })).rejects.toMatchObject({ code: "invalid_request" });
      await expect(follower.adopt({ ...snapshot, version: 2 })).rejects.toMatchObject({ code: "invalid_request" });
      expect(follower.snapshot()).toEqual(snapshot);
    } finally {
      followerDir.remove();
    }
  });

  test("onChange fires once per durable change, adopt included, never for a failed or empty one", async () => {
    const faulty = new FaultyFileSystem();
    const store = load(faulty);
    const seen: number[] = [];
    const stop = store.onChange(() => seen.push(load().version));
    await store.addUser("alice", "password-1");
    await store.addAcl(readAlice);
    expect(await store.addAcl(readAlice)).toBe(false);
    expect(await store.removeAcls({ principal: "User:nobody" })).toEqual([]);
    faulty.pathFault = (operation) => (operation === "writeFileAtomic" ? "ENOSPC" : undefined);
    await expect(store.deleteUser("alice")).rejects.toMatchObject({ code: "storage_full" });
    faulty.pathFault = undefined;
    await store.adopt({ ...store.snapshot(), state_version: 9 });
    // Each call saw the change already on disk.
    expect(seen).toEqual([1, 2, 9]);
    stop();
    await store.deleteUser("alice");
    expect(seen).toEqual([1, 2, 9]);
  });

  test("a failed write changes nothing and says so (503); the next change goes through", async () => {
    const faulty = new FaultyFileSystem();
    const store = load(faulty);
    await store.addUser("alice", "password-1");
    faulty.pathFault = (operation) => (operation === "writeFileAtomic" ? "ENOSPC" : undefined);
    await expect(store.addAcl(readAlice)).rejects.toMatchObject({ code: "storage_full", retriable: true });
    await expect(store.deleteUser("alice")).rejects.toMatchObject({ code: "storage_full" });
    expect(store.version).toBe(1);
    expect(store.listAcls()).toEqual([]);
    expect(store.listUsers().length).toBe(1);
    faulty.pathFault = undefined;
    await store.addAcl(readAlice);
    expect(load().version).toBe(2);
  });

  test("concurrent changes apply one after another, each a version", async () => {
    const store = load();
    await Promise.all(["a", "b", "c", "d"].map((name) => store.addUser(name, "password-1")));
    expect(store.version).toBe(4);
    expect(load().listUsers().map((user) => user.name).sort()).toEqual(["a", "b", "c", "d"]);
  });

  test("a damaged security.json is a clear error naming the file", () => {
    const filePath = path.join(temp.dir, SECURITY_FILE_NAME);
    for (const body of ["{not json", '{"version": 9}', '{"version":1,"state_version":1,"users":[{"name":"x"}],"tokens":[],"acls":[]}', "\xff"]) {
      fs.writeFileSync(filePath, body);
      expect(() => load()).toThrow(`${filePath} is damaged`);
    }
  });
});

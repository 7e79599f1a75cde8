import { afterEach, beforeEach, expect, test } from "bun:test";
import { GafkaError } from "../core/errors.ts";
import { ManualClock } from "../core/manual-clock.ts";
import type { AclBinding } from "../security/acl.ts";
import { CredentialStore } from "../security/credential-store.ts";
import type { Operation, Resource } from "../security/operations.ts";
import { ANONYMOUS, type Principal, userPrincipal } from "../security/principal.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { SecurityAdmin } from "./security-admin.ts";
import { WriteGate, type WriteGuard } from "./write-gate.ts";

let temp: { dir: string; remove: () => void };
let store: CredentialStore;
let gate: WriteGate;
let admin: SecurityAdmin;
/** What the policy was asked, as `operation principal`. */
let asked: string[];

beforeEach(() => {
  temp = makeTempDir("gafka-security-admin-");
  store = CredentialStore.load(temp.dir, nodeFileSystem, new ManualClock());
  gate = new WriteGate();
  asked = [];
  gate.setPolicy({
    check: (principal: Principal, operation: Operation, resource: Resource) => {
      asked.push(`${operation} ${principal.kind} ${resource.kind}`);
      if (principal.kind === "user" && principal.name === "mallory") throw new GafkaError("forbidden", "no");
    },
    allows: () => true,
    checkAuthenticated: () => {},
  });
  admin = new SecurityAdmin(store, gate);
});
afterEach(() => temp.remove());

const readOrders: AclBinding = { principal: "User:alice", resourceType: "topic", resourceName: "orders", patternType: "literal", operation: "read", permission: "allow" };

/** A guard that refuses every write, as a follower's does. */
const followerGuard: WriteGuard = {
  admitWrite: () => {
    throw new GafkaError("not_leader", "this broker is a follower");
  },
  checkLease: () => {},
  checkAppend: () => {},
  settle: async () => {},
};

test("changes ask the gate for alter_security, listings for describe_security, both on the cluster", async () => {
  await admin.addUser(ANONYMOUS, "bob", "password-1");
  await admin.addUser(ANONYMOUS, "alice", "password-1");
  await admin.setPassword(ANONYMOUS, "alice", "password-2");
  const { info } = await admin.createToken(ANONYMOUS, "alice", { description: "ci" });
  expect(await admin.addAcl(ANONYMOUS, readOrders)).toBe(true);
  expect(admin.listUsers(ANONYMOUS).map((user) => user.name)).toEqual(["alice", "bob"]);
  expect(admin.listTokens(ANONYMOUS).map((token) => token.id)).toEqual([info.id]);
  expect(admin.listAcls(ANONYMOUS, { principal: "User:alice" })).toEqual([readOrders]);
  expect(await admin.removeAcls(ANONYMOUS, { resourceName: "orders" })).toEqual([readOrders]);
  await admin.revokeToken(ANONYMOUS, info.id);
  expect(await admin.deleteUser(ANONYMOUS, "bob")).toBe(0);
  const writes = asked.filter((line) => line.startsWith("alter_security"));
  expect(writes).toHaveLength(8);
  expect(asked.filter((line) => line.startsWith("describe_security"))).toHaveLength(3);
  expect(new Set(asked.map((line) => line.split(" ").slice(1).join(" ")))).toEqual(new Set(["anonymous cluster"]));
});

test("a principal the policy refuses changes nothing and sees nothing", async () => {
  const mallory = userPrincipal("mallory");
  await expect(admin.addUser(mallory, "eve", "password-1")).rejects.toMatchObject({ code: "forbidden" });
  expect(() => admin.listUsers(mallory)).toThrow(expect.objectContaining({ code: "forbidden" }));
  expect(store.version).toBe(0);
});

test("a follower refuses every change with not_leader (the store replicates from the leader alone) and still lists", async () => {
  await admin.addUser(ANONYMOUS, "alice", "password-1");
  gate.setGuard(followerGuard);
  const version = store.version;
  await expect(admin.addUser(ANONYMOUS, "bob", "password-1")).rejects.toMatchObject({ code: "not_leader" });
  await expect(admin.deleteUser(ANONYMOUS, "alice")).rejects.toMatchObject({ code: "not_leader" });
  await expect(admin.setPassword(ANONYMOUS, "alice", "password-2")).rejects.toMatchObject({ code: "not_leader" });
  await expect(admin.createToken(ANONYMOUS, "alice")).rejects.toMatchObject({ code: "not_leader" });
  await expect(admin.revokeToken(ANONYMOUS, "0000000000000000")).rejects.toMatchObject({ code: "not_leader" });
  await expect(admin.addAcl(ANONYMOUS, readOrders)).rejects.toMatchObject({ code: "not_leader" });
  await expect(admin.removeAcls(ANONYMOUS, {})).rejects.toMatchObject({ code: "not_leader" });
  expect(store.version).toBe(version);
  expect(admin.listUsers(ANONYMOUS).map((user) => user.name)).toEqual(["alice"]);
});

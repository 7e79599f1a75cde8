/**
 * What authenticating a request costs: PBKDF2 at the default 4096
 * iterations (what a SCRAM login or an uncached HTTP Basic check pays),
 * a Basic check answered from the verifier's cache (what every later
 * request with the same header pays), a bearer token check, and the whole
 * per-request price under --auth required: the cached Basic check through
 * the Authenticator plus the Authorizer's check against 100 ACLs.
 * Run alone with `bun bench/auth.bench.ts`, or through bench/run.ts.
 */
import { pbkdf2Sync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, do_not_optimize, group, run } from "mitata";
import { systemClock } from "../src/core/clock.ts";
import { nodeFileSystem } from "../src/storage/file-system.ts";
import { BasicVerifier } from "../src/security/basic-verifier.ts";
import { BearerVerifier } from "../src/security/bearer-verifier.ts";
import { CredentialStore } from "../src/security/credential-store.ts";
import { Authenticator } from "../src/security/authenticator.ts";
import { Authorizer } from "../src/security/authorizer.ts";
import type { AclBinding } from "../src/security/acl.ts";
import { OPEN_POLICY } from "../src/security/access-policy.ts";
import { userPrincipal } from "../src/security/principal.ts";
import { createScramCredential, verifyPassword } from "../src/security/scram.ts";

const PASSWORD = "correct horse battery staple";
const salt = crypto.getRandomValues(new Uint8Array(32));

group("PBKDF2, 4096 iterations (one SCRAM login or uncached Basic check)", () => {
  bench("pbkdf2Sync sha256", () => do_not_optimize(pbkdf2Sync(PASSWORD, salt, 4096, 32, "sha256")));
  bench("pbkdf2Sync sha512", () => do_not_optimize(pbkdf2Sync(PASSWORD, salt, 4096, 64, "sha512")));
});

const sha256 = await createScramCredential("SCRAM-SHA-256", PASSWORD);
group("verifyPassword (PBKDF2 on the thread pool)", () => {
  bench("SCRAM-SHA-256, 4096 iterations", async () => do_not_optimize(await verifyPassword(sha256, PASSWORD)));
});

const dataDir = mkdtempSync(join(tmpdir(), "gafka-auth-bench-"));
process.on("exit", () => rmSync(dataDir, { recursive: true, force: true }));
const store = CredentialStore.load(dataDir, nodeFileSystem, systemClock);
await store.addUser("alice", PASSWORD);
const { token } = await store.createToken("alice");
const basic = new BasicVerifier(store, systemClock);
const bearer = new BearerVerifier(store, systemClock);
const header = Buffer.from(`alice:${PASSWORD}`).toString("base64");
await basic.verify(header);

group("per request", () => {
  bench("Basic, remembered success", () => do_not_optimize(basic.verify(header)));
  bench("Bearer token", () => do_not_optimize(bearer.verify(token)));
});

/**
 * 100 ACLs, 99 of them about other users and topics, the one that lets
 * alice write `orders` last: every check scans them all (the worst case of
 * the linear match).
 */
const acls: AclBinding[] = Array.from({ length: 99 }, (_, index) => ({
  principal: `User:user-${index}`,
  resourceType: index % 2 === 0 ? "topic" : "group",
  resourceName: `resource-${index}`,
  patternType: index % 3 === 0 ? "prefixed" : "literal",
  operation: "read",
  permission: "allow",
}));
acls.push({ principal: "User:alice", resourceType: "topic", resourceName: "orders", patternType: "literal", operation: "write", permission: "allow" });
const authorizer = new Authorizer({ authRequired: true, peersAuthenticated: true, superUsers: ["User:admin"], acls: () => acls });
const offAuthorizer = new Authorizer({ authRequired: false, peersAuthenticated: false, superUsers: ["User:admin"], acls: () => acls });
const authenticator = new Authenticator({ basic, bearer });
const authorization = `Basic ${header}`;
const request = { method: "POST", path: "/api/v1/produce" };
const orders = { kind: "topic", name: "orders" } as const;
const alice = userPrincipal("alice");
if (!authorizer.allows(alice, "produce", orders) || authorizer.allows(alice, "consume", orders)) throw new Error("the bench's ACLs do not say what they should");

group("per request under --auth required (100 ACLs)", () => {
  bench("OPEN_POLICY check (--auth off, the baseline)", () => do_not_optimize(OPEN_POLICY.check(alice, "produce", orders)));
  bench("Authorizer check, --auth off", () => do_not_optimize(offAuthorizer.check(alice, "produce", orders)));
  bench("Authorizer check, 100 ACLs", () => do_not_optimize(authorizer.check(alice, "produce", orders)));
  bench("Basic (remembered) + Authorizer check, 100 ACLs", () => {
    const principal = authenticator.authenticate(authorization, request);
    if (principal instanceof Promise) throw new Error("the Basic check should be remembered");
    authorizer.check(principal, "produce", orders);
    return do_not_optimize(principal);
  });
});

if (import.meta.main) await run();

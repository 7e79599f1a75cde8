/**
 * What authenticating a request costs: PBKDF2 at the default 4096
 * iterations (what a SCRAM login or an uncached HTTP Basic check pays),
 * a Basic check answered from the verifier's cache (what every later
 * request with the same header pays), and a bearer token check.
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

if (import.meta.main) await run();

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { Authenticator } from "./authenticator.ts";
import { BasicVerifier, decodeBasic } from "./basic-verifier.ts";
import { CredentialStore } from "./credential-store.ts";
import { userPrincipal } from "./principal.ts";
import type { ScramCredential, ScramMechanism } from "./scram.ts";

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`, "utf8").toString("base64");
const request = { method: "GET", path: "/api/v1/topics" };

let temp: { dir: string; remove: () => void };
let clock: ManualClock;
let store: CredentialStore;
beforeEach(async () => {
  temp = makeTempDir("gafka-basic-");
  clock = new ManualClock();
  store = CredentialStore.load(temp.dir, nodeFileSystem, clock);
  await store.addUser("alice", "pass:word:é");
});
afterEach(() => temp.remove());

async function failure(verifier: BasicVerifier, credentials: string): Promise<string> {
  try {
    await verifier.verify(credentials);
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaError);
    expect((error as GafkaError).code).toBe("unauthenticated");
    return (error as GafkaError).message;
  }
  throw new Error("expected a refusal");
}

/** Counts the look-ups each verification makes, so a test sees which ones were answered from the cache. */
function countingSource() {
  const lookups: string[] = [];
  return {
    lookups,
    scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
      lookups.push(user);
      return store.scramCredential(user, mechanism);
    },
  };
}

describe("BasicVerifier", () => {
  test("the right password is the user, through the Authenticator too; the password may hold colons and non-ASCII", async () => {
    const verifier = new BasicVerifier(store, clock);
    expect(await verifier.verify(basic("alice", "pass:word:é"))).toEqual(userPrincipal("alice"));
    const authenticator = new Authenticator({ basic: verifier });
    expect(await authenticator.authenticate(`Basic ${basic("alice", "pass:word:é")}`, request)).toEqual(userPrincipal("alice"));
  });

  test("a wrong password and an unknown user fail alike", async () => {
    const verifier = new BasicVerifier(store, clock);
    const wrongPassword = await failure(verifier, basic("alice", "pass:word"));
    const unknownUser = await failure(verifier, basic("mallory", "pass:word:é"));
    expect(wrongPassword).toBe(unknownUser);
    expect(wrongPassword).not.toContain("alice");
    expect(verifier.cachedCount).toBe(0);
  });

  test("malformed credentials are refused: not base64, not UTF-8, no colon, an impossible name, too long", async () => {
    const verifier = new BasicVerifier(store, clock);
    const malformed = [
      "not base64!",
      Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString("base64"),
      Buffer.from("alice").toString("base64"),
      basic("", "x"),
      basic("a b", "password-1"),
      "A".repeat(limits.basicCredentialsLengthMax + 4),
      "",
    ];
    for (const credentials of malformed) await failure(verifier, credentials);
    expect(() => decodeBasic(basic("alice", ""))).not.toThrow();
    expect(decodeBasic(basic("alice", "a:b"))).toEqual({ user: "alice", password: "a:b" });
  });

  test("a success is remembered: the next request derives nothing, until the TTL passes", async () => {
    const source = countingSource();
    const verifier = new BasicVerifier(source, clock, { cacheTtlMs: 1000 });
    const credentials = basic("alice", "pass:word:é");
    await verifier.verify(credentials);
    expect(verifier.cachedCount).toBe(1);
    // A cached answer comes back without a promise: no PBKDF2 was awaited.
    expect(verifier.verify(credentials)).toEqual(userPrincipal("alice"));
    clock.advance(1000);
    const again = verifier.verify(credentials);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toEqual(userPrincipal("alice"));
  });

  test("a new password or a deleted user ends the remembered success at once", async () => {
    const verifier = new BasicVerifier(store, clock);
    const credentials = basic("alice", "pass:word:é");
    await verifier.verify(credentials);
    await store.setPassword("alice", "another password");
    await failure(verifier, credentials);
    expect(await verifier.verify(basic("alice", "another password"))).toEqual(userPrincipal("alice"));
    await store.deleteUser("alice");
    await failure(verifier, basic("alice", "another password"));
  });

  test("the cache is bounded: the oldest success goes first", async () => {
    await store.addUser("bob", "password-b");
    await store.addUser("carol", "password-c");
    const verifier = new BasicVerifier(store, clock, { cacheEntriesMax: 2 });
    await verifier.verify(basic("alice", "pass:word:é"));
    await verifier.verify(basic("bob", "password-b"));
    await verifier.verify(basic("carol", "password-c"));
    expect(verifier.cachedCount).toBe(2);
    expect(verifier.verify(basic("carol", "password-c"))).toEqual(userPrincipal("carol"));
    const evicted = verifier.verify(basic("alice", "pass:word:é"));
    expect(evicted).toBeInstanceOf(Promise);
    expect(await evicted).toEqual(userPrincipal("alice"));
  });

  test("identical checks at once share one derivation", async () => {
    const source = countingSource();
    const verifier = new BasicVerifier(source, clock);
    const credentials = basic("alice", "pass:word:é");
    const results = await Promise.all([verifier.verify(credentials), verifier.verify(credentials), verifier.verify(credentials)]);
    expect(results).toEqual([userPrincipal("alice"), userPrincipal("alice"), userPrincipal("alice")]);
    expect(source.lookups).toEqual(["alice"]);
  });
});

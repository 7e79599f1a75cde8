import { afterEach, beforeEach, expect, test } from "bun:test";
import { GafkaError } from "../core/errors.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { Authenticator } from "./authenticator.ts";
import { BearerVerifier } from "./bearer-verifier.ts";
import { CredentialStore, parseToken } from "./credential-store.ts";
import { userPrincipal } from "./principal.ts";

let temp: { dir: string; remove: () => void };
let clock: ManualClock;
let store: CredentialStore;
let verifier: BearerVerifier;
beforeEach(async () => {
  temp = makeTempDir("gafka-bearer-");
  clock = new ManualClock();
  store = CredentialStore.load(temp.dir, nodeFileSystem, clock);
  await store.addUser("alice", "password-1");
  verifier = new BearerVerifier(store, clock);
});
afterEach(() => temp.remove());

function refusal(credentials: string): string {
  try {
    verifier.verify(credentials);
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaError);
    expect((error as GafkaError).code).toBe("unauthenticated");
    return (error as GafkaError).message;
  }
  throw new Error("expected a refusal");
}

test("a token is its user's, through the Authenticator too", async () => {
  const { token } = await store.createToken("alice");
  expect(verifier.verify(token)).toEqual(userPrincipal("alice"));
  expect(await new Authenticator({ bearer: verifier }).authenticate(`Bearer ${token}`, { method: "GET", path: "/" })).toEqual(userPrincipal("alice"));
});

test("a wrong secret, an unknown id and a malformed token are refused", async () => {
  const { token } = await store.createToken("alice");
  const { id, secret } = parseToken(token)!;
  const otherSecret = secret.replace(/^./, (first) => (first === "0" ? "1" : "0"));
  expect(refusal(`gafka_${id}_${otherSecret}`)).toContain("not valid");
  expect(refusal(`gafka_0000000000000000_${secret}`)).toContain("not valid");
  for (const malformed of ["", "gafka_", token.slice(0, -1), `${token}x`, token.toUpperCase()]) expect(refusal(malformed)).toContain("malformed");
});

test("an expired token is refused from its expiry on", async () => {
  const { token } = await store.createToken("alice", { expiresInMs: 60_000 });
  clock.advance(59_999);
  expect(verifier.verify(token)).toEqual(userPrincipal("alice"));
  clock.advance(1);
  expect(refusal(token)).toContain("expired");
});

test("a revoked token, or one of a deleted user, is refused", async () => {
  const revoked = await store.createToken("alice");
  const kept = await store.createToken("alice");
  await store.revokeToken(revoked.info.id);
  expect(refusal(revoked.token)).toContain("not valid");
  expect(verifier.verify(kept.token)).toEqual(userPrincipal("alice"));
  await store.deleteUser("alice");
  expect(refusal(kept.token)).toContain("not valid");
});

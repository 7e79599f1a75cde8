import { describe, expect, test } from "bun:test";
import * as nodeCrypto from "node:crypto";
import { GafkaError } from "../core/errors.ts";
import { createScramCredential, type ScramCredential, type ScramMechanism, ScramServerExchange, verifyPassword } from "./scram.ts";

/** The exchange of RFC 7677 §3, byte for byte. */
const RFC = {
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

async function rfcCredential(): Promise<ScramCredential> {
  return createScramCredential("SCRAM-SHA-256", "pencil", { salt: Buffer.from(RFC.salt, "base64"), iterations: 4096 });
}

function lookupOf(users: Record<string, ScramCredential>) {
  return (user: string, mechanism: ScramMechanism) => (Object.hasOwn(users, user) && users[user].mechanism === mechanism ? users[user] : undefined);
}

function scramErrorOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaError);
    expect((error as GafkaError).code).toBe("unauthenticated");
    return (error as GafkaError).details?.scram_error as string;
  }
  throw new Error("expected a SCRAM failure");
}

/**
 * A SCRAM client written plainly from RFC 5802 §3 with node:crypto
 * primitives only (PBKDF2, HMAC, hash), independent of scram.ts.
 */
function clientFinalFor(hash: "sha256" | "sha512", password: string, clientFirstBare: string, serverFirst: string) {
  const fields = Object.fromEntries(serverFirst.split(",").map((part) => [part[0], part.slice(2)]));
  const keyBytes = hash === "sha256" ? 32 : 64;
  const salted = nodeCrypto.pbkdf2Sync(password, Buffer.from(fields.s, "base64"), Number(fields.i), keyBytes, hash);
  const clientKey = nodeCrypto.createHmac(hash, salted).update("Client Key").digest();
  const storedKey = nodeCrypto.createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${fields.r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = nodeCrypto.createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(keyBytes);
  for (let index = 0; index < keyBytes; index++) proof[index] = clientKey[index] ^ signature[index];
  const serverKey = nodeCrypto.createHmac(hash, salted).update("Server Key").digest();
  return {
    clientFinal: `${withoutProof},p=${proof.toString("base64")}`,
    expectedServerFinal: `v=${nodeCrypto.createHmac(hash, serverKey).update(authMessage).digest("base64")}`,
  };
}

describe("SCRAM credentials", () => {
  test("a new credential has a 32-byte random salt, 4096 iterations by default, and verifies only its password", async () => {
    const first = await createScramCredential("SCRAM-SHA-256", "correct horse");
    const second = await createScramCredential("SCRAM-SHA-256", "correct horse");
    expect(first.salt.length).toBe(32);
    expect(first.iterations).toBe(4096);
    expect(Buffer.from(first.salt).equals(Buffer.from(second.salt))).toBe(false);
    expect(await verifyPassword(first, "correct horse")).toBe(true);
    expect(await verifyPassword(first, "correct hors")).toBe(false);
    const sha512 = await createScramCredential("SCRAM-SHA-512", "correct horse", { iterations: 8192 });
    expect(sha512.storedKey.length).toBe(64);
    expect(sha512.iterations).toBe(8192);
    expect(await verifyPassword(sha512, "correct horse")).toBe(true);
  });

  test("iterations outside Kafka's 4096..16384 are refused", async () => {
    for (const iterations of [4095, 16_385, 5000.5]) {
      await expect(createScramCredential("SCRAM-SHA-256", "password1", { iterations })).rejects.toMatchObject({ code: "invalid_request" });
    }
  });

  test("RFC 7677's keys: the credential of user/pencil is what the RFC's client proves", async () => {
    const credential = await rfcCredential();
    // StoredKey and ServerKey as an independent derivation gives them.
    const salted = nodeCrypto.pbkdf2Sync("pencil", Buffer.from(RFC.salt, "base64"), 4096, 32, "sha256");
    const clientKey = nodeCrypto.createHmac("sha256", salted).update("Client Key").digest();
    expect(Buffer.from(credential.storedKey).equals(nodeCrypto.createHash("sha256").update(clientKey).digest())).toBe(true);
    expect(Buffer.from(credential.serverKey).equals(nodeCrypto.createHmac("sha256", salted).update("Server Key").digest())).toBe(true);
  });
});

describe("SCRAM server exchange", () => {
  test("RFC 7677 §3: the RFC's server-first, its client-final verified, its server-final", async () => {
    const exchange = new ScramServerExchange("SCRAM-SHA-256", lookupOf({ user: await rfcCredential() }), { serverNonce: RFC.serverNonce });
    expect(exchange.clientFirst(RFC.clientFirst)).toBe(RFC.serverFirst);
    expect(exchange.clientFinal(RFC.clientFinal)).toEqual({ serverFinal: RFC.serverFinal, user: "user" });
  });

  test("SCRAM-SHA-512 against a client computed with node:crypto alone", async () => {
    const credential = await createScramCredential("SCRAM-SHA-512", "s3cret-pass", { iterations: 4096 });
    const exchange = new ScramServerExchange("SCRAM-SHA-512", lookupOf({ alice: credential }));
    const clientFirstBare = "n=alice,r=fyko+d2lbbFgONRv9qkxdawL";
    const serverFirst = exchange.clientFirst(`n,,${clientFirstBare}`);
    expect(serverFirst).toStartWith("r=fyko+d2lbbFgONRv9qkxdawL");
    expect(serverFirst).toEndWith(",i=4096");
    const { clientFinal, expectedServerFinal } = clientFinalFor("sha512", "s3cret-pass", clientFirstBare, serverFirst);
    expect(exchange.clientFinal(clientFinal)).toEqual({ serverFinal: expectedServerFinal, user: "alice" });
  });

  test("a wrong password fails with invalid-proof, and the exchange is over", async () => {
    const exchange = new ScramServerExchange("SCRAM-SHA-256", lookupOf({ user: await rfcCredential() }));
    const clientFirstBare = "n=user,r=abc";
    const serverFirst = exchange.clientFirst(`n,,${clientFirstBare}`);
    const { clientFinal } = clientFinalFor("sha256", "pencil!", clientFirstBare, serverFirst);
    expect(scramErrorOf(() => exchange.clientFinal(clientFinal))).toBe("invalid-proof");
    expect(scramErrorOf(() => exchange.clientFinal(clientFinal))).toBe("other-error");
  });

  test("an unknown user gets a salt that is stable and looks real, and fails at the proof like a wrong password", async () => {
    const lookup = lookupOf({ user: await rfcCredential() });
    const first = new ScramServerExchange("SCRAM-SHA-256", lookup, { serverNonce: "x" }).clientFirst("n,,n=mallory,r=abc");
    const again = new ScramServerExchange("SCRAM-SHA-256", lookup, { serverNonce: "x" }).clientFirst("n,,n=mallory,r=abc");
    expect(first).toBe(again);
    expect(first).toMatch(/^r=abcx,s=[A-Za-z0-9+/]{43}=,i=4096$/);
    const exchange = new ScramServerExchange("SCRAM-SHA-256", lookup);
    const serverFirst = exchange.clientFirst("n,,n=mallory,r=abc");
    const { clientFinal } = clientFinalFor("sha256", "pencil", "n=mallory,r=abc", serverFirst);
    expect(scramErrorOf(() => exchange.clientFinal(clientFinal))).toBe("invalid-proof");
  });

  test("a user's credential of the other mechanism does not count", async () => {
    const exchange = new ScramServerExchange("SCRAM-SHA-512", lookupOf({ user: await rfcCredential() }));
    const serverFirst = exchange.clientFirst("n,,n=user,r=abc");
    const { clientFinal } = clientFinalFor("sha512", "pencil", "n=user,r=abc", serverFirst);
    expect(scramErrorOf(() => exchange.clientFinal(clientFinal))).toBe("invalid-proof");
  });

  test("user names are unescaped (=2C, =3D)", () => {
    const seen: string[] = [];
    new ScramServerExchange("SCRAM-SHA-256", (user) => void seen.push(user)).clientFirst("n,,n=a=2Cb=3Dc,r=abc");
    expect(seen).toEqual(["a,b=c"]);
  });

  test("malformed or unsupported client-first messages are refused", () => {
    const cases: [string, string][] = [
      ["p=tls-unique,,n=user,r=abc", "other-error"],
      ["y,,n=user,r=abc", "other-error"],
      ["n,a=admin,n=user,r=abc", "other-error"],
      ["n,,r=abc,n=user", "invalid-encoding"],
      ["n,,n=user", "invalid-encoding"],
      ["n,,n=,r=abc", "invalid-encoding"],
      ["n,,n=us=er,r=abc", "invalid-encoding"],
      ["n,,n=user,r=", "invalid-encoding"],
      ["n,,n=user,r=a b", "invalid-encoding"],
      ["n,,n=user,r=abc,m=ext", "extensions-not-supported"],
      [`n,,n=user,r=${"a".repeat(5000)}`, "other-error"],
    ];
    for (const [message, expected] of cases) {
      const exchange = new ScramServerExchange("SCRAM-SHA-256", () => undefined);
      expect([message.slice(0, 40), scramErrorOf(() => exchange.clientFirst(message))]).toEqual([message.slice(0, 40), expected]);
    }
  });

  test("malformed client-final messages are refused", async () => {
    const credential = await rfcCredential();
    const nonce = `rOprNGfwEbeRWgbNEkqO${RFC.serverNonce}`;
    const cases: [string, string][] = [
      [`c=eSws,r=${nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`, "channel-bindings-dont-match"],
      [`c=biws,r=rOprNGfwEbeRWgbNEkqO-other,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`, "other-error"],
      [`c=biws,r=${nonce},p=dHzb`, "invalid-encoding"],
      [`c=biws,r=${nonce},p=not base64!`, "invalid-encoding"],
      [`c=biws,r=${nonce}`, "invalid-encoding"],
      [`r=${nonce},c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`, "invalid-encoding"],
    ];
    for (const [message, expected] of cases) {
      const exchange = new ScramServerExchange("SCRAM-SHA-256", lookupOf({ user: credential }), { serverNonce: RFC.serverNonce });
      exchange.clientFirst(RFC.clientFirst);
      expect([message, scramErrorOf(() => exchange.clientFinal(message))]).toEqual([message, expected]);
    }
  });

  test("client-final before client-first is out of order", () => {
    const exchange = new ScramServerExchange("SCRAM-SHA-256", () => undefined);
    expect(scramErrorOf(() => exchange.clientFinal(RFC.clientFinal))).toBe("other-error");
  });
});

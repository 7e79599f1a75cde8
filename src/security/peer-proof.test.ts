import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { inspect } from "node:util";
import { GafkaError } from "../core/errors.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { Authenticator } from "./authenticator.ts";
import { ClusterSecret, readClusterSecretFile } from "./cluster-secret.ts";
import { NonceCache } from "./nonce-cache.ts";
import { PeerProofSigner, PeerProofVerifier } from "./peer-proof.ts";
import { brokerPrincipal } from "./principal.ts";

const SECRET_TEXT = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
const CLUSTER_A = "AAAAAAAAAAAAAAAAAAAAAA";
const CLUSTER_B = "BBBBBBBBBBBBBBBBBBBBBB";
const ACK = { method: "POST", path: "/api/v1/replication/ack" };

function pair(options: { signerCluster?: string | null; verifierCluster?: string | null; signerSecret?: string; noncesMax?: number } = {}) {
  const clock = new ManualClock();
  const signer = new PeerProofSigner({
    secret: ClusterSecret.fromText(options.signerSecret ?? SECRET_TEXT),
    brokerId: 2,
    clusterId: () => (options.signerCluster === undefined ? CLUSTER_A : options.signerCluster),
    clock,
  });
  const verifier = new PeerProofVerifier({
    secret: ClusterSecret.fromText(SECRET_TEXT),
    clusterId: () => (options.verifierCluster === undefined ? CLUSTER_A : options.verifierCluster),
    clock,
    noncesMax: options.noncesMax,
  });
  const authenticator = new Authenticator({ "gafka-peer": verifier });
  return { clock, signer, authenticator };
}

function outcome(run: () => unknown): string {
  try {
    run();
    return "ok";
  } catch (error) {
    if (!(error instanceof GafkaError)) throw error;
    return error.code;
  }
}

describe("Gafka-Peer proofs", () => {
  test("a proof made with the secret for this method and path is the sending broker", () => {
    const { signer, authenticator } = pair();
    const header = signer.authorization("POST", ACK.path);
    expect(header).toMatch(/^Gafka-Peer broker=2,cluster=A{22},ts=\d+,nonce=[0-9a-f]{32},mac=[0-9a-f]{64}$/);
    expect(authenticator.authenticate(header, ACK)).toEqual(brokerPrincipal(2));
  });

  test("the MAC is HMAC-SHA256 over the documented message", () => {
    const { signer } = pair();
    const header = signer.authorization("post", ACK.path);
    const fields = Object.fromEntries(header.slice("Gafka-Peer ".length).split(",").map((pair) => pair.split("=") as [string, string]));
    const message = ["gafka-peer-v1", fields.broker, fields.cluster, fields.ts, fields.nonce, "POST", ACK.path].join("\n");
    expect(fields.mac).toBe(createHmac("sha256", SECRET_TEXT).update(message).digest("hex"));
  });

  test("another method or path, the wrong secret, a changed field or garbage: 401", () => {
    const { signer, authenticator } = pair();
    const wrongSecret = pair({ signerSecret: `${SECRET_TEXT}-other` }).signer;
    expect(outcome(() => authenticator.authenticate(signer.authorization("POST", "/api/v1/replication/stream"), ACK))).toBe("unauthenticated");
    expect(outcome(() => authenticator.authenticate(signer.authorization("GET", ACK.path), ACK))).toBe("unauthenticated");
    expect(outcome(() => authenticator.authenticate(wrongSecret.authorization("POST", ACK.path), ACK))).toBe("unauthenticated");
    const changed = signer.authorization("POST", ACK.path).replace("broker=2,", "broker=3,");
    expect(outcome(() => authenticator.authenticate(changed, ACK))).toBe("unauthenticated");
    for (const garbage of ["Gafka-Peer", "Gafka-Peer x", `Gafka-Peer ${"a".repeat(100_000)}`, "Gafka-Peer broker=1,cluster=-,ts=1,nonce=00,mac=00"]) {
      expect(outcome(() => authenticator.authenticate(garbage, ACK))).toBe("unauthenticated");
    }
    const upperMac = signer.authorization("POST", ACK.path).replace(/mac=([0-9a-f]+)$/, (_, mac: string) => `mac=${mac.toUpperCase()}`);
    expect(outcome(() => authenticator.authenticate(upperMac, ACK))).toBe("unauthenticated");
  });

  test("a proof is taken once: the same header again is a replay (401)", () => {
    const { signer, authenticator } = pair();
    const header = signer.authorization("POST", ACK.path);
    expect(outcome(() => authenticator.authenticate(header, ACK))).toBe("ok");
    expect(outcome(() => authenticator.authenticate(header, ACK))).toBe("unauthenticated");
    expect(outcome(() => authenticator.authenticate(signer.authorization("POST", ACK.path), ACK))).toBe("ok");
  });

  test("a proof more than 60 s old or ahead is refused; within the window it is taken", () => {
    const { clock, signer, authenticator } = pair();
    const old = signer.authorization("POST", ACK.path);
    const stillFresh = signer.authorization("POST", ACK.path);
    clock.advance(60_000);
    expect(outcome(() => authenticator.authenticate(stillFresh, ACK))).toBe("ok");
    clock.advance(1);
    expect(outcome(() => authenticator.authenticate(old, ACK))).toBe("unauthenticated");
    const verifierBehind = pair();
    const ahead = new PeerProofSigner({ secret: ClusterSecret.fromText(SECRET_TEXT), brokerId: 2, clusterId: () => CLUSTER_A, clock: new ManualClock({ nowMs: verifierBehind.clock.nowMs() + 61_000 }) });
    expect(outcome(() => verifierBehind.authenticator.authenticate(ahead.authorization("POST", ACK.path), ACK))).toBe("unauthenticated");
  });

  test("a broker of another cluster is 409 cluster_id_mismatch; one without a cluster id yet is taken", () => {
    const otherCluster = pair({ signerCluster: CLUSTER_B });
    expect(outcome(() => otherCluster.authenticator.authenticate(otherCluster.signer.authorization("POST", ACK.path), ACK))).toBe("cluster_id_mismatch");
    const newFollower = pair({ signerCluster: null });
    expect(outcome(() => newFollower.authenticator.authenticate(newFollower.signer.authorization("POST", ACK.path), ACK))).toBe("ok");
    const newBroker = pair({ verifierCluster: null });
    expect(outcome(() => newBroker.authenticator.authenticate(newBroker.signer.authorization("POST", ACK.path), ACK))).toBe("ok");
  });

  test("the nonce cache stays bounded and forgets what left the window", () => {
    const cache = new NonceCache(3);
    expect(cache.remember("a", 100, 0)).toBe(true);
    expect(cache.remember("a", 100, 50)).toBe(false);
    expect(cache.remember("b", 200, 50)).toBe(true);
    expect(cache.remember("c", 300, 50)).toBe(true);
    expect(cache.remember("d", 300, 150)).toBe(true); // "a" expired: room without evicting
    expect(cache.evictions).toBe(0);
    expect(cache.remember("e", 300, 150)).toBe(true); // full of live nonces: the oldest ("b") goes
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(1);
    expect(cache.remember("c", 300, 150)).toBe(false);
  });
});

describe("the cluster secret", () => {
  test("shows a placeholder wherever it is printed", () => {
    const secret = ClusterSecret.fromText(SECRET_TEXT);
    for (const shown of [String(secret), JSON.stringify({ secret }), inspect(secret), `${secret}`]) expect(shown).not.toContain(SECRET_TEXT);
  });

  test("is read from a private file of at least 32 characters, trimmed", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gafka-secret-"));
    try {
      const file = path.join(dir, "secret");
      writeFileSync(file, `${SECRET_TEXT}\n`, { mode: 0o600 });
      const fromFile = new PeerProofSigner({ secret: readClusterSecretFile(file), brokerId: 2, clusterId: () => CLUSTER_A, clock: new ManualClock() });
      expect(outcome(() => pair().authenticator.authenticate(fromFile.authorization("POST", ACK.path), ACK))).toBe("ok");
      chmodSync(file, 0o640);
      expect(() => readClusterSecretFile(file)).toThrow("may be read by group or others (mode 0640)");
      writeFileSync(file, "short\n", { mode: 0o600 });
      chmodSync(file, 0o600);
      expect(() => readClusterSecretFile(file)).toThrow("openssl rand -base64 32");
      expect(() => readClusterSecretFile(path.join(dir, "missing"))).toThrow("ENOENT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { Admin, ClusterAdmin, Consumer, Producer } from "../src/client/index.ts";
import { type BrokerProcess, cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { waitFor } from "./helpers/http.ts";
import { brokerTlsArgs, makeTestCertificates, type TestCertificates } from "./helpers/tls.ts";

/**
 * Replication over TLS: a broker with --tls-cert speaks https to its peers,
 * verifies their certificates against --tls-ca and presents its own; a
 * follower whose leader's certificate does not verify replicates nothing
 * and says why. And the broker's start errors for TLS files.
 */

let certificates: TestCertificates;

beforeAll(async () => {
  certificates = await makeTestCertificates();
});

afterAll(cleanupAll);

async function startTlsLeader(ca: string, args: string[] = []): Promise<BrokerProcess> {
  return startBrokerProcess({ args: ["--id=1", "--role=leader", "--fsync=never", ...brokerTlsArgs(certificates, ca), ...args] });
}

async function startTlsFollower(leader: BrokerProcess, id: number, ca: string): Promise<BrokerProcess> {
  return startBrokerProcess({ args: [`--id=${id}`, "--role=follower", `--leader=${leader.hostPort}`, "--fsync=never", ...brokerTlsArgs(certificates, ca)] });
}

describe("replication over TLS", () => {
  test("a leader and a follower, both with TLS and mutual TLS, replicate: acks=all on the leader, records on the follower", async () => {
    const ca = certificates.paths.ca;
    const leader = await startTlsLeader(ca, ["--min-insync-replicas=2"]);
    const follower = await startTlsFollower(leader, 2, ca);
    const tls = { ca: certificates.pem.ca, cert: certificates.pem.clientCert, key: certificates.pem.clientKey };
    await new Admin({ broker: leader.url, tls }).createTopic({ name: "replicated", partitions: 1 });
    // acks=all needs the follower in sync (min-insync-replicas=2): it answers only once the follower holds the records.
    const producer = new Producer({ broker: leader.url, tls, acks: "all", retryDeadlineMs: 30_000 });
    await producer.send({ topic: "replicated", partition: 0, value: "one" });
    await producer.send({ topic: "replicated", partition: 0, value: "two" });
    await producer.close();
    const consumer = new Consumer({ broker: follower.url, tls, topic: "replicated", partition: 0 });
    const records: string[] = [];
    await waitFor(async () => {
      records.push(...(await consumer.poll({ maxRecords: 2, waitMs: 1_000 })).map((record) => String(record.value)));
      return records.length >= 2;
    }, "the follower to serve the records");
    await consumer.close();
    expect(records).toEqual(["one", "two"]);
    const status = await new ClusterAdmin({ broker: follower.url, tls }).status();
    expect(status.replication?.connected).toBe(true);
    expect(status.leader).toBe(leader.hostPort); // the address stays host:port; the scheme is the broker's own
  });

  test("a follower that trusts another CA refuses its leader and says why in its status", async () => {
    const leader = await startTlsLeader(certificates.paths.ca);
    // The follower's clients still verify it with the first CA: its own certificate is the same.
    const follower = await startTlsFollower(leader, 2, certificates.paths.otherCa);
    const tls = { ca: certificates.pem.ca, cert: certificates.pem.clientCert, key: certificates.pem.clientKey };
    await new Admin({ broker: leader.url, tls }).createTopic({ name: "not-replicated", partitions: 1 });
    // The follower requires client certificates signed by its --tls-ca, the other CA.
    const followerTls = { ca: certificates.pem.ca, cert: certificates.pem.otherClientCert, key: certificates.pem.otherClientKey };
    let error: string | null | undefined;
    await waitFor(async () => {
      error = (await new ClusterAdmin({ broker: follower.url, tls: followerTls }).status()).replication?.error;
      return typeof error === "string";
    }, "the follower to report its error");
    expect(error).toContain(`the certificate of ${leader.hostPort} does not verify`);
    expect(error).toContain("--tls-ca");
    expect(follower.stderr()).toContain("does not verify");
    expect(await new Admin({ broker: follower.url, tls: followerTls }).listTopics()).toEqual([]);
    const leaderStatus = await new ClusterAdmin({ broker: leader.url, tls }).status();
    expect(leaderStatus.followers).toEqual([]);
  });
});

describe("broker start errors for TLS files", () => {
  async function startFails(args: string[]): Promise<string> {
    const result = await runCli(["broker", "--port=0", `--data-dir=${path.join(certificates.dir, `data-${Math.random()}`)}`, ...args], { timeoutMs: 20_000 });
    expect(result.exitCode).toBe(1);
    return result.stderr;
  }

  test("cert without key, key without cert, CA without both", async () => {
    expect(await startFails([`--tls-cert=${certificates.paths.serverCert}`])).toContain("--tls-cert and --tls-key go together");
    expect(await startFails([`--tls-key=${certificates.paths.serverKey}`])).toContain("--tls-cert and --tls-key go together");
    expect(await startFails([`--tls-ca=${certificates.paths.ca}`])).toContain("--tls-ca needs --tls-cert and --tls-key");
  });

  test("a missing file, a file that is not PEM, and a key of another certificate", async () => {
    const missing = path.join(certificates.dir, "missing.pem");
    expect(await startFails([`--tls-cert=${missing}`, `--tls-key=${certificates.paths.serverKey}`])).toContain(`--tls-cert ${missing} cannot be read (no such file)`);
    const garbage = path.join(certificates.dir, "garbage.pem");
    writeFileSync(garbage, "not a certificate\n");
    expect(await startFails([`--tls-cert=${garbage}`, `--tls-key=${certificates.paths.serverKey}`])).toContain(`--tls-cert ${garbage} is not a PEM certificate`);
    expect(await startFails([`--tls-cert=${certificates.paths.serverCert}`, `--tls-key=${garbage}`])).toContain(`--tls-key ${garbage} is not a PEM private key`);
    expect(await startFails([`--tls-cert=${certificates.paths.serverCert}`, `--tls-key=${certificates.paths.clientKey}`])).toContain(
      `--tls-key ${certificates.paths.clientKey} is not the key of the certificate in --tls-cert ${certificates.paths.serverCert}`,
    );
    expect(await startFails([...brokerTlsArgs(certificates), `--tls-ca=${missing}`])).toContain(`--tls-ca ${missing} cannot be read (no such file)`);
  });
});

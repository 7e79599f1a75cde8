import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin, Consumer, type GafkaClientError, Producer } from "../src/client/index.ts";
import { type BrokerProcess, cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { brokerTlsArgs, makeTestCertificates, type TestCertificates } from "./helpers/tls.ts";

/**
 * HTTPS on the broker's listener (--tls-cert, --tls-key), and mutual TLS
 * (--tls-ca): the SDK's `tls` option and the CLI's https:// and --tls-*
 * flags against real broker processes, with certificates made afresh.
 */

let certificates: TestCertificates;
let broker: BrokerProcess;
let mutual: BrokerProcess;

beforeAll(async () => {
  certificates = await makeTestCertificates();
  [broker, mutual] = await Promise.all([
    startBrokerProcess({ args: ["--fsync=never", ...brokerTlsArgs(certificates)] }),
    startBrokerProcess({ args: ["--fsync=never", ...brokerTlsArgs(certificates, certificates.paths.ca)] }),
  ]);
});

afterAll(cleanupAll);

function expectSuccess(result: { exitCode: number; stdout: string; stderr: string }): void {
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

describe("a broker with --tls-cert and --tls-key", () => {
  test("announces an https URL", () => {
    expect(broker.url).toStartWith("https://127.0.0.1:");
  });

  test("the SDK produces and consumes over https, verifying the broker with the CA", async () => {
    const tls = { ca: certificates.pem.ca };
    await new Admin({ broker: broker.url, tls }).createTopic({ name: "sdk-tls", partitions: 1 });
    const producer = new Producer({ broker: broker.hostPort, tls }); // a bare host:port with tls: https
    await producer.send({ topic: "sdk-tls", partition: 0, value: "a" });
    await producer.send({ topic: "sdk-tls", partition: 0, value: "b" });
    await producer.close();
    const consumer = new Consumer({ broker: `https://localhost:${broker.port}`, tls, topic: "sdk-tls", partition: 0 });
    const records = await consumer.poll({ maxRecords: 2, waitMs: 5_000 });
    await consumer.close();
    expect(records.map((record) => record.value)).toEqual(["a", "b"]);
  });

  test("the CLI produces and consumes with https:// and --tls-ca (and with a bare host:port and --tls-ca)", async () => {
    const ca = `--tls-ca=${certificates.paths.ca}`;
    expectSuccess(await runCli(["admin", "create-topic", "--name=cli-tls", "--partitions=1", `--broker=https://127.0.0.1:${broker.port}`, ca]));
    expectSuccess(await runCli(["produce", "--topic=cli-tls", "--partition=0", "--message=hello", `--broker=${broker.hostPort}`, ca]));
    const consumed = await runCli(["consume", "--topic=cli-tls", "--count=1", `--broker=https://127.0.0.1:${broker.port}`, ca]);
    expectSuccess(consumed);
    expect(consumed.stdout).toContain("hello");
  });

  test("plain http to the TLS port gets no answer", async () => {
    const answer = await fetch(`http://127.0.0.1:${broker.port}/healthz`).then((response) => response.status, (error: unknown) => error);
    expect(answer).toBeInstanceOf(Error);
    const cli = await runCli(["admin", "list-topics", `--broker=http://127.0.0.1:${broker.port}`]);
    expect(cli.exitCode).toBe(1);
  });

  test("a client that verifies with another CA (or the system's) refuses the broker", async () => {
    const refused = (await new Admin({ broker: broker.url, tls: { ca: certificates.pem.otherCa }, retries: 0 }).listTopics().catch((error) => error)) as GafkaClientError;
    expect(refused.code).toBe("network_error");
    expect(refused.message).toContain("the broker's certificate does not verify");
    expect(refused.retriable).toBe(false);
    const system = await new Admin({ broker: broker.url, retries: 0 }).listTopics().catch((error) => error);
    expect((system as GafkaClientError).code).toBe("network_error");
    const cli = await runCli(["admin", "list-topics", `--broker=${broker.url}`, `--tls-ca=${certificates.paths.otherCa}`]);
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toContain("the broker's certificate does not verify");
    // produce retries what may pass; a certificate will not: it fails at once, well before --retry-timeout.
    const produce = await runCli(["produce", "--topic=sdk-tls", "--message=x", "--retry-timeout=10m", `--broker=${broker.url}`, `--tls-ca=${certificates.paths.otherCa}`]);
    expect(produce.exitCode).toBe(1);
    expect(produce.timedOut).toBe(false);
  });
});

describe("a broker with --tls-ca (mutual TLS)", () => {
  test("refuses a client without a certificate, serves one with a certificate the CA signed", async () => {
    const without = (await new Admin({ broker: mutual.url, tls: { ca: certificates.pem.ca } }).listTopics().catch((error) => error)) as GafkaClientError;
    expect(without.code).toBe("network_error");
    expect(without.message).toContain("TLS handshake failed");
    const tls = { ca: certificates.pem.ca, cert: certificates.pem.clientCert, key: certificates.pem.clientKey };
    await new Admin({ broker: mutual.url, tls }).createTopic({ name: "mutual", partitions: 1 });
    expect(await new Admin({ broker: mutual.url, tls }).listTopics()).toContainEqual({ name: "mutual", partitions: 1 });
  });

  test("the CLI presents --tls-cert and --tls-key", async () => {
    const ca = `--tls-ca=${certificates.paths.ca}`;
    const refused = await runCli(["admin", "list-topics", `--broker=${mutual.url}`, ca]);
    expect(refused.exitCode).toBe(1);
    const client = [`--tls-cert=${certificates.paths.clientCert}`, `--tls-key=${certificates.paths.clientKey}`];
    expectSuccess(await runCli(["admin", "create-topic", "--name=mutual-cli", "--partitions=1", `--broker=${mutual.url}`, ca, ...client]));
    expectSuccess(await runCli(["produce", "--topic=mutual-cli", "--partition=0", "--message=m", `--broker=${mutual.hostPort}`, ca, ...client]));
    const consumed = await runCli(["consume", "--topic=mutual-cli", "--count=1", `--broker=${mutual.url}`, ca, ...client]);
    expectSuccess(consumed);
    expect(consumed.stdout).toContain("m");
  });
});

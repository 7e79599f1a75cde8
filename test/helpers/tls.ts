import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { makeTempDir } from "./broker-process.ts";

/**
 * Fresh test certificates, made with the machine's `openssl` in a temporary
 * directory (removed by broker-process's cleanupAll()): a CA; a server
 * certificate it signs for 127.0.0.1 and localhost (subjectAltName), good as
 * a client certificate too (brokers present it to their peers); a client
 * certificate it signs; and a second, unrelated CA. EC P-256 keys: quick to make.
 */
export interface TestCertificates {
  dir: string;
  /** Paths, for the CLI's and the broker's flags. */
  paths: CertificateFiles;
  /** PEM text, for the SDK's `tls` option. */
  pem: CertificateFiles;
}

interface CertificateFiles {
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by the other CA. */
  otherClientCert: string;
  otherClientKey: string;
}

export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await makeTempDir("gafka-tls-");
  const file = (name: string) => path.join(dir, name);
  const key = (name: string) => openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file(name)]);
  const selfSignedCa = (name: string, subject: string) => {
    key(`${name}.key`);
    openssl(dir, ["req", "-x509", "-new", "-key", file(`${name}.key`), "-out", file(`${name}.pem`), "-days", "2", "-subj", subject]);
  };
  const signed = (name: string, subject: string, extensions: string, ca = "ca") => {
    key(`${name}.key`);
    openssl(dir, ["req", "-new", "-key", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", subject]);
    writeFileSync(file(`${name}.ext`), extensions);
    openssl(dir, [
      "x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${ca}.pem`), "-CAkey", file(`${ca}.key`), "-CAcreateserial",
      "-out", file(`${name}.pem`), "-days", "2", "-extfile", file(`${name}.ext`),
    ]);
  };
  selfSignedCa("ca", "/CN=gafka test CA");
  selfSignedCa("other-ca", "/CN=unrelated test CA");
  signed("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  signed("client", "/CN=test client", "extendedKeyUsage=clientAuth\n");
  signed("other-client", "/CN=other test client", "extendedKeyUsage=clientAuth\n", "other-ca");
  const paths = {
    ca: file("ca.pem"),
    otherCa: file("other-ca.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server.key"),
    clientCert: file("client.pem"),
    clientKey: file("client.key"),
    otherClientCert: file("other-client.pem"),
    otherClientKey: file("other-client.key"),
  };
  const pem = Object.fromEntries(Object.entries(paths).map(([name, filePath]) => [name, readFileSync(filePath, "utf8")])) as unknown as CertificateFiles;
  return { dir, paths, pem };
}

/** The broker flags for HTTPS with the test server certificate; with `ca`, client certificates are required and peers verified against it. */
export function brokerTlsArgs(certificates: TestCertificates, ca?: string): string[] {
  const args = [`--tls-cert=${certificates.paths.serverCert}`, `--tls-key=${certificates.paths.serverKey}`];
  return ca === undefined ? args : [...args, `--tls-ca=${ca}`];
}

function openssl(cwd: string, args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed (${run.exitCode}):\n${run.stderr.toString()}`);
}

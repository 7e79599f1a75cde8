/**
 * The broker's TLS material, read once at start from the files the
 * operator names (`--tls-cert`, `--tls-key`, `--tls-ca`; docs/operations.md
 * "TLS"). Everything is checked here, before a port opens, so a wrong path,
 * a file that is not PEM or a key of another certificate is one clear line
 * at start instead of a handshake failure on the first connection.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** PEM text, as Bun.serve's and fetch's `tls` options take it. */
export interface BrokerTls {
  /** This broker's certificate (chain), presented to clients, and to peers as its client certificate. */
  cert: string;
  /** The private key of `cert`. */
  key: string;
  /**
   * With it, the listener requires client certificates signed by this CA
   * (mutual TLS), and peers' certificates are verified against it; without
   * it, peers are verified against the system's CAs and clients need none.
   */
  ca?: string;
}

export interface TlsPaths {
  certPath?: string;
  keyPath?: string;
  caPath?: string;
}

/** A TLS file that is missing, unreadable, not what it should be, or not the pair of the other. */
export class TlsSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TlsSetupError";
  }
}

/**
 * The material the paths name, checked: undefined when none is given (the
 * listener speaks plain HTTP). Throws TlsSetupError naming the flag and the
 * file when cert and key do not come together, a file cannot be read or
 * parsed, or the key is not the certificate's.
 */
export function loadBrokerTls(paths: TlsPaths, readFile: (filePath: string) => Uint8Array): BrokerTls | undefined {
  const { certPath, keyPath, caPath } = paths;
  if (certPath === undefined && keyPath === undefined) {
    if (caPath !== undefined) throw new TlsSetupError("--tls-ca needs --tls-cert and --tls-key: client certificates are asked for only on a TLS listener");
    return undefined;
  }
  if (certPath === undefined || keyPath === undefined) throw new TlsSetupError("--tls-cert and --tls-key go together: give both or neither");
  const cert = readText("--tls-cert", certPath, readFile);
  const key = readText("--tls-key", keyPath, readFile);
  const certificate = parseCertificate("--tls-cert", certPath, cert);
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsSetupError(`--tls-key ${keyPath} is not a PEM private key (${reason(error)})`, { cause: error });
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsSetupError(`--tls-key ${keyPath} is not the key of the certificate in --tls-cert ${certPath}`);
  }
  if (caPath === undefined) return { cert, key };
  const ca = readText("--tls-ca", caPath, readFile);
  parseCertificate("--tls-ca", caPath, ca);
  return { cert, key, ca };
}

/**
 * PEM text of a client-side TLS file (the CLI's --tls-ca, --tls-cert,
 * --tls-key): read, and checked to be PEM, with the same messages as the
 * broker's.
 */
export function readPemFile(flag: string, filePath: string, readFile: (filePath: string) => Uint8Array): string {
  const text = readText(flag, filePath, readFile);
  if (!text.includes("-----BEGIN ")) throw new TlsSetupError(`${flag} ${filePath} is not a PEM file (no -----BEGIN line)`);
  return text;
}

function readText(flag: string, filePath: string, readFile: (filePath: string) => Uint8Array): string {
  try {
    return new TextDecoder().decode(readFile(filePath));
  } catch (error) {
    throw new TlsSetupError(`${flag} ${filePath} cannot be read (${reason(error)})`, { cause: error });
  }
}

/** The first certificate of a PEM file (a chain or a CA bundle may hold more). */
function parseCertificate(flag: string, filePath: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TlsSetupError(`${flag} ${filePath} is not a PEM certificate (${reason(error)})`, { cause: error });
  }
}

function reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "a directory";
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

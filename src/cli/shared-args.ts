import type { ArgsDef } from "citty";
import { type ClientAuth, type ClientOptions, type ClientTls, DEFAULT_BROKER, type ProducerAcks, type RecordFormat, splitBrokers } from "../client/index.ts";
import type { Logger, LogLevelName } from "../core/logger.ts";
import { readPemFile } from "../security/tls-files.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { durationArg } from "./duration-arg.ts";

/** Arguments every subcommand shares (nuxt/cli's `commands/_shared.ts` habit). */

export const brokerArgs = {
  broker: {
    type: "string",
    description: "Broker to talk to; several, comma-separated, to find the leader among them and go on when one is down",
    valueHint: "[https://]host:port[,…]",
    default: DEFAULT_BROKER,
  },
  "tls-ca": { type: "string", description: "Speak https, verifying the broker's certificate against this CA (PEM; default: the system's CAs)", valueHint: "path" },
  "tls-cert": { type: "string", description: "Speak https, presenting this client certificate (PEM; with --tls-key), for a broker that requires one", valueHint: "path" },
  "tls-key": { type: "string", description: "The private key of --tls-cert (PEM)", valueHint: "path" },
  user: { type: "string", description: "Authenticate as this user (HTTP Basic), the password from --password-file or env GAFKA_PASSWORD", valueHint: "name" },
  "password-file": { type: "string", description: "File holding the --user's password (one trailing newline is ignored)", valueHint: "path" },
  "token-file": { type: "string", description: "Authenticate with the bearer token in this file (default: env GAFKA_TOKEN)", valueHint: "path" },
} as const satisfies ArgsDef;

/** What brokerArgs parse to. */
export interface BrokerArgValues {
  broker: string;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  user?: string;
  "password-file"?: string;
  "token-file"?: string;
}

/** The environment the credential flags fall back to (GAFKA_PASSWORD, GAFKA_TOKEN). */
export type CredentialEnv = Readonly<Record<string, string | undefined>>;

/**
 * --user with --password-file (or env GAFKA_PASSWORD), or --token-file (or
 * env GAFKA_TOKEN), as the SDK's `auth` option; undefined (anonymous) when
 * none is given. Never a password or token as a flag's value: it would be
 * kept in shell history and shown by ps.
 */
export function clientAuthArg(args: BrokerArgValues, env: CredentialEnv = process.env): ClientAuth | undefined {
  const { user, "password-file": passwordFile, "token-file": tokenFile } = args;
  if (user !== undefined && tokenFile !== undefined) throw new UsageError("give --user (with a password) or --token-file, not both");
  if (passwordFile !== undefined && user === undefined) throw new UsageError("--password-file is the password of --user: give --user too");
  if (user !== undefined) {
    if (user === "" || user.includes(":")) throw new UsageError(`--user must be a user name (without ':'), not '${user}'`);
    const password = passwordFile !== undefined ? secretFile("password-file", passwordFile) : env.GAFKA_PASSWORD;
    if (password === undefined) throw new UsageError("--user needs a password: --password-file PATH or env GAFKA_PASSWORD");
    return { user, password };
  }
  const token = tokenFile !== undefined ? secretFile("token-file", tokenFile).trim() : env.GAFKA_TOKEN?.trim();
  if (token === undefined || (tokenFile === undefined && token === "")) return undefined;
  if (token === "") throw new UsageError(`--token-file ${tokenFile} is empty`);
  return { token };
}

/** A file holding a secret, without one trailing newline (an editor's or echo's). */
export function secretFile(flag: string, filePath: string): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(nodeFileSystem.readFile(filePath));
  } catch (error) {
    const reason = (error as { code?: unknown } | null)?.code ?? (error instanceof Error ? error.message : String(error));
    throw new UsageError(`cannot read --${flag} ${filePath} (${String(reason)})`);
  }
  return text.replace(/\r?\n$/, "");
}

/**
 * --tls-ca, --tls-cert and --tls-key read into the SDK's `tls` option;
 * undefined when none is given. With any of them, a bare `host:port` in
 * --broker is reached by https (as is an `https://` URL without them).
 */
export function clientTlsArg(args: BrokerArgValues): ClientTls | undefined {
  const { "tls-ca": caPath, "tls-cert": certPath, "tls-key": keyPath } = args;
  if ((certPath === undefined) !== (keyPath === undefined)) throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  if (caPath === undefined && certPath === undefined) return undefined;
  const tls: ClientTls = {};
  if (caPath !== undefined) tls.ca = readPemFile("--tls-ca", caPath, nodeFileSystem.readFile);
  if (certPath !== undefined && keyPath !== undefined) {
    tls.cert = readPemFile("--tls-cert", certPath, nodeFileSystem.readFile);
    tls.key = readPemFile("--tls-key", keyPath, nodeFileSystem.readFile);
  }
  return tls;
}

/** How long produce and consume keep retrying a broker that is down or failing over (src/client/retry.ts). */
export const retryArgs = {
  "retry-timeout": {
    type: "string",
    description: "Keep retrying a broker that cannot be reached (or answers 503 or 421) this long before giving up (e.g. 30s, 2m)",
    default: "2m",
  },
} as const satisfies ArgsDef;

/**
 * Client options for produce and consume: the brokers, and retries until
 * the --retry-timeout deadline, each one logged (at warn) as it happens.
 */
export function retryingClientOptions(args: BrokerArgValues, retryTimeout: string, logger: Logger): ClientOptions {
  const retryDeadlineMs = durationArg("retry-timeout", retryTimeout);
  return {
    brokers: brokerList(args.broker),
    tls: clientTlsArg(args),
    auth: clientAuthArg(args),
    retryDeadlineMs,
    // The first failure of a request is worth a line; the retries after it only at debug.
    onRetry: ({ error, failures, remainingMs }) => {
      const line = `${error.message}; retrying for up to ${Math.ceil(remainingMs / 1000)} s`;
      if (failures === 1) logger.warn(line);
      else logger.debug(line);
    },
  };
}

/**
 * Client options for one-shot commands (admin): each listed broker is
 * tried once, in turn (and a follower's pointer to the leader followed), so
 * an unreachable cluster is an error at once rather than after a wait.
 */
export function oneShotClientOptions(args: BrokerArgValues): ClientOptions {
  const brokers = brokerList(args.broker);
  return { brokers, retries: brokers.length - 1, tls: clientTlsArg(args), auth: clientAuthArg(args) };
}

/** --broker as its list of addresses. */
export function brokerList(text: string): string[] {
  const brokers = splitBrokers(text);
  if (brokers.length === 0) throw new UsageError(`--broker must name at least one host:port or https://host:port, not '${text}'`);
  return brokers;
}

/** How records travel between this command and the broker (docs/api.md "Record batches"). */
export const formatArgs = {
  format: { type: "string", description: "How records travel: batch (Kafka record batches) or json", valueHint: "batch|json", default: "batch" },
} as const satisfies ArgsDef;

export function formatArg(text: string): RecordFormat {
  if (text === "batch" || text === "json") return text;
  throw new UsageError(`--format must be batch or json, not '${text}'`);
}

/** --acks: 0, 1, or all (also -1, Kafka's spelling). */
export function acksArg(text: string): ProducerAcks {
  if (text === "0") return 0;
  if (text === "1") return 1;
  if (text === "all" || text === "-1") return "all";
  throw new UsageError(`--acks must be 0, 1 or all, not '${text}'`);
}

const LOG_LEVEL_NAMES = ["silent", "error", "warn", "info", "debug"] as const satisfies readonly LogLevelName[];

export function logLevelArgs<const D extends (typeof LOG_LEVEL_NAMES)[number]>(defaultLevel: D) {
  return {
    "log-level": {
      type: "enum",
      description: "Log verbosity (logs go to stderr)",
      options: [...LOG_LEVEL_NAMES],
      default: defaultLevel,
    },
  } as const satisfies ArgsDef;
}

/** A bad argument value: main.ts prints `error: <message>` and exits 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An integer flag within bounds, or a UsageError naming the flag. */
export function integerArg(name: string, text: string, minimum: number, maximum = Number.MAX_SAFE_INTEGER): number {
  const value = /^\s*-?\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < minimum || value > maximum) {
    const range = maximum === Number.MAX_SAFE_INTEGER ? `at least ${minimum}` : `${minimum}..${maximum}`;
    throw new UsageError(`--${name} must be an integer ${range}, not '${text}'`);
  }
  return value;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes as `134217728`, `128MiB` or `128m`. */
export function byteSizeArg(name: string, text: string, minimum: number): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  const value = match && unit !== undefined ? Number(match[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new UsageError(`--${name} must be a size of at least ${minimum} bytes (e.g. 134217728 or 128MiB), not '${text}'`);
  }
  return value;
}

/**
 * Every value of a flag given more than once (`--header a=1 --header b=2`):
 * citty keeps only the last, so these are read from the raw arguments.
 */
export function repeatedArg(rawArgs: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let index = 0; index < rawArgs.length; index++) {
    const arg = rawArgs[index]!;
    if (arg === "--") break;
    if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
    else if (arg === `--${name}` && index + 1 < rawArgs.length) values.push(rawArgs[++index]!);
  }
  return values;
}

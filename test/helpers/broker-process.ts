import type { Subprocess } from "bun";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { reserveTestPort } from "./test-ports.ts";

/**
 * Real broker processes and CLI runs for end-to-end suites. By default they
 * run `bun src/main.ts`; set GAFKA_BIN=bin/gafka to test the compiled
 * executable instead. Every wait is bounded, and a failure carries the
 * process's stderr.
 */

export const repoRoot = path.resolve(import.meta.dir, "../..");
const LISTENING_WAIT_MS = 20_000;
const CLI_TIMEOUT_MS_DEFAULT = 30_000;
const STOP_WAIT_MS = 20_000;
/** Tail of a process's stderr kept for error messages. */
const STDERR_KEPT_CHARS = 16_000;

const running = new Set<Subprocess>();
const temporaryDirs = new Set<string>();

function gafkaCommand(args: string[], preload?: string): string[] {
  const binary = process.env.GAFKA_BIN;
  // A preload needs Bun running the sources, even when the suite tests the compiled executable.
  if (preload !== undefined) return [process.execPath, "--preload", path.resolve(repoRoot, preload), path.join(repoRoot, "src/main.ts"), ...args];
  if (binary) return [path.resolve(repoRoot, binary), ...args];
  return [process.execPath, path.join(repoRoot, "src/main.ts"), ...args];
}

/** A fresh temporary directory, removed by `cleanupAll()`. */
export async function makeTempDir(prefix = "gafka-test-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  temporaryDirs.add(dir);
  return dir;
}

export interface BrokerProcess {
  /** `http://127.0.0.1:PORT` of the current process (changes on `restart` only if the port does). */
  readonly url: string;
  /** `127.0.0.1:PORT`, as the CLI's `--broker` takes it. */
  readonly hostPort: string;
  readonly port: number;
  /** The Kafka listener's port (the helper passes --kafka-port=0 unless args name one); undefined when it is off. */
  readonly kafkaPort: number | undefined;
  readonly dataDir: string;
  readonly process: Subprocess;
  /** Everything the broker wrote to stderr so far (its logs). */
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number>;
  /** SIGKILL (a crash), then waits for the exit. */
  kill(): Promise<void>;
  /** Stops it if still running, then starts a new process on the same data dir and port. */
  restart(): Promise<void>;
  /** Kills it if still running and removes its data dir (when the helper made it). */
  cleanup(): Promise<void>;
}

export interface StartBrokerOptions {
  /** Reuse a data dir (e.g. after a crash); a new temporary one otherwise. */
  dataDir?: string;
  /** Default: a port reserved for this broker for the whole run (test-ports.ts), which restarts keep. */
  port?: number;
  /** Extra arguments for `gafka broker`, e.g. ["--fsync", "never"]. */
  args?: string[];
  /**
   * A module (relative to the repository) Bun loads before the broker's main,
   * e.g. a fault injector such as test/helpers/crash-at-swap-step.ts; the
   * process then runs from source even under GAFKA_BIN. Restarts keep it.
   */
  preload?: string;
  /** Variables added to the broker's environment (restarts keep them). */
  env?: Record<string, string>;
}

/** Starts `gafka broker --host 127.0.0.1 --port <reserved> --data-dir <tmp>` and waits for its `listening on` line. */
export async function startBrokerProcess(options: StartBrokerOptions = {}): Promise<BrokerProcess> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await makeTempDir("gafka-broker-"));
  const spawn: SpawnOptions = { args: options.args ?? [], preload: options.preload, env: options.env };
  let current = options.port === undefined ? await spawnOnReservedPort(dataDir, spawn) : await spawnBroker(dataDir, options.port, spawn);

  const handle: BrokerProcess = {
    get url() {
      return current.url;
    },
    get hostPort() {
      return new URL(current.url).host;
    },
    get port() {
      return Number(new URL(current.url).port);
    },
    get kafkaPort() {
      return current.kafkaPort;
    },
    dataDir,
    get process() {
      return current.process;
    },
    stderr: () => current.stderr(),
    async stop() {
      current.process.kill("SIGTERM");
      return waitForExit(current.process, STOP_WAIT_MS, current.stderr);
    },
    async kill() {
      current.process.kill("SIGKILL");
      await waitForExit(current.process, STOP_WAIT_MS, current.stderr);
    },
    async restart() {
      if (current.process.exitCode === null && current.process.signalCode === null) await handle.stop();
      current = await spawnBroker(dataDir, handle.port, spawn);
    },
    async cleanup() {
      if (current.process.exitCode === null && current.process.signalCode === null) await handle.kill();
      if (ownsDataDir) {
        temporaryDirs.delete(dataDir);
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
  return handle;
}

/** Bounds the retries when a process outside the tests takes a reserved port before the broker binds it. */
const PORT_ATTEMPTS = 3;

async function spawnOnReservedPort(dataDir: string, spawn: SpawnOptions): Promise<Spawned> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnBroker(dataDir, await reserveTestPort(), spawn);
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !(error instanceof Error) || !error.message.includes("address in use")) throw error;
    }
  }
}

interface Spawned {
  process: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  kafkaPort: number | undefined;
  stderr(): string;
}

interface SpawnOptions {
  args: string[];
  preload: string | undefined;
  env: Record<string, string> | undefined;
}

async function spawnBroker(dataDir: string, port: number, spawn: SpawnOptions): Promise<Spawned> {
  // A free Kafka port for each broker, so that brokers never contend for the default 9092.
  const kafkaPortArgs = spawn.args.some((arg) => arg.startsWith("--kafka-port")) ? [] : ["--kafka-port=0"];
  const command = gafkaCommand(["broker", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, ...kafkaPortArgs, ...spawn.args], spawn.preload);
  const env = spawn.env === undefined ? undefined : { ...process.env, ...spawn.env };
  const child = Bun.spawn(command, { cwd: repoRoot, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  running.add(child);
  void child.exited.then(() => running.delete(child));
  const stderr = drain(child.stderr, STDERR_KEPT_CHARS);
  let kafkaPort: number | undefined;
  // The broker prints its Kafka line before its HTTP line.
  const listening = findLine(child.stdout, /listening on (https?:\/\/\S+)/, (line) => {
    const kafka = /^kafka listening on \S+:(\d+)$/.exec(line);
    if (kafka) kafkaPort = Number(kafka[1]);
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    listening.then((match) => ({ kind: "listening" as const, url: match?.[1] })),
    child.exited.then((code) => ({ kind: "exited" as const, code })),
    new Promise<{ kind: "timeout" }>((resolve) => (timer = setTimeout(() => resolve({ kind: "timeout" }), LISTENING_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (outcome.kind === "listening" && outcome.url !== undefined) return { process: child, url: outcome.url, kafkaPort, stderr: stderr.text };

  child.kill("SIGKILL");
  await child.exited;
  const why =
    outcome.kind === "timeout"
      ? `did not print 'listening on' within ${LISTENING_WAIT_MS} ms`
      : outcome.kind === "exited"
        ? `exited with code ${outcome.code} before listening`
        : "closed stdout before listening";
  throw new Error(`broker ${why}\ncommand: ${command.join(" ")}\nstderr:\n${stderr.text()}`);
}

/** Resolves with the first match of `pattern` in the stream's lines, then keeps draining it so the pipe never fills. */
function findLine(stream: ReadableStream<Uint8Array>, pattern: RegExp, onLine?: (line: string) => void): Promise<RegExpExecArray | undefined> {
  return new Promise((resolve) => {
    void (async () => {
      const decoder = new TextDecoder();
      let pending = "";
      let found = false;
      for await (const chunk of stream) {
        if (found) continue;
        pending += decoder.decode(chunk, { stream: true });
        let newline = pending.indexOf("\n");
        while (!found && newline >= 0) {
          const line = pending.slice(0, newline);
          onLine?.(line);
          const match = pattern.exec(line);
          pending = pending.slice(newline + 1);
          if (match) {
            found = true;
            resolve(match);
          }
          newline = pending.indexOf("\n");
        }
      }
      if (!found) resolve(undefined);
    })().catch(() => resolve(undefined));
  });
}

/** Reads a stream to its end in the background, keeping its last `keptChars` characters. */
function drain(stream: ReadableStream<Uint8Array>, keptChars: number): { text(): string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      if (text.length > keptChars * 2) text = text.slice(-keptChars);
    }
  })().catch(() => {});
  return { text: () => text.slice(-keptChars), done };
}

async function waitForExit(child: Subprocess, waitMs: number, stderr: () => string): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([
    child.exited,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs))),
  ]);
  clearTimeout(timer);
  if (code === undefined) {
    child.kill("SIGKILL");
    await child.exited;
    throw new Error(`process ${child.pid} did not exit within ${waitMs} ms; killed it\nstderr:\n${stderr()}`);
  }
  return code;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the run hit its time bound and was killed. */
  timedOut: boolean;
}

export interface RunCliOptions {
  stdin?: string;
  /** Default 30 s; the process is killed when it is exceeded. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** Runs `gafka <args>` to its end and collects its output. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const child = Bun.spawn(gafkaCommand(args), {
    cwd: repoRoot,
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1", ...options.env },
  });
  return collect(child, options.timeoutMs ?? CLI_TIMEOUT_MS_DEFAULT);
}

/** A record as `gafka consume --json` prints it, one object a line. */
export interface PrintedRecord {
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

/** The records a `gafka consume --json` has printed so far. */
export function printedRecords(cli: SpawnedCli): PrintedRecord[] {
  return cli
    .stdout()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as PrintedRecord);
}

export interface SpawnedCli {
  process: Subprocess;
  /** Writes to its stdin (spawned with `stdin: "pipe"`). */
  writeStdin(text: string): void;
  /** Closes its stdin (end of input). */
  endStdin(): void;
  /** Stdout so far. */
  stdout(): string;
  /** Resolves once stdout matches `pattern`; rejects after `waitMs` (default 20 s) or when the process ends first. */
  waitForStdout(pattern: RegExp, waitMs?: number): Promise<void>;
  /** The whole run, once it ends (killed at its time bound). */
  result: Promise<CliResult>;
}

export interface SpawnCliOptions extends Omit<RunCliOptions, "stdin"> {
  /** "pipe" to write its input bit by bit (writeStdin, endStdin); default "ignore". */
  stdin?: "pipe" | "ignore";
}

/** Starts `gafka <args>` without waiting, for commands that follow (consume) or read stdin as it comes (produce). */
export function spawnCli(args: string[], options: SpawnCliOptions = {}): SpawnedCli {
  const child = Bun.spawn(gafkaCommand(args), {
    cwd: repoRoot,
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1", ...options.env },
  });
  let stdout = "";
  const stdoutDone = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) stdout += decoder.decode(chunk, { stream: true });
  })();
  const result = collect(child, options.timeoutMs ?? CLI_TIMEOUT_MS_DEFAULT, stdoutDone.then(() => stdout));
  return {
    process: child,
    writeStdin(text) {
      if (typeof child.stdin !== "object" || child.stdin === null) throw new Error("spawnCli: stdin is not a pipe (pass stdin: \"pipe\")");
      child.stdin.write(text);
      child.stdin.flush();
    },
    endStdin() {
      if (typeof child.stdin === "object" && child.stdin !== null) child.stdin.end();
    },
    stdout: () => stdout,
    async waitForStdout(pattern, waitMs = LISTENING_WAIT_MS) {
      const deadline = performance.now() + waitMs;
      while (!pattern.test(stdout)) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`process ended before its stdout matched ${pattern}\nstdout:\n${stdout}`);
        }
        if (performance.now() > deadline) throw new Error(`stdout did not match ${pattern} within ${waitMs} ms\nstdout:\n${stdout}`);
        await Bun.sleep(10);
      }
    },
    result,
  };
}

async function collect(child: Subprocess<any, "pipe", "pipe">, timeoutMs: number, stdoutText?: Promise<string>): Promise<CliResult> {
  running.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const [stdout, stderr, exitCode] = await Promise.all([
      stdoutText ?? new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { exitCode, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
    running.delete(child);
  }
}

/** For afterAll: kills every process still running and removes every temporary directory. */
export async function cleanupAll(): Promise<void> {
  const processes = [...running];
  for (const child of processes) child.kill("SIGKILL");
  await Promise.all(processes.map((child) => child.exited));
  running.clear();
  const dirs = [...temporaryDirs];
  temporaryDirs.clear();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

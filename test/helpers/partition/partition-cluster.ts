import type { Subprocess } from "bun";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { repoRoot } from "../broker-process.ts";
import { reserveTestPort } from "../test-ports.ts";
import { startDelayProxy, type DelayProxy } from "./delay-proxy.ts";
import { createNetnsPair, type NetnsPair } from "./netns.ts";

/**
 * A leader (side A) and its follower (side B) that a test can partition.
 *
 * - `netns`: each broker in its own network namespace; the brokers talk over
 *   a veth link that `cut()` takes down (netns.ts). Needs root.
 * - `proxy`: both brokers on loopback, each reaching the other only through a
 *   delay-proxy.ts proxy (each advertises its proxy's address); `cut()` stops
 *   both proxies. Works anywhere; also the slow link of scenario G.
 *
 * The test process reaches both brokers directly in both cases (it watches
 * the whole cluster). Clients that stand on one side of the partition ask
 * `canReach(side, node)` before each call: a client on B cannot reach A
 * while the link is cut. That models the clients' view of the partition;
 * the brokers' view of it is the real link (or proxy) going down.
 */

export type Side = "a" | "b";
export type NetworkKind = "netns" | "proxy";

export interface PartitionNode {
  readonly side: Side;
  readonly id: number;
  /** Base URL the test process uses. */
  readonly url: string;
  /** host:port for the CLI run from the test process. */
  readonly hostPort: string;
  /** host:port the other broker uses for it (what it names as leader in a 421). */
  readonly advertised: string;
  readonly dataDir: string;
  stderr(): string;
  kill(): Promise<void>;
}

export interface PartitionCluster {
  readonly kind: NetworkKind;
  readonly a: PartitionNode;
  readonly b: PartitionNode;
  cut(): void;
  heal(): void;
  readonly isCut: boolean;
  /** Delay each way on the link (proxy only; the netns kernel has no netem). */
  setDelayMs(delayMs: number): void;
  /** The node a broker's advertised address (or the test's host:port) names. */
  nodeByAddress(address: string | null | undefined): PartitionNode | undefined;
  /** Whether a client standing on `side` can reach `node` now. */
  canReach(side: Side, node: PartitionNode): boolean;
  cleanup(): Promise<void>;
}

export interface PartitionClusterOptions {
  kind: NetworkKind;
  /** Extra `gafka broker` flags for both brokers, e.g. ["--min-insync-replicas=2", "--replica-lag-max=3s"]. */
  brokerArgs: string[];
  delayMs?: number;
}

const LISTENING_WAIT_MS = 20_000;
const STDERR_KEPT_CHARS = 32_000;
const NETNS_PORT = 9092;

export async function startPartitionCluster(options: PartitionClusterOptions): Promise<PartitionCluster> {
  const spawned: SpawnedNode[] = [];
  const dataDirs: string[] = [];
  let pair: NetnsPair | undefined;
  const proxies: DelayProxy[] = [];
  const cleanup = async () => {
    for (const node of spawned) node.process.kill("SIGKILL");
    await Promise.all(spawned.map((node) => node.process.exited));
    for (const proxy of proxies) proxy.close();
    pair?.cleanup();
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    for (const dir of dataDirs) liveDataDirs.delete(dir);
  };
  try {
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(path.join(tmpdir(), "gafka-partition-"));
      dataDirs.push(dir);
      liveDataDirs.add(dir);
    }
    let a: PartitionNode;
    let b: PartitionNode;
    if (options.kind === "netns") {
      const made = createNetnsPair();
      pair = made;
      const leaderAt = `${made.a.linkAddress}:${NETNS_PORT}`;
      const followerAt = `${made.b.linkAddress}:${NETNS_PORT}`;
      const brokerCommand = (side: typeof made.a, dataDir: string, args: string[]) =>
        made.command(side, [process.execPath, path.join(repoRoot, "src/main.ts"), "broker", "--host=0.0.0.0", "--auth=off", `--port=${NETNS_PORT}`, "--kafka-port=0", `--data-dir=${dataDir}`, ...args]);
      const leader = await spawnNode(brokerCommand(made.a, dataDirs[0]!, ["--id=1", "--role=leader", `--advertised-address=${leaderAt}`, ...options.brokerArgs]));
      spawned.push(leader);
      const follower = await spawnNode(
        brokerCommand(made.b, dataDirs[1]!, ["--id=2", "--role=follower", `--leader=${leaderAt}`, `--advertised-address=${followerAt}`, ...options.brokerArgs]),
      );
      spawned.push(follower);
      a = node("a", 1, `${made.a.rootAddress}:${NETNS_PORT}`, leaderAt, dataDirs[0]!, leader);
      b = node("b", 2, `${made.b.rootAddress}:${NETNS_PORT}`, followerAt, dataDirs[1]!, follower);
    } else {
      const [portA, portB] = [await reserveTestPort(), await reserveTestPort()];
      const toA = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: portA, delayMs: options.delayMs });
      proxies.push(toA);
      const toB = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: portB, delayMs: options.delayMs });
      proxies.push(toB);
      const brokerCommand = (port: number, dataDir: string, args: string[]) => [
        process.execPath,
        path.join(repoRoot, "src/main.ts"),
        "broker",
        "--host=127.0.0.1",
        `--port=${port}`,
        "--kafka-port=0",
        `--data-dir=${dataDir}`,
        ...args,
      ];
      const leader = await spawnNode(brokerCommand(portA, dataDirs[0]!, ["--id=1", "--role=leader", `--advertised-address=${toA.hostPort}`, ...options.brokerArgs]));
      spawned.push(leader);
      const follower = await spawnNode(
        brokerCommand(portB, dataDirs[1]!, ["--id=2", "--role=follower", `--leader=${toA.hostPort}`, `--advertised-address=${toB.hostPort}`, ...options.brokerArgs]),
      );
      spawned.push(follower);
      a = node("a", 1, `127.0.0.1:${portA}`, toA.hostPort, dataDirs[0]!, leader);
      b = node("b", 2, `127.0.0.1:${portB}`, toB.hostPort, dataDirs[1]!, follower);
    }
    let proxyCut = false;
    return {
      kind: options.kind,
      a,
      b,
      cut() {
        if (pair !== undefined) pair.cut();
        for (const proxy of proxies) proxy.cut();
        proxyCut = true;
      },
      heal() {
        if (pair !== undefined) pair.heal();
        for (const proxy of proxies) proxy.heal();
        proxyCut = false;
      },
      get isCut() {
        return pair?.isCut ?? proxyCut;
      },
      setDelayMs(delayMs) {
        if (proxies.length === 0) throw new Error("a delayed link needs the proxy network (this kernel has no netem)");
        for (const proxy of proxies) proxy.setDelayMs(delayMs);
      },
      nodeByAddress(address) {
        if (address === null || address === undefined) return undefined;
        return [a, b].find((n) => n.advertised === address || n.hostPort === address || n.url === address);
      },
      canReach(side, target) {
        return target.side === side || !(pair?.isCut ?? proxyCut);
      },
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function node(side: Side, id: number, hostPort: string, advertised: string, dataDir: string, spawned: SpawnedNode): PartitionNode {
  return {
    side,
    id,
    url: `http://${hostPort}`,
    hostPort,
    advertised,
    dataDir,
    stderr: spawned.stderr,
    async kill() {
      spawned.process.kill("SIGKILL");
      await spawned.process.exited;
    },
  };
}

interface SpawnedNode {
  process: Subprocess<"ignore", "pipe", "pipe">;
  stderr(): string;
}

/** Brokers still running, killed by an exit hook should the process end before a cluster's cleanup. */
const running = new Set<Subprocess>();
const liveDataDirs = new Set<string>();
let exitHookInstalled = false;

async function spawnNode(command: string[]): Promise<SpawnedNode> {
  const child = Bun.spawn(command, { cwd: repoRoot, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  running.add(child);
  void child.exited.then(() => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A namespace deleted while a broker still runs in it lives on (with its veths) until the broker dies.
    process.on("exit", () => {
      for (const broker of running) broker.kill("SIGKILL");
      for (const dir of liveDataDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  let stderr = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      if (stderr.length > STDERR_KEPT_CHARS * 2) stderr = stderr.slice(-STDERR_KEPT_CHARS);
    }
  })().catch(() => {});
  let stdout = "";
  let listening = false;
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      if (listening) continue; // keep draining so the pipe never fills
      stdout += decoder.decode(chunk, { stream: true });
      if (/listening on /.test(stdout)) listening = true;
    }
  })().catch(() => {});
  const deadline = performance.now() + LISTENING_WAIT_MS;
  while (!listening) {
    if (child.exitCode !== null || performance.now() > deadline) {
      child.kill("SIGKILL");
      await child.exited;
      throw new Error(`broker did not start: ${command.join(" ")}\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-STDERR_KEPT_CHARS)}`);
    }
    await Bun.sleep(10);
  }
  return { process: child, stderr: () => stderr.slice(-STDERR_KEPT_CHARS) };
}

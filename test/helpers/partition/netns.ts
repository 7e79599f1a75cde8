import { spawnSync } from "node:child_process";

/**
 * Two network namespaces, A and B, joined by a veth pair: the link between
 * a leader and its follower, which `cut()` takes down and `heal()` brings
 * back (`ip link set … down|up`; the kernel here has no netem). Each
 * namespace also gets a veth to the root namespace so that the test process
 * reaches the broker on each side while the A–B link is down; neither
 * namespace has a route to the other except the A–B link, so a cut is a
 * real partition between the brokers. All addresses are link-local
 * (169.254.S.0/28, S chosen free per run); no traffic leaves the namespaces
 * and veths made here.
 *
 * Needs root (CAP_NET_ADMIN) and `ip netns`; `netnsSupport()` says whether
 * this machine has them. Names are unique per process and pair
 * (`gafka-<pid>-<n>-a`); `cleanup()` deletes both namespaces (their veths
 * go with them), and an exit hook does it too should the process end first.
 * Namespaces left by runs that were killed (their pid no longer exists) are
 * removed when a new pair is made.
 */

export interface NetnsSide {
  /** Namespace name. */
  readonly ns: string;
  /** This side's address on the A–B link (what the other broker dials). */
  readonly linkAddress: string;
  /** This side's address on its link to the root namespace (what the test process dials). */
  readonly rootAddress: string;
}

export interface NetnsPair {
  readonly a: NetnsSide;
  readonly b: NetnsSide;
  /** `ip netns exec <ns>` + command. */
  command(side: NetnsSide, command: string[]): string[];
  cut(): void;
  heal(): void;
  readonly isCut: boolean;
  cleanup(): void;
}

export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== "linux") return { ok: false, reason: "network namespaces need Linux" };
  if (typeof process.getuid === "function" && process.getuid() !== 0) return { ok: false, reason: "network namespaces need root (run as root, as CI does)" };
  const probe = `gafka-${process.pid}-probe`;
  const added = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (added.error !== undefined || added.status !== 0) {
    return { ok: false, reason: `'ip netns add' failed: ${(added.error?.message ?? added.stderr).trim()}` };
  }
  const veth = spawnSync("ip", ["link", "add", `gp${process.pid}x`, "type", "veth", "peer", "name", `gp${process.pid}y`], { encoding: "utf8" });
  spawnSync("ip", ["link", "del", `gp${process.pid}x`]);
  spawnSync("ip", ["netns", "del", probe]);
  if (veth.status !== 0) return { ok: false, reason: `'ip link add … type veth' failed: ${veth.stderr.trim()}` };
  return { ok: true };
}

let pairsMade = 0;
const live = new Set<NetnsPair>();
let exitHookInstalled = false;

function ip(...args: string[]): void {
  const result = spawnSync("ip", args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`ip ${args.join(" ")} failed: ${(result.stderr ?? result.error?.message ?? "").trim()}`);
}

function inNs(ns: string, ...args: string[]): void {
  ip("netns", "exec", ns, "ip", ...args);
}

export function createNetnsPair(): NetnsPair {
  removeAbandoned();
  const n = ++pairsMade;
  const tag = `${process.pid}-${n}`;
  const names = { a: `gafka-${tag}-a`, b: `gafka-${tag}-b` };
  // Interface names are at most 15 characters.
  const veth = { ab: `g${tag}ab`, ba: `g${tag}ba`, ra: `g${tag}ra`, ar: `g${tag}ar`, rb: `g${tag}rb`, br: `g${tag}br` };
  if (veth.ab.length > 15) throw new Error(`interface name ${veth.ab} is too long`);
  const s = freeSubnet();
  const address = (host: number) => `169.254.${s}.${host}`;
  const a: NetnsSide = { ns: names.a, linkAddress: address(1), rootAddress: address(6) };
  const b: NetnsSide = { ns: names.b, linkAddress: address(2), rootAddress: address(10) };

  let isCut = false;
  let cleaned = false;
  const pair: NetnsPair = {
    a,
    b,
    command: (side, command) => ["ip", "netns", "exec", side.ns, ...command],
    cut() {
      inNs(names.a, "link", "set", "dev", veth.ab, "down");
      inNs(names.b, "link", "set", "dev", veth.ba, "down");
      isCut = true;
    },
    heal() {
      inNs(names.a, "link", "set", "dev", veth.ab, "up");
      inNs(names.b, "link", "set", "dev", veth.ba, "up");
      isCut = false;
    },
    get isCut() {
      return isCut;
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      live.delete(pair);
      // Deleting a namespace deletes the veths in it, and with them their peers in the root namespace.
      for (const ns of [names.a, names.b]) spawnSync("ip", ["netns", "del", ns]);
      for (const name of [veth.ra, veth.rb]) spawnSync("ip", ["link", "del", name]);
    },
  };
  live.add(pair);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const p of [...live]) p.cleanup();
    });
  }

  try {
    ip("netns", "add", names.a);
    ip("netns", "add", names.b);
    for (const ns of [names.a, names.b]) inNs(ns, "link", "set", "dev", "lo", "up");
    // A <-> B: the link a partition cuts.
    ip("link", "add", veth.ab, "netns", names.a, "type", "veth", "peer", "name", veth.ba, "netns", names.b);
    inNs(names.a, "addr", "add", `${a.linkAddress}/30`, "dev", veth.ab);
    inNs(names.b, "addr", "add", `${b.linkAddress}/30`, "dev", veth.ba);
    // root <-> A and root <-> B: how the test process reaches each side's broker.
    ip("link", "add", veth.ra, "type", "veth", "peer", "name", veth.ar, "netns", names.a);
    ip("addr", "add", `${address(5)}/30`, "dev", veth.ra);
    inNs(names.a, "addr", "add", `${a.rootAddress}/30`, "dev", veth.ar);
    ip("link", "add", veth.rb, "type", "veth", "peer", "name", veth.br, "netns", names.b);
    ip("addr", "add", `${address(9)}/30`, "dev", veth.rb);
    inNs(names.b, "addr", "add", `${b.rootAddress}/30`, "dev", veth.br);
    for (const name of [veth.ra, veth.rb]) ip("link", "set", "dev", name, "up");
    inNs(names.a, "link", "set", "dev", veth.ab, "up");
    inNs(names.a, "link", "set", "dev", veth.ar, "up");
    inNs(names.b, "link", "set", "dev", veth.ba, "up");
    inNs(names.b, "link", "set", "dev", veth.br, "up");
  } catch (error) {
    pair.cleanup();
    throw error;
  }
  return pair;
}

/** A third octet no address of the root namespace uses yet (another run's pair, say). */
function freeSubnet(): number {
  const used = spawnSync("ip", ["-4", "-o", "addr"], { encoding: "utf8" }).stdout ?? "";
  for (let tried = 0; tried < 200; tried++) {
    const s = 20 + ((process.pid + pairsMade * 7 + tried) % 200); // 20–219: clear of 169.254.169.254
    if (!used.includes(`169.254.${s}.`)) return s;
  }
  throw new Error("no free 169.254.x.0/28 subnet left for a namespace pair");
}

/** Deletes `gafka-<pid>-…` namespaces whose process is gone (a run killed before its cleanup). */
function removeAbandoned(): void {
  const listed = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  for (const line of listed.split("\n")) {
    const match = /^(gafka-(\d+)-\S+)/.exec(line);
    if (match === null || processExists(Number(match[2]))) continue;
    spawnSync("ip", ["netns", "del", match[1]!]);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

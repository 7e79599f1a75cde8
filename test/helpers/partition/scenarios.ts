import { runCli } from "../broker-process.ts";
import { checkHistory, type CheckReport } from "./partition-checker.ts";
import { emptyHistory, type FinalState } from "./history.ts";
import { startPartitionCluster, type NetworkKind, type PartitionCluster, type PartitionNode } from "./partition-cluster.ts";
import { startWorkload, type Outcomes } from "./workload.ts";

/**
 * Scenarios A–G of issue 13, each a function of (network, length) usable by
 * the short run in test/partition.test.ts and by `bun bench/partition.ts`.
 * A scenario starts a leader (side A) and a follower (side B), runs its
 * clients, cuts the link, promotes B as an operator would (`gafka admin
 * promote`, which may wait out the old leader's lease, and may refuse: that
 * is recorded, not an error), heals, waits for the two brokers to agree,
 * stops the clients and reads the final state from the leader; the checker
 * (partition-checker.ts) then judges the whole history.
 */

export type ScenarioName = "A" | "B" | "C" | "D" | "E" | "F" | "G";
export const SCENARIO_NAMES: ScenarioName[] = ["A", "B", "C", "D", "E", "F", "G"];

export interface ScenarioSpec {
  name: ScenarioName;
  title: string;
  acks: "1" | "all";
  minInsyncReplicas: number;
  replicaLagMaxMs: number;
  writers: { a: number; b: number };
  readers: ("a" | "b")[];
  group: boolean;
  /** Promote while the link is cut, right away (F) or after the follower fell out of sync (the rest); none for G. */
  promote: "after-lag" | "right-away" | "none";
  /**
   * E: the members leave as the link heals, so that the committed offsets read
   * afterwards are what the cluster kept, not what members committed since.
   */
  membersLeaveAtHeal?: boolean;
  /** Records per produce request (default 5). */
  recordsPerRequest?: number;
  /** G: delay each way on the link, no cut. */
  slowLinkDelayMs?: number;
}

export const SCENARIOS: Record<ScenarioName, ScenarioSpec> = {
  A: { name: "A", title: "acks=all, min.insync 2, 8 writers: cut, promote, heal", acks: "all", minInsyncReplicas: 2, replicaLagMaxMs: 3000, writers: { a: 8, b: 2 }, readers: [], group: false, promote: "after-lag" },
  B: { name: "B", title: "acks=1, min.insync 2, readers on both sides: dirty reads", acks: "1", minInsyncReplicas: 2, replicaLagMaxMs: 2000, writers: { a: 4, b: 2 }, readers: ["a", "b"], group: false, promote: "after-lag" },
  C: { name: "C", title: "acks=all, min.insync 1: both sides acknowledge", acks: "all", minInsyncReplicas: 1, replicaLagMaxMs: 2000, writers: { a: 4, b: 4 }, readers: [], group: false, promote: "after-lag" },
  D: { name: "D", title: "a consumer group, members on both sides: owners", acks: "1", minInsyncReplicas: 2, replicaLagMaxMs: 2000, writers: { a: 1, b: 1 }, readers: [], group: true, promote: "after-lag" },
  E: { name: "E", title: "group commits during the cut: committed offsets after the heal", acks: "all", minInsyncReplicas: 2, replicaLagMaxMs: 2000, writers: { a: 2, b: 0 }, readers: [], group: true, promote: "after-lag", membersLeaveAtHeal: true },
  F: { name: "F", title: "promote right after the cut: never waits on the unreachable leader", acks: "all", minInsyncReplicas: 2, replicaLagMaxMs: 2000, writers: { a: 4, b: 2 }, readers: ["a"], group: false, promote: "right-away" },
  G: { name: "G", title: "200 ms each way, replica lag max 1 s: in-sync set under a slow link", acks: "all", minInsyncReplicas: 2, replicaLagMaxMs: 1000, writers: { a: 32, b: 0 }, recordsPerRequest: 50, readers: [], group: false, promote: "none", slowLinkDelayMs: 200 },
};

export interface RunOptions {
  network: NetworkKind;
  /** Shorter phases and lag bounds, for `npm test`. */
  short?: boolean;
  /** Progress lines (the bench prints them; tests keep quiet). */
  log?: (line: string) => void;
}

export interface PromoteOutcome {
  outcome: "promoted" | "refused" | "timed-out";
  exitCode: number;
  /** From issuing the command to its end. */
  tookMs: number;
  /** F: the link healed before the command ended (it waited on the unreachable leader). */
  endedAfterHeal: boolean;
  message: string;
}

export interface SlowLinkOutcome {
  /** Longest stretch with the follower out of the in-sync set for some partition, while the load ran. */
  longestOutOfSyncMs: number;
  /** Total time out of sync while the load ran, over the load's length. */
  outOfSyncMs: number;
  loadMs: number;
  /** From the end of the load to the follower back in sync for every partition (null: not within the bound). */
  rejoinAfterLoadMs: number | null;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  network: NetworkKind;
  report: CheckReport;
  promote: PromoteOutcome | null;
  produceOutcomes: Outcomes;
  commitOutcomes: Outcomes;
  /** The two brokers agreed on one leader and the follower caught up after the heal. */
  converged: boolean;
  /** Which broker led at the end. */
  finalLeader: "a" | "b" | null;
  slowLink: SlowLinkOutcome | null;
  elapsedMs: number;
}

const TOPIC = "part";
const PARTITIONS = 2;
const CONVERGE_BOUND_MS = 45_000;
const PROMOTE_TIMEOUT_MS = 60_000;

export async function runScenario(name: ScenarioName, options: RunOptions): Promise<ScenarioResult> {
  const spec = SCENARIOS[name];
  const log = options.log ?? (() => {});
  const short = options.short ?? false;
  // The short run keeps the shape of each scenario with a smaller lag bound (G's is already 1 s).
  const lagMaxMs = short && spec.name !== "G" ? 1000 : spec.replicaLagMaxMs;
  const network: NetworkKind = spec.slowLinkDelayMs !== undefined ? "proxy" : options.network;
  const startedAtMs = performance.now();
  const cluster = await startPartitionCluster({
    kind: network,
    brokerArgs: [`--min-insync-replicas=${spec.minInsyncReplicas}`, `--replica-lag-max=${lagMaxMs}ms`],
  });
  const history = emptyHistory();
  try {
    const created = await fetchJson(cluster.a, "POST", "/api/v1/topics", { name: TOPIC, partitions: PARTITIONS });
    if (created.status !== 201) throw new Error(`create-topic answered ${created.status}: ${JSON.stringify(created.body)}`);
    await waitInSync(cluster.a, cluster.b, 30_000);
    const workload = startWorkload({
      cluster,
      history,
      topic: TOPIC,
      partitions: PARTITIONS,
      acks: spec.acks,
      writers: spec.writers,
      recordsPerRequest: spec.recordsPerRequest ?? 5,
      readers: spec.readers,
      group: spec.group ? { id: "g", members: ["a", "b"], sessionTimeoutMs: short ? 2000 : 3000 } : undefined,
      tag: `${spec.name}${process.pid}`,
    });
    let promote: PromoteOutcome | null = null;
    let slowLink: SlowLinkOutcome | null = null;
    const warmUpMs = spec.group ? 2000 : 1000;

    if (spec.slowLinkDelayMs !== undefined) {
      slowLink = await slowLinkPhase(cluster, spec.slowLinkDelayMs, short ? 4000 : 8000, workload.stop, lagMaxMs);
    } else {
      await Bun.sleep(warmUpMs);
      cluster.cut();
      log(`${spec.name}: cut`);
      let healedAtMs = Number.POSITIVE_INFINITY;
      if (spec.promote === "right-away") {
        await Bun.sleep(300);
        // Heal on a timer of its own: the promotion must end before it, whatever it waits for.
        const healAfterMs = lagMaxMs * 2 + 6000;
        const healTimer = Bun.sleep(healAfterMs).then(() => {
          cluster.heal();
          healedAtMs = performance.now();
          log(`${spec.name}: healed`);
        });
        promote = await promoteFollower(cluster, () => healedAtMs);
        log(`${spec.name}: promote ${promote.outcome} in ${Math.round(promote.tookMs)} ms`);
        await healTimer;
      } else {
        await Bun.sleep(lagMaxMs + (short ? 1000 : 1500));
        promote = await promoteFollower(cluster, () => healedAtMs);
        log(`${spec.name}: promote ${promote.outcome} in ${Math.round(promote.tookMs)} ms`);
        await Bun.sleep(short ? 1500 : 2500); // both sides take clients' calls, if both think they lead
        if (spec.membersLeaveAtHeal) await workload.stopMembers();
        cluster.heal();
        healedAtMs = performance.now();
        log(`${spec.name}: healed`);
      }
      await Bun.sleep(short ? 1500 : 2500); // clients find the leader again
      await workload.stop();
    }

    const leader = await waitConverged(cluster, CONVERGE_BOUND_MS);
    const converged = leader !== undefined;
    const source = leader ?? (await currentLeader(cluster)) ?? cluster.a;
    const final = await readFinal(source, spec.group ? "g" : undefined);
    const report = checkHistory(history, final);
    return {
      scenario: spec.name,
      network,
      report,
      promote,
      produceOutcomes: workload.produceOutcomes,
      commitOutcomes: workload.commitOutcomes,
      converged,
      finalLeader: leader === undefined ? null : leader.side,
      slowLink,
      elapsedMs: performance.now() - startedAtMs,
    };
  } catch (error) {
    const tail = (node: PartitionNode) => node.stderr().split("\n").slice(-15).join("\n");
    throw new Error(`scenario ${spec.name} failed: ${error instanceof Error ? error.stack : error}\n-- broker A --\n${tail(cluster.a)}\n-- broker B --\n${tail(cluster.b)}`);
  } finally {
    await cluster.cleanup();
  }
}

/** `gafka admin promote` of B, as an operator types it; a refusal is an outcome, not a failure. */
async function promoteFollower(cluster: PartitionCluster, healedAtMs: () => number): Promise<PromoteOutcome> {
  const startedAtMs = performance.now();
  const result = await runCli(["admin", "promote", `--broker=${cluster.b.hostPort}`], { timeoutMs: PROMOTE_TIMEOUT_MS });
  const endedAtMs = performance.now();
  return {
    outcome: result.timedOut ? "timed-out" : result.exitCode === 0 ? "promoted" : "refused",
    exitCode: result.exitCode,
    tookMs: endedAtMs - startedAtMs,
    endedAfterHeal: endedAtMs > healedAtMs(),
    message: (result.exitCode === 0 ? result.stdout : result.stderr).trim().split("\n")[0] ?? "",
  };
}

/** G: the load runs over a slow link; the leader's view of the follower is sampled every 100 ms. */
async function slowLinkPhase(cluster: PartitionCluster, delayMs: number, loadMs: number, stopLoad: () => Promise<void>, lagMaxMs: number): Promise<SlowLinkOutcome> {
  cluster.setDelayMs(delayMs);
  const loadStartMs = performance.now();
  let outOfSyncSinceMs: number | null = null;
  let longestOutOfSyncMs = 0;
  let outOfSyncMs = 0;
  let lastSampleMs = loadStartMs;
  while (performance.now() - loadStartMs < loadMs) {
    await Bun.sleep(100);
    const now = performance.now();
    const inSync = await followerInSync(cluster.a);
    if (!inSync) {
      outOfSyncSinceMs ??= now;
      outOfSyncMs += now - lastSampleMs;
      longestOutOfSyncMs = Math.max(longestOutOfSyncMs, now - outOfSyncSinceMs);
    } else {
      outOfSyncSinceMs = null;
    }
    lastSampleMs = now;
  }
  const loadEndMs = performance.now();
  await stopLoad();
  let rejoinAfterLoadMs: number | null = null;
  const bound = loadEndMs + Math.max(30_000, lagMaxMs * 10);
  while (performance.now() < bound) {
    if (await followerInSync(cluster.a)) {
      rejoinAfterLoadMs = performance.now() - loadEndMs;
      break;
    }
    await Bun.sleep(50);
  }
  return { longestOutOfSyncMs, outOfSyncMs, loadMs: loadEndMs - loadStartMs, rejoinAfterLoadMs };
}

async function followerInSync(leader: PartitionNode): Promise<boolean> {
  const view = await status(leader);
  if (view === undefined) return false;
  const follower = view.followers?.[0];
  return follower?.connected && follower.in_sync_partitions === view.partitions.length;
}

async function fetchJson(node: PartitionNode, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

async function status(node: PartitionNode): Promise<any | undefined> {
  try {
    const answer = await fetchJson(node, "GET", "/api/v1/replication/status");
    return answer.status === 200 ? answer.body : undefined;
  } catch {
    return undefined;
  }
}

async function waitInSync(leader: PartitionNode, follower: PartitionNode, boundMs: number): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!(await caughtUp(leader, follower))) {
    if (performance.now() > deadline) throw new Error(`the follower did not catch up within ${boundMs} ms`);
    await Bun.sleep(20);
  }
}

/** The follower holds everything the leader does, is in sync for every partition, and serves the same high watermark. */
async function caughtUp(leader: PartitionNode, follower: PartitionNode): Promise<boolean> {
  const [mine, theirs] = [await status(leader), await status(follower)];
  if (mine === undefined || theirs === undefined || mine.role !== "leader" || mine.fenced || theirs.role !== "follower") return false;
  if (theirs.leader_epoch !== mine.leader_epoch || mine.partitions.length === 0) return false;
  const seen = mine.followers.find((f: any) => f.id === follower.id);
  if (seen === undefined || !seen.connected || seen.lag !== 0 || seen.in_sync_partitions !== mine.partitions.length) return false;
  const ends = new Map(mine.partitions.map((p: any) => [p.partition, p]));
  return theirs.partitions.every((p: any) => {
    const at: any = ends.get(p.partition);
    return at !== undefined && at.log_end_offset === p.log_end_offset && at.high_watermark === p.high_watermark;
  });
}

async function currentLeader(cluster: PartitionCluster): Promise<PartitionNode | undefined> {
  let best: { node: PartitionNode; epoch: number } | undefined;
  for (const node of [cluster.a, cluster.b]) {
    const view = await status(node);
    if (view?.role === "leader" && !view.fenced && (best === undefined || view.leader_epoch > best.epoch)) best = { node, epoch: view.leader_epoch };
  }
  return best?.node;
}

/** One broker leads, the other follows it under its epoch and has caught up. */
async function waitConverged(cluster: PartitionCluster, boundMs: number): Promise<PartitionNode | undefined> {
  const deadline = performance.now() + boundMs;
  while (performance.now() < deadline) {
    for (const [leader, follower] of [
      [cluster.a, cluster.b],
      [cluster.b, cluster.a],
    ] as const) {
      if (await caughtUp(leader, follower)) return leader;
    }
    await Bun.sleep(100);
  }
  return undefined;
}

async function readFinal(leader: PartitionNode, group: string | undefined): Promise<FinalState> {
  const records = new Map<number, { offset: number; value: string }[]>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const list: { offset: number; value: string }[] = [];
    for (let next = 0; ; ) {
      const answer = await fetchJson(leader, "GET", `/api/v1/consume?topic=${TOPIC}&partition=${partition}&offset=${next}&count=10000&timeout=0`);
      if (answer.status !== 200) throw new Error(`final read answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      for (const record of answer.body.records) list.push({ offset: record.offset, value: record.value });
      next = answer.body.next_offset;
      if (answer.body.records.length === 0 || next >= answer.body.high_watermark) break;
    }
    records.set(partition, list);
  }
  const committed = new Map<number, number>();
  if (group !== undefined) {
    const answer = await fetchJson(leader, "GET", `/api/v1/consumer-groups/${group}/status`);
    if (answer.status === 200) {
      for (const p of answer.body.partitions) if (p.topic === TOPIC && typeof p.committed_offset === "number") committed.set(p.partition, p.committed_offset);
    }
  }
  return { records, committed };
}

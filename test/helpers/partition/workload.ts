import type { History, OwnershipClaim } from "./history.ts";
import type { PartitionCluster, PartitionNode, Side } from "./partition-cluster.ts";

/**
 * The clients of a partition scenario: writers, readers and group members,
 * each standing on one side of the partition, each logging into a shared
 * History exactly what the brokers told it. They speak the HTTP API
 * directly (docs/api.md), not the SDK, so that the log holds every answer
 * as the broker gave it; like the SDK they send the newest leader epoch
 * they have seen (header `gafka-leader-epoch`).
 */

const LEADER_EPOCH_HEADER = "gafka-leader-epoch";
/** What a call to an unreachable broker costs a client before it gives up on it (a connect timeout, shortened). */
const UNREACHABLE_MS = 200;
const CALL_TIMEOUT_MS = 10_000;

export type Answer = { kind: "answer"; status: number; body: any } | { kind: "unreachable"; reason: string };

/** One client's connection to the cluster, from one side. */
export class SideClient {
  maxEpochSeen = -1;
  constructor(
    readonly cluster: PartitionCluster,
    readonly side: Side,
  ) {}

  get ownNode(): PartitionNode {
    return this.side === "a" ? this.cluster.a : this.cluster.b;
  }

  async call(node: PartitionNode, method: string, pathAndQuery: string, body?: unknown): Promise<Answer> {
    if (!this.cluster.canReach(this.side, node)) {
      await Bun.sleep(UNREACHABLE_MS);
      return { kind: "unreachable", reason: `side ${this.side} cannot reach broker ${node.id} during the cut` };
    }
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.maxEpochSeen >= 0) headers[LEADER_EPOCH_HEADER] = String(this.maxEpochSeen);
    try {
      const response = await fetch(`${node.url}${pathAndQuery}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const epoch = Number(response.headers.get(LEADER_EPOCH_HEADER) ?? Number.NaN);
      if (Number.isSafeInteger(epoch)) this.maxEpochSeen = Math.max(this.maxEpochSeen, epoch);
      const text = await response.text();
      let parsed: any = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: kept as text for the log
      }
      const errorEpoch = parsed?.error?.leader_epoch ?? parsed?.error?.details?.leader_epoch;
      if (response.status === 421 && typeof errorEpoch === "number") this.maxEpochSeen = Math.max(this.maxEpochSeen, errorEpoch);
      return { kind: "answer", status: response.status, body: parsed };
    } catch (error) {
      return { kind: "unreachable", reason: error instanceof Error ? error.message : String(error) };
    }
  }
}

/** Counts of outcomes by kind ("ok", an error code, "unreachable"). */
export type Outcomes = Record<string, number>;

function count(outcomes: Outcomes, key: string): void {
  outcomes[key] = (outcomes[key] ?? 0) + 1;
}

function outcomeOf(answer: Answer): string {
  if (answer.kind === "unreachable") return "unreachable";
  if (answer.status === 200) return "ok";
  return `${answer.status} ${answer.body?.error?.code ?? "?"}`;
}

/** The leader a 421 names, when the test can reach it. */
function namedLeader(cluster: PartitionCluster, answer: Answer): PartitionNode | undefined {
  if (answer.kind !== "answer" || answer.status !== 421) return undefined;
  const error = answer.body?.error;
  return cluster.nodeByAddress(error?.leader ?? error?.details?.leader);
}

export interface Workload {
  stop(): Promise<void>;
  /** Stops the group members only (they leave); writers and readers go on. */
  stopMembers(): Promise<void>;
  produceOutcomes: Outcomes;
  commitOutcomes: Outcomes;
}

export interface WorkloadOptions {
  cluster: PartitionCluster;
  history: History;
  topic: string;
  partitions: number;
  acks: "0" | "1" | "all";
  writers: { a: number; b: number };
  recordsPerRequest: number;
  /** One explicit-offset reader per partition on each listed side. */
  readers: Side[];
  /** Group members: one per listed side, all starting at side A's broker (the leader). */
  group?: { id: string; members: Side[]; sessionTimeoutMs: number };
  /** A tag making values unique across runs. */
  tag: string;
}

export function startWorkload(options: WorkloadOptions): Workload {
  let stopped = false;
  let membersStopped = false;
  const memberLoops: Promise<void>[] = [];
  const produceOutcomes: Outcomes = {};
  const commitOutcomes: Outcomes = {};
  const loops: Promise<void>[] = [];
  const { cluster, history, topic } = options;

  const writer = async (side: Side, index: number) => {
    const client = new SideClient(cluster, side);
    for (let seq = 0; !stopped; seq++) {
      const partition = (index + seq) % options.partitions;
      const values = Array.from({ length: options.recordsPerRequest }, (_, i) => `${options.tag}-${side}${index}-${seq}-${i}`);
      const answer = await client.call(client.ownNode, "POST", "/api/v1/produce", {
        topic,
        acks: options.acks === "all" ? "all" : Number(options.acks),
        records: values.map((value) => ({ value, partition })),
      });
      count(produceOutcomes, outcomeOf(answer));
      if (answer.kind === "answer" && answer.status === 200) {
        const atMs = performance.now();
        answer.body.results.forEach((result: { partition: number; offset: number }, i: number) =>
          history.produced.push({ value: values[i]!, partition: result.partition, offset: result.offset ?? -1, acks: options.acks, broker: client.ownNode.url, atMs }),
        );
      } else {
        await Bun.sleep(answer.kind === "answer" && answer.status === 421 ? 100 : 20);
      }
    }
  };

  const reader = async (side: Side, partition: number) => {
    const client = new SideClient(cluster, side);
    let next = 0;
    while (!stopped) {
      const answer = await client.call(client.ownNode, "GET", `/api/v1/consume?topic=${topic}&partition=${partition}&offset=${next}&count=1000&timeout=300ms`);
      if (answer.kind === "answer" && answer.status === 200) {
        const atMs = performance.now();
        for (const record of answer.body.records) history.reads.push({ value: record.value, partition, offset: record.offset, broker: client.ownNode.url, atMs });
        next = Math.max(next, answer.body.next_offset);
      } else {
        await Bun.sleep(100);
      }
    }
  };

  const member = async (side: Side, group: NonNullable<WorkloadOptions["group"]>) => {
    const client = new SideClient(cluster, side);
    const memberId = `m-${side}`;
    let target = cluster.a;
    let maxGroupEpoch = -1;
    const open = new Map<number, OwnershipClaim>();
    const dropAll = () => {
      const atMs = performance.now();
      for (const claim of open.values()) history.ownership.push({ ...claim, toMs: atMs });
      open.clear();
    };
    while (!stopped && !membersStopped) {
      const answer = await client.call(
        target,
        "GET",
        `/api/v1/consume?topic=${topic}&group_id=${group.id}&consumer_id=${memberId}&count=200&timeout=300ms&commit=none&session_timeout_ms=${group.sessionTimeoutMs}`,
      );
      const atMs = performance.now();
      if (answer.kind === "answer" && answer.status === 200) {
        const body = answer.body;
        const epoch: number | null = typeof body.leader_epoch === "number" ? body.leader_epoch : null;
        if (epoch !== null && epoch < maxGroupEpoch) {
          dropAll(); // an answer from a deposed coordinator: its assignment is not ours to act on
          continue;
        }
        if (epoch !== null) maxGroupEpoch = epoch;
        const assigned = new Set<number>(body.assignment.filter((tp: any) => tp.topic === topic).map((tp: any) => tp.partition));
        for (const [partition, claim] of open) {
          if (!assigned.has(partition) || claim.generation !== body.generation || claim.coordinator !== target.url || claim.leaderEpoch !== epoch) {
            history.ownership.push({ ...claim, toMs: atMs });
            open.delete(partition);
          }
        }
        for (const partition of assigned) {
          if (!open.has(partition)) open.set(partition, { member: memberId, partition, fromMs: atMs, toMs: atMs, coordinator: target.url, leaderEpoch: epoch, generation: body.generation });
        }
        const nextOffsets = new Map<number, number>();
        for (const record of body.records) {
          history.reads.push({ value: record.value, partition: record.partition, offset: record.offset, broker: target.url, atMs });
          nextOffsets.set(record.partition, Math.max(nextOffsets.get(record.partition) ?? 0, record.offset + 1));
        }
        if (nextOffsets.size > 0) {
          const offsets = [...nextOffsets].map(([partition, offset]) => ({ topic, partition, offset }));
          const committed = await client.call(target, "POST", `/api/v1/consumer-groups/${group.id}/offsets`, { consumer_id: memberId, generation: body.generation, offsets });
          count(commitOutcomes, outcomeOf(committed));
          if (committed.kind === "answer" && committed.status === 200) {
            const committedAtMs = performance.now();
            for (const { partition, offset } of offsets) history.commits.push({ group: group.id, partition, offset, broker: target.url, atMs: committedAtMs });
          }
        }
        continue;
      }
      // Any failed call: the member cannot confirm it still owns anything, so it stops acting on it.
      dropAll();
      const leader = namedLeader(cluster, answer);
      if (leader !== undefined && cluster.canReach(side, leader) && leader !== target) target = leader;
      else if (answer.kind === "unreachable") target = client.ownNode;
      else await Bun.sleep(100);
    }
    dropAll();
    await client.call(target, "DELETE", `/api/v1/consumer-groups/${group.id}/members/${memberId}`);
  };

  for (let i = 0; i < options.writers.a; i++) loops.push(writer("a", i));
  for (let i = 0; i < options.writers.b; i++) loops.push(writer("b", i));
  for (const side of options.readers) for (let p = 0; p < options.partitions; p++) loops.push(reader(side, p));
  if (options.group !== undefined) for (const side of options.group.members) memberLoops.push(member(side, options.group));

  return {
    produceOutcomes,
    commitOutcomes,
    async stop() {
      stopped = true;
      await Promise.all([...loops, ...memberLoops]);
    },
    async stopMembers() {
      membersStopped = true;
      await Promise.all(memberLoops);
    },
  };
}

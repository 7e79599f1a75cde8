import { routeTable } from "../../../src/http/server.ts";
import { type BrokerProcess, runCli } from "../broker-process.ts";
import { startFollower, startLeader, status, waitCaughtUp } from "../cluster.ts";
import type { FuzzScope } from "./base-requests.ts";
import { describeRequest, type FuzzRequest } from "./fuzz-request.ts";
import { Prng } from "./prng.ts";
import { referenceDifferences, writeReference } from "./reference-data.ts";
import { RequestGenerator } from "./request-generator.ts";
import { send, type WireOutcome } from "./wire-client.ts";

/**
 * One bounded fuzz run: a leader (and a follower) as real processes, reference
 * records and group offsets written first, then `requests` generated requests
 * over every route, `concurrency` at a time, each within `requestTimeoutMs`.
 * It checks that no answer is a 5xx, every 4xx is the JSON error shape, the
 * brokers stay up and answer /healthz throughout, no request outlives its
 * bound, the reference data reads back the same, and after a clean stop
 * `gafka admin verify` finds every data dir whole. Cleanup is the caller's
 * (broker-process's cleanupAll()).
 */

export interface FuzzRunOptions {
  requests: number;
  seed: number;
  /** Default 16. */
  concurrency?: number;
  /** Default 10 s: long polls the generator makes wait 100 ms at most. */
  requestTimeoutMs?: number;
  /** Default true: a follower also takes requests, and the leader streams to it. */
  follower?: boolean;
  /** Extra `gafka broker` flags for every broker, e.g. a cluster secret file. */
  brokerArgs?: string[];
  /** The brokerArgs make brokers authenticate peers: replication calls may then be sent fully valid. */
  peersAuthenticated?: boolean;
  /** Only this request index is sent (to reproduce one failure). */
  only?: number;
  /** Progress lines; silent by default. */
  log?: (line: string) => void;
}

export interface FuzzReport {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Answers per status code (0: no answer). */
  statuses: Record<number, number>;
  /** Every broken check; the first few in full, with seed and index. */
  failures: string[];
}

const REFERENCE_TOPIC = "fuzz-reference";
const REFERENCE_GROUP = "fuzz-reference-group";
const REFERENCE_RECORDS = 40;
const HEALTH_EVERY_MS = 500;
const DETAILED_FAILURES = 20;

export async function runFuzz(options: FuzzRunOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const concurrency = options.concurrency ?? 16;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const brokerArgs = options.brokerArgs ?? [];
  const failures: string[] = [];
  let failureCount = 0;
  const fail = (text: string) => {
    failureCount++;
    if (failures.length < DETAILED_FAILURES) failures.push(text);
  };

  const leader = await startLeader(brokerArgs);
  const follower = options.follower === false ? undefined : await startFollower(leader, 2, brokerArgs);
  const brokers: BrokerProcess[] = follower === undefined ? [leader] : [leader, follower];
  const reference = await writeReference(leader, new Prng(options.seed ^ 0x5eed), REFERENCE_TOPIC, REFERENCE_GROUP, REFERENCE_RECORDS);
  if (follower !== undefined) await waitCaughtUp(leader, [follower]);
  const view = await status(leader);
  const scope: FuzzScope = {
    referenceTopic: REFERENCE_TOPIC,
    referenceGroup: REFERENCE_GROUP,
    scratchTopics: ["scratch-a", "scratch-b", "scratch-c"],
    scratchGroups: ["scratch-g1", "scratch-g2"],
    clusterId: view.cluster_id,
    leaderAddress: leader.hostPort,
    leaderEpoch: view.leader_epoch,
    hasFollower: follower !== undefined,
    peersAuthenticated: options.peersAuthenticated === true,
  };
  const generator = new RequestGenerator(options.seed, scope, routeTable);
  log(`seed ${options.seed}: ${options.only === undefined ? `${options.requests} requests` : `request ${options.only} only`}, ${concurrency} at a time, to ${brokers.map((b) => b.hostPort).join(" and ")}`);

  const statuses: Record<number, number> = {};
  const reproduce = (index: number) => `seed ${options.seed}, request ${index} (bun bench/fuzz.ts --seed ${options.seed} --only ${index})`;
  const check = (index: number, request: FuzzRequest, outcome: WireOutcome) => {
    const code = outcome.kind === "answer" ? outcome.answer.status : 0;
    statuses[code] = (statuses[code] ?? 0) + 1;
    const problem = answerProblem(request, outcome);
    if (problem !== undefined) fail(`${problem}\n${reproduce(index)}\n${describeRequest(request)}`);
  };

  let stopHealth = false;
  const health = (async () => {
    while (!stopHealth) {
      for (const broker of brokers) {
        const problem = await healthProblem(broker, requestTimeoutMs);
        if (problem !== undefined) fail(`while fuzzing: ${problem}`);
      }
      await Bun.sleep(HEALTH_EVERY_MS);
    }
  })();

  const startedMs = performance.now();
  const indexes = options.only === undefined ? Array.from({ length: options.requests }, (_, i) => i) : [options.only];
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < indexes.length && failureCount < DETAILED_FAILURES * 5) {
        const index = indexes[next++]!;
        const request = generator.request(index);
        const broker = request.target === "follower" && follower !== undefined ? follower : leader;
        check(index, request, await send(broker.url, request, requestTimeoutMs));
        if (++done % 2000 === 0) log(`${done} requests, ${Math.round(done / ((performance.now() - startedMs) / 1000))}/s`);
      }
    }),
  );
  const seconds = (performance.now() - startedMs) / 1000;
  stopHealth = true;
  await health;

  for (const broker of brokers) {
    const problem = await healthProblem(broker, requestTimeoutMs);
    if (problem !== undefined) fail(`after fuzzing: ${problem}`);
  }
  if (follower !== undefined) await waitCaughtUp(leader, [follower]).catch((error) => fail(`after fuzzing, the follower did not catch up: ${error}`));
  for (const broker of brokers) {
    for (const difference of await referenceDifferences(broker, REFERENCE_TOPIC, broker === leader ? REFERENCE_GROUP : undefined, reference)) fail(difference);
  }
  for (const broker of [...brokers].reverse()) {
    const exitCode = await broker.stop();
    if (exitCode !== 0) fail(`broker ${broker.hostPort} exited ${exitCode} on SIGTERM\n${broker.stderr().slice(-3000)}`);
    const verify = await runCli(["admin", "verify", "--data-dir", broker.dataDir]);
    if (verify.exitCode !== 0) fail(`admin verify of ${broker.hostPort}'s data dir exited ${verify.exitCode}:\n${verify.stdout}${verify.stderr}`);
  }
  if (failureCount > failures.length) failures.push(`... and ${failureCount - failures.length} more`);
  return { requests: done, seconds, requestsPerSecond: Math.round(done / seconds), statuses, failures };
}

/** What is wrong with a request's outcome, if anything. */
function answerProblem(request: FuzzRequest, outcome: WireOutcome): string | undefined {
  if (outcome.kind === "timeout") return `no answer within ${outcome.afterMs} ms (a hang)`;
  if (outcome.kind === "closed") {
    // A GET or HEAD with a body: the server answers without reading a body it does not expect, and
    // closing a socket with unread bytes sends a reset that can overtake the answer. Not the broker's failure.
    if ((request.method === "GET" || request.method === "HEAD") && (request.body?.length ?? 0) > 0) return undefined;
    return `the connection closed without an answer${outcome.error === undefined ? "" : ` (${outcome.error})`}`;
  }
  const { status, body } = outcome.answer;
  const text = new TextDecoder().decode(body);
  if (status >= 500) return `answered ${status}: ${text.slice(0, 500)}`;
  if (status < 400 || request.method === "HEAD") return undefined;
  try {
    const error = JSON.parse(text).error;
    if (typeof error?.code === "string" && typeof error?.message === "string") return undefined;
  } catch {}
  return `answered ${status} without the JSON error shape {"error":{"code","message"}}: ${JSON.stringify(text.slice(0, 300))}`;
}

async function healthProblem(broker: BrokerProcess, timeoutMs: number): Promise<string | undefined> {
  if (broker.process.exitCode !== null || broker.process.signalCode !== null) {
    return `broker ${broker.hostPort} is gone (exit ${broker.process.exitCode ?? broker.process.signalCode})\n${broker.stderr().slice(-3000)}`;
  }
  try {
    const response = await fetch(`${broker.url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) return `GET /healthz on ${broker.hostPort} answered ${response.status}: ${(await response.text()).slice(0, 300)}`;
    await response.arrayBuffer();
    return undefined;
  } catch (error) {
    return `GET /healthz on ${broker.hostPort} failed: ${error}`;
  }
}

/**
 * Issue 13's partition scenarios A–G, run N times each, with a per-scenario
 * summary: acknowledged writes lost (acks=all and acks=1), dirty reads,
 * committed offsets gone backwards, moments with two owners of a partition,
 * promotion outcomes, and for G the follower's time out of the in-sync set.
 *
 *   bun bench/partition.ts [--runs N] [--scenario A[,B…]] [--network netns|proxy] [--short] [--json]
 *
 * Network: `netns` (two namespaces joined by a veth link; needs root, the
 * default when running as root) or `proxy` (cuts made by a loopback TCP
 * proxy). G always uses the proxy (a 200 ms delay each way; no netem here).
 * Exits 1 when any run breaks a property issue 13 requires: under
 * min.insync 2, no acknowledged acks=all record lost and no dirty read; in
 * every scenario no commit backwards and no two owners at once.
 */
import { summarize } from "../test/helpers/partition/partition-checker.ts";
import { netnsSupport } from "../test/helpers/partition/netns.ts";
import { runScenario, SCENARIO_NAMES, SCENARIOS, type ScenarioName, type ScenarioResult } from "../test/helpers/partition/scenarios.ts";
import type { NetworkKind } from "../test/helpers/partition/partition-cluster.ts";

interface Options {
  runs: number;
  scenarios: ScenarioName[];
  network: NetworkKind;
  short: boolean;
  json: boolean;
}

const USAGE = "usage: bun bench/partition.ts [--runs N] [--scenario A[,B…]] [--network netns|proxy] [--short] [--json]";

function parseOptions(argv: string[]): Options {
  const support = netnsSupport();
  const options: Options = { runs: 1, scenarios: SCENARIO_NAMES, network: support.ok ? "netns" : "proxy", short: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? "";
    if (flag === "--runs" && Number(value()) >= 1) options.runs = Number(inline ?? argv[i]);
    else if (flag === "--scenario") options.scenarios = value().toUpperCase().split(",") as ScenarioName[];
    else if (flag === "--network") options.network = value() as NetworkKind;
    else if (flag === "--short") options.short = true;
    else if (flag === "--json") options.json = true;
    else fail(`unknown option ${argv[i]}`);
  }
  for (const name of options.scenarios) if (!SCENARIO_NAMES.includes(name)) fail(`unknown scenario ${name}`);
  if (options.network !== "netns" && options.network !== "proxy") fail(`unknown network ${options.network}`);
  if (options.network === "netns" && !support.ok) fail(`--network netns: ${support.reason}`);
  if (!support.ok) console.error(`network namespaces unavailable (${support.reason}); cutting with the TCP proxy instead`);
  return options;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** What issue 13's "done means" asks of one run; an empty list is a pass. */
function violations(result: ScenarioResult): string[] {
  const spec = SCENARIOS[result.scenario];
  const found: string[] = [];
  const r = result.report;
  if (spec.minInsyncReplicas >= 2 && r.lostAll.length > 0) found.push(`${r.lostAll.length} acks=all lost`);
  if (spec.minInsyncReplicas >= 2 && r.dirtyReads.length > 0) found.push(`${r.dirtyReads.length} dirty reads`);
  if (r.duplicated.length > 0) found.push(`${r.duplicated.length} duplicated`);
  if (r.commitsBackwards.length > 0) found.push(`${r.commitsBackwards.length} commits backwards`);
  if (r.twoOwners.length > 0) found.push(`${r.twoOwners.length} two-owner moments`);
  if (result.promote?.endedAfterHeal) found.push("promote ended only after the heal");
  if (!result.converged) found.push("did not converge");
  if (result.slowLink !== null && (result.slowLink.rejoinAfterLoadMs === null || result.slowLink.longestOutOfSyncMs > 5000)) found.push("follower kept out of sync (> 5 s)");
  return found;
}

function line(result: ScenarioResult, run: number): string {
  const parts = [`${result.scenario} run ${run} (${result.network}, ${(result.elapsedMs / 1000).toFixed(1)} s): ${summarize(result.report)}`];
  if (result.promote !== null) parts.push(`promote ${result.promote.outcome} in ${Math.round(result.promote.tookMs)} ms${result.promote.endedAfterHeal ? " (after the heal)" : ""}: ${result.promote.message}`);
  parts.push(`produce ${JSON.stringify(result.produceOutcomes)}`);
  if (Object.keys(result.commitOutcomes).length > 0) parts.push(`commits ${JSON.stringify(result.commitOutcomes)}`);
  if (result.report.commitsBackwards.length > 0) parts.push(`backwards ${result.report.commitsBackwards.map((c) => `p${c.partition} ${c.acknowledged}->${c.final}`).join(", ")}`);
  if (result.report.twoOwners.length > 0) parts.push(`two owners ${result.report.twoOwners.map((o) => `p${o.partition} ${o.members.join("+")} gen ${o.generations.join("/")} ${Math.round(o.toMs - o.fromMs)} ms`).join(", ")}`);
  if (result.slowLink !== null) {
    const s = result.slowLink;
    parts.push(`out of sync ${Math.round(s.outOfSyncMs)} of ${Math.round(s.loadMs)} ms under load, longest ${Math.round(s.longestOutOfSyncMs)} ms; back in sync ${s.rejoinAfterLoadMs === null ? "never" : `${Math.round(s.rejoinAfterLoadMs)} ms`} after the load`);
  }
  parts.push(`final leader ${result.finalLeader ?? "none (not converged)"}`);
  const bad = violations(result);
  parts.push(bad.length === 0 ? "PASS" : `FAIL: ${bad.join(", ")}`);
  return parts.join("\n    ");
}

// Ctrl-C: exit through process.exit, so that the exit hooks kill the brokers and delete the namespaces.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

const options = parseOptions(process.argv.slice(2));
const results: ScenarioResult[] = [];
let failed = false;
for (const name of options.scenarios) {
  for (let run = 1; run <= options.runs; run++) {
    try {
      const result = await runScenario(name, { network: options.network, short: options.short, log: options.json ? undefined : (l) => console.error(`  ${l}`) });
      results.push(result);
      if (violations(result).length > 0) failed = true;
      if (!options.json) console.log(line(result, run));
    } catch (error) {
      failed = true;
      console.log(`${name} run ${run}: harness error: ${error instanceof Error ? error.message : error}`);
    }
  }
}

if (options.json) {
  console.log(JSON.stringify(results.map((r) => ({ ...r, report: { ...r.report, lostAll: r.report.lostAll.length, lostOne: r.report.lostOne.length, dirtyReads: r.report.dirtyReads.length, duplicated: r.report.duplicated.length } })), null, 2));
} else {
  console.log("\nsummary (per scenario, over its runs):");
  for (const name of options.scenarios) {
    const mine = results.filter((r) => r.scenario === name);
    if (mine.length === 0) continue;
    const list = (f: (r: ScenarioResult) => number | string) => mine.map(f).join(" / ");
    console.log(
      `${name} ${SCENARIOS[name].title}\n  lost acks=all ${list((r) => r.report.lostAll.length)}; lost acks=1 ${list((r) => r.report.lostOne.length)}; dirty reads ${list((r) => r.report.dirtyReads.length)}; commits backwards ${list((r) => r.report.commitsBackwards.length)}; two-owner moments ${list((r) => r.report.twoOwners.length)}` +
        (mine[0]!.promote !== null ? `; promote ${list((r) => `${r.promote!.outcome} ${Math.round(r.promote!.tookMs)} ms`)}` : "") +
        (mine[0]!.slowLink !== null ? `; longest out of sync ${list((r) => `${Math.round(r.slowLink!.longestOutOfSyncMs)} ms`)}, back in sync after load ${list((r) => (r.slowLink!.rejoinAfterLoadMs === null ? "never" : `${Math.round(r.slowLink!.rejoinAfterLoadMs)} ms`))}; acks=all 503s ${list((r) => Object.entries(r.produceOutcomes).filter(([k]) => k.startsWith("503")).reduce((n, [, v]) => n + v, 0))}` : "") +
        `; ${mine.filter((r) => violations(r).length === 0).length} of ${mine.length} pass`,
    );
  }
}
process.exit(failed ? 1 : 0);

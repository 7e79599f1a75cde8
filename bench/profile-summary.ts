/**
 * Summarises a CPU profile written by `bun --cpu-prof` (Chrome's
 * .cpuprofile JSON): the functions with the most self time, merged across
 * their call sites, and the same by source file. Time is counted in
 * samples (one per sampling interval while the thread runs), so the idle
 * event loop does not show up.
 *
 *   bun bench/profile-summary.ts PROFILE.cpuprofile [--top 25]
 *
 * Profile a broker under the wrk scenario with
 *   GAFKA_BROKER_PREFIX="--cpu-prof --cpu-prof-dir=/tmp/prof" bench/wrk.sh
 */
import { relative } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith("--"));
const topIndex = args.indexOf("--top");
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
if (file === undefined || !(top > 0)) {
  console.error("usage: bun bench/profile-summary.ts PROFILE.cpuprofile [--top N]");
  process.exit(2);
}

const profile = (await Bun.file(file).json()) as Profile;
const nodeById = new Map(profile.nodes.map((node) => [node.id, node]));
const samplesByNode = new Map<number, number>();
for (const id of profile.samples) samplesByNode.set(id, (samplesByNode.get(id) ?? 0) + 1);

const byFunction = new Map<string, number>();
const bySource = new Map<string, number>();
for (const [id, samples] of samplesByNode) {
  const frame = nodeById.get(id)!.callFrame;
  const source = sourceOf(frame.url);
  const name = `${frame.functionName || "(anonymous)"}  ${source}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + samples);
  bySource.set(source, (bySource.get(source) ?? 0) + samples);
}

const total = profile.samples.length;
console.log(`${total} samples\n\nself time by function (merged over call sites):`);
print(byFunction, top);
console.log("\nself time by source:");
print(bySource, Math.min(top, 15));

function print(counts: Map<string, number>, limit: number): void {
  const rows = [...counts].sort((a, b) => b[1] - a[1]).slice(0, limit);
  for (const [name, samples] of rows) console.log(`${((100 * samples) / total).toFixed(1).padStart(5)}%  ${name}`);
}

/** A repository path, a Bun built-in module, or `[native]` for frames without a script. */
function sourceOf(url: string): string {
  if (url === "") return "[native]";
  if (url.startsWith("file://")) return relative(process.cwd(), new URL(url).pathname);
  return url;
}

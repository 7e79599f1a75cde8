/**
 * Runs the mitata micro benchmarks: every bench/*.bench.ts, or those named.
 *
 *   bun bench/run.ts [--json] [name ...]
 *
 * A name is a file's stem ("hash") or its path ("bench/hash.bench.ts").
 * --json prints mitata's JSON report (context, layout, per-benchmark stats)
 * on stdout and nothing else, without the raw samples, for tools to keep.
 * Each bench file registers its benchmarks when imported and runs them
 * itself only when it is the entry point, so one run() here covers them all.
 */
import { basename, join } from "node:path";
import { run } from "mitata";

const BENCH_SUFFIX = ".bench.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const unknownFlags = args.filter((arg) => arg.startsWith("--") && arg !== "--json");
if (unknownFlags.length > 0) {
  console.error(`unknown option ${unknownFlags.join(", ")}; usage: bun bench/run.ts [--json] [name ...]`);
  process.exit(2);
}

const available = [...new Bun.Glob(`*${BENCH_SUFFIX}`).scanSync(import.meta.dir)].sort();
const requested = args.filter((arg) => !arg.startsWith("--")).map((arg) => stem(basename(arg)));
const missing = requested.filter((name) => !available.includes(name + BENCH_SUFFIX));
if (missing.length > 0) {
  const names = available.map(stem).join(", ");
  console.error(`no benchmark named ${missing.join(", ")}; available: ${names}`);
  process.exit(2);
}
const selected = requested.length > 0 ? requested.map((name) => name + BENCH_SUFFIX) : available;

for (const file of selected) await import(join(import.meta.dir, file));
await run({ format: json ? { json: { debug: false, samples: false } } : "mitata" });

function stem(file: string): string {
  return file.endsWith(BENCH_SUFFIX) ? file.slice(0, -BENCH_SUFFIX.length) : file;
}

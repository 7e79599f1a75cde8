/**
 * The log cleaner's throughput (issue 16): one compaction pass (src/storage/log-compactor.ts
 * compactPartition, unthrottled) over a partition of --mb of 1 KiB records written over
 * --keys keys (every key overwritten many times), segments of --segment-mb, on this machine's
 * disk (`--fsync never` while filling; the pass itself fdatasyncs every swapped segment). Prints
 * per run the MB of log read, the MB removed and the time, and the MB of log read per second;
 * --runs fresh partitions, the median last.
 *
 *   bun bench/cleaner-throughput.ts [--mb=500] [--keys=1000] [--segment-mb=16] [--runs=3]
 */
import * as path from "node:path";
import { silentLogger } from "../src/core/logger.ts";
import { systemClock } from "../src/core/clock.ts";
import { nodeFileSystem } from "../src/storage/file-system.ts";
import { compactPartition } from "../src/storage/log-compactor.ts";
import { PartitionLog } from "../src/storage/partition-log.ts";
import { makeTempDir } from "../test/helpers/temp-dir.ts";

const options = { mb: 500, keys: 1000, segmentMb: 16, runs: 3 };
for (const arg of process.argv.slice(2)) {
  const [name, value = ""] = arg.replace(/^--/, "").split("=") as [string, string | undefined];
  const number = Number(value);
  if (!(number > 0)) throw new Error(`bad option ${arg}`);
  if (name === "mb") options.mb = number;
  else if (name === "keys") options.keys = number;
  else if (name === "segment-mb") options.segmentMb = number;
  else if (name === "runs") options.runs = number;
  else throw new Error(`unknown option ${arg} (see the comment at the top of bench/cleaner-throughput.ts)`);
}

const encoder = new TextEncoder();
const value = encoder.encode("v".repeat(1024));

async function onePass(run: number): Promise<number> {
  const temp = makeTempDir("gafka-cleaner-bench-");
  const log = PartitionLog.open({
    dir: path.join(temp.dir, "changelog-0"),
    name: "changelog-0",
    fs: nodeFileSystem,
    clock: systemClock,
    logger: silentLogger,
    fsyncPolicy: { kind: "never" },
    segmentBytesMax: options.segmentMb * 1024 * 1024,
  });
  try {
    const records = Math.round((options.mb * 1e6) / 1100);
    const nowMs = Date.now();
    for (let sent = 0; sent < records; sent += 100) {
      await log.append(Array.from({ length: 100 }, (_, i) => ({ key: encoder.encode(`key-${(sent + i) % options.keys}`), value, headers: [], timestampMs: nowMs })));
    }
    const startedMs = performance.now();
    const outcome = await compactPartition(log.compactionTarget(), { nowMs: Date.now(), deleteRetentionMs: 86_400_000, minCompactionLagMs: 0 }, async () => {});
    const seconds = (performance.now() - startedMs) / 1000;
    const mbPerSecond = outcome.bytesRead / 1e6 / seconds;
    console.log(`run ${run}: read ${(outcome.bytesRead / 1e6).toFixed(1)} MB, removed ${(outcome.bytesRemoved / 1e6).toFixed(1)} MB, ${outcome.segmentsCleaned} segments swapped, in ${seconds.toFixed(2)} s: ${mbPerSecond.toFixed(1)} MB/s of log read`);
    return mbPerSecond;
  } finally {
    await log.close();
    temp.remove();
  }
}

const rates: number[] = [];
for (let run = 1; run <= options.runs; run++) rates.push(await onePass(run));
rates.sort((a, b) => a - b);
console.log(`median ${rates[Math.floor(rates.length / 2)]!.toFixed(1)} MB/s of log read (${options.mb} MB over ${options.keys} keys, segments of ${options.segmentMb} MiB)`);

/**
 * Delete retention under load (issue 16): produces --gigabytes of 1 KiB records into a
 * 2-partition topic whose retention.bytes is --retention-mb (retention.ms -1), on a real broker
 * (`--fsync always`, default segments of 128 MiB) with the default --retention-check-interval,
 * and every --sample-ms measures each partition: the bytes of its live segments (`.log` files:
 * what retention.bytes bounds) and everything in its directory (indexes, and the `.deleted`
 * files that wait a minute before they are removed). Prints the largest of each seen while
 * the load ran, the bound (retention.bytes + one segment), and the produce throughput.
 *
 *   bun bench/retention.ts [--gigabytes=5] [--retention-mb=500] [--segment-mb=128] [--sample-ms=250] [--json]
 */
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, runCli, startBrokerProcess } from "../test/helpers/broker-process.ts";

const TOPIC = "retained";
const PARTITIONS = 2;
const MB = 1_000_000;
const MIB = 1024 * 1024;

interface Options {
  gigabytes: number;
  retentionMb: number;
  segmentMb: number;
  sampleMs: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { gigabytes: 5, retentionMb: 500, segmentMb: 128, sampleMs: 250, json: false };
  for (const arg of argv) {
    const [name, value = ""] = arg.replace(/^--/, "").split("=") as [string, string | undefined];
    const number = Number(value);
    if (name === "json") options.json = true;
    else if (name === "gigabytes" && number > 0) options.gigabytes = number;
    else if (name === "retention-mb" && number > 0) options.retentionMb = number;
    else if (name === "segment-mb" && number > 0) options.segmentMb = number;
    else if (name === "sample-ms" && number > 0) options.sampleMs = number;
    else throw new Error(`unknown or bad option ${arg} (see the comment at the top of bench/retention.ts)`);
  }
  return options;
}

/** Live segment bytes (`.log`) and all bytes in one partition's directory. */
function measure(dir: string): { liveBytes: number; diskBytes: number } {
  let liveBytes = 0;
  let diskBytes = 0;
  for (const name of readdirSync(dir)) {
    let size: number;
    try {
      size = statSync(path.join(dir, name)).size;
    } catch {
      continue; // removed while we looked
    }
    diskBytes += size;
    if (name.endsWith(".log")) liveBytes += size;
  }
  return { liveBytes, diskBytes };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const segmentBytes = options.segmentMb * MIB;
  const retentionBytes = options.retentionMb * MB;
  const broker = await startBrokerProcess({ args: ["--fsync=always", `--segment-bytes=${segmentBytes}`] });
  const created = await fetch(`${broker.url}/api/v1/topics`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: TOPIC, partitions: PARTITIONS, configs: { "retention.bytes": retentionBytes, "retention.ms": -1 } }),
  });
  if (created.status !== 201) throw new Error(`creating the topic answered ${created.status}: ${await created.text()}`);
  const count = Math.round((options.gigabytes * 1e9) / 1024);
  const largest = Array.from({ length: PARTITIONS }, () => ({ liveBytes: 0, diskBytes: 0 }));
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const seen = measure(path.join(broker.dataDir, `${TOPIC}-${partition}`));
        largest[partition]!.liveBytes = Math.max(largest[partition]!.liveBytes, seen.liveBytes);
        largest[partition]!.diskBytes = Math.max(largest[partition]!.diskBytes, seen.diskBytes);
      }
      samples++;
      await Bun.sleep(options.sampleMs);
    }
  })();
  const produced = await runCli(
    ["bench", "produce", "--broker", broker.hostPort, "--topic", TOPIC, "--partitions", String(PARTITIONS), "--size", "1024", "--count", String(count),
      "--producers", "4", "--batch-size", "1000", "--linger-ms", "5", "--quiet", "--json"],
    { timeoutMs: 3_600_000 },
  );
  sampling = false;
  await sampler;
  if (produced.exitCode !== 0) throw new Error(`bench produce failed: ${produced.stderr}`);
  const summary = JSON.parse(produced.stdout.trim().split("\n").at(-1)!) as { messages_per_second: number; mb_per_second?: number };
  const boundBytes = retentionBytes + segmentBytes;
  const result = {
    gigabytes: options.gigabytes,
    records: count,
    retention_bytes: retentionBytes,
    segment_bytes: segmentBytes,
    bound_bytes: boundBytes,
    samples,
    partitions: largest.map((seen, partition) => ({ partition, largest_live_bytes: seen.liveBytes, largest_disk_bytes: seen.diskBytes, within_bound: seen.liveBytes <= boundBytes })),
    messages_per_second: summary.messages_per_second,
  };
  if (options.json) console.log(JSON.stringify(result));
  else {
    console.log(`${options.gigabytes} GB in ${count} records of 1 KiB, retention.bytes ${retentionBytes}, segments of ${segmentBytes}: bound ${boundBytes} bytes per partition`);
    for (const partition of result.partitions) {
      console.log(`partition ${partition.partition}: largest live segments ${partition.largest_live_bytes} bytes (${partition.within_bound ? "within" : "PAST"} the bound), largest on disk ${partition.largest_disk_bytes} bytes`);
    }
    console.log(`${samples} samples; produce ${Math.round(summary.messages_per_second)} msg/s`);
  }
  if (result.partitions.some((partition) => !partition.within_bound)) process.exitCode = 1;
}

try {
  await main();
} finally {
  await cleanupAll();
}

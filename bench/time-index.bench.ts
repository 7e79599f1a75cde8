/**
 * offsetForTimestamp (src/storage/log-reads.ts) on a log of many segments,
 * on the real disk (the page cache, warm), before and after the time index:
 * "scan" walks every batch header from the first segment on, as the lookup
 * did before the index (firstOffsetAtOrAfter over each segment, the same
 * reader size); "index" is PartitionLog.offsetForTimestamp: the segment by
 * its largest timestamp, then a binary search of its time index and about
 * one index interval of headers. Times near the start, the middle and the
 * end of the log, since a scan's cost grows with how far it goes.
 * Run alone with `bun bench/time-index.bench.ts`, or through bench/run.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { bench, group, run } from "mitata";
import { systemClock } from "../src/core/clock.ts";
import { silentLogger } from "../src/core/logger.ts";
import type { RecordInput } from "../src/protocol/record.ts";
import { nodeFileSystem } from "../src/storage/file-system.ts";
import { PartitionLog } from "../src/storage/partition-log.ts";
import { segmentBaseOffsets } from "../src/storage/segment.ts";
import { firstOffsetAtOrAfter } from "../src/storage/segment-read.ts";
import { SegmentReader } from "../src/storage/segment-reader.ts";

const SEGMENT_BYTES_MAX = 256 * 1024;
const SEGMENTS = 200;
const RECORDS_PER_BATCH = 8;
const VALUE_BYTES = 256;
/** As LogReads' reader. */
const READ_CHUNK_BYTES = 256 * 1024;
const T0 = 1_700_000_000_000;

const dir = mkdtempSync(path.join(tmpdir(), "gafka-bench-timeindex-"));
// Run alone or through bench/run.ts: the log (about 50 MB) goes when the process ends.
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const log = PartitionLog.open({
  dir,
  name: "bench-0",
  fs: nodeFileSystem,
  clock: systemClock,
  logger: silentLogger,
  fsyncPolicy: { kind: "never" },
  segmentBytesMax: SEGMENT_BYTES_MAX,
});
let timestampMs = T0;
while (log.sizeBytes < SEGMENTS * SEGMENT_BYTES_MAX) {
  const records: RecordInput[] = Array.from({ length: RECORDS_PER_BATCH }, () => ({
    key: null,
    value: new Uint8Array(VALUE_BYTES).fill(7),
    headers: [],
    timestampMs: timestampMs++,
  }));
  await log.append(records);
}
const lastTimestampMs = timestampMs - 1;
const highWatermark = log.highWatermark;

// The scan as it was: every segment from the first, each through the same reader.
const fds = segmentBaseOffsets(nodeFileSystem.readdir(dir)).map((baseOffset) =>
  nodeFileSystem.openReadWrite(path.join(dir, `${String(baseOffset).padStart(20, "0")}.log`)),
);
const reader = new SegmentReader(nodeFileSystem, -1, 0, READ_CHUNK_BYTES);
function scan(t: number): number {
  for (const fd of fds) {
    reader.reset(fd, nodeFileSystem.sizeOf(fd));
    const found = firstOffsetAtOrAfter(reader, t, highWatermark);
    if (found !== undefined) return found;
  }
  return highWatermark;
}

const targets: [string, number][] = [
  ["start", T0 + 1000],
  ["middle", T0 + Math.floor((lastTimestampMs - T0) / 2)],
  ["end", lastTimestampMs - 1000],
];
for (const [where, t] of targets) {
  if (scan(t) !== log.offsetForTimestamp(t)) throw new Error(`scan and index disagree at ${where}`);
}

group(`offsetForTimestamp, ${fds.length} segments of ${SEGMENT_BYTES_MAX / 1024} KiB, ${highWatermark} records`, () => {
  for (const [where, t] of targets) {
    bench(`scan, time near the ${where}`, () => scan(t));
    bench(`index, time near the ${where}`, () => log.offsetForTimestamp(t));
  }
});

if (import.meta.main) await run();

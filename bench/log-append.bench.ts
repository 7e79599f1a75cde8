/**
 * PartitionLog.append (src/storage/partition-log.ts) on the real disk in a
 * temporary directory, under each fsync policy: a 1-record batch (one
 * produce of one message) and a 100-record batch (a batched produce), 1 KiB
 * values. Appends are awaited one at a time, so under `always` every append
 * pays one fdatasync of its own (no group commit to share it): this is the
 * latency floor of one acknowledged write, not the broker's throughput.
 * "64 concurrent" starts 64 one-record appends in one turn and awaits them
 * all, as 64 produce requests arriving together: they share one write
 * (coalesced appends) and, under `always`, one fdatasync (group commit).
 * The log is swapped for a fresh one every 64 MiB, outside the timing, so a
 * run does not fill the disk.
 * Run alone with `bun bench/log-append.bench.ts`, or through bench/run.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { bench, group, run } from "mitata";
import { systemClock } from "../src/core/clock.ts";
import { silentLogger } from "../src/core/logger.ts";
import { nodeFileSystem } from "../src/storage/file-system.ts";
import type { FsyncPolicy } from "../src/storage/fsync-policy.ts";
import { PartitionLog } from "../src/storage/partition-log.ts";
import type { RecordInput } from "../src/protocol/record.ts";

const VALUE_BYTES = 1024;
const LOG_BYTES_BEFORE_SWAP = 64 * 1024 * 1024;
const SEGMENT_BYTES_MAX = 16 * 1024 * 1024;
/** Long enough that the interval policy's timer rarely lands inside a sample. */
const INTERVAL_MS = 1000;
const CONCURRENT_APPENDS = 64;

const POLICIES: [string, FsyncPolicy][] = [
  ["always", { kind: "always" }],
  [`interval:${INTERVAL_MS}`, { kind: "interval", intervalMs: INTERVAL_MS }],
  ["never", { kind: "never" }],
];

function records(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, index) => ({
    key: new TextEncoder().encode(`user-${index}`),
    value: new Uint8Array(VALUE_BYTES).fill(index & 0xff),
    headers: [],
    timestampMs: 1_700_000_000_000 + index,
  }));
}

/** A log in its own temporary directory, replaced by a fresh one once it holds LOG_BYTES_BEFORE_SWAP. */
class SwappedLog {
  private dir = "";
  private log: PartitionLog | undefined;

  constructor(private readonly fsyncPolicy: FsyncPolicy) {}

  async current(): Promise<PartitionLog> {
    if (this.log !== undefined && this.log.sizeBytes < LOG_BYTES_BEFORE_SWAP) return this.log;
    await this.close();
    this.dir = mkdtempSync(path.join(tmpdir(), "gafka-bench-log-"));
    this.log = PartitionLog.open({
      dir: this.dir,
      name: "bench-0",
      fs: nodeFileSystem,
      clock: systemClock,
      logger: silentLogger,
      fsyncPolicy: this.fsyncPolicy,
      segmentBytesMax: SEGMENT_BYTES_MAX,
    });
    return this.log;
  }

  async close(): Promise<void> {
    await this.log?.close();
    this.log = undefined;
    if (this.dir !== "") rmSync(this.dir, { recursive: true, force: true });
    this.dir = "";
  }
}

for (const [label, policy] of POLICIES) {
  group(`log append, fsync ${label}`, () => {
    for (const count of [1, 100]) {
      const batch = records(count);
      bench(`append ${count} x ${VALUE_BYTES} B`, async function* () {
        const logs = new SwappedLog(policy);
        yield {
          0: () => logs.current(),
          bench: (log: PartitionLog) => log.append(batch),
        };
        await logs.close();
      });
    }
    const single = records(1);
    bench(`append 64 concurrent x 1 x ${VALUE_BYTES} B`, async function* () {
      const logs = new SwappedLog(policy);
      yield {
        0: () => logs.current(),
        bench: (log: PartitionLog) => Promise.all(Array.from({ length: CONCURRENT_APPENDS }, () => log.append(single))),
      };
      await logs.close();
    });
  });
}

if (import.meta.main) await run();

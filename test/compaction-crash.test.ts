import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { type BrokerProcess, cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { CRASH_AT_SWAP_STEP_ENV } from "./helpers/crash-at-swap-step.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";
import { parseSamples } from "./helpers/metrics.ts";

/**
 * kill -9 at each step of a compaction's segment swap (src/storage/segment-swap.ts),
 * in a real broker process (test/helpers/crash-at-swap-step.ts), then a
 * restart on the same data dir: the restart finishes or drops the swap, every
 * key keeps its newest value, no key is served twice, no record that should
 * still exist is lost, and the next pass completes.
 */

afterAll(cleanupAll);

const TOPIC = "crash-compacted";
const BROKER_ARGS = ["--segment-bytes", "1024", "--cleaner-backoff", "50ms"];

interface ServedRecord {
  offset: number;
  key: string | null;
  value: string | null;
}

/** The whole partition, page by page; a page may hold no record yet move on (offsets compacted away). */
async function readAll(url: string): Promise<ServedRecord[]> {
  const records: ServedRecord[] = [];
  let next = 0;
  for (;;) {
    const { status, body } = await getJson(`${url}/api/v1/consume?topic=${TOPIC}&partition=0&offset=${next}&count=50&timeout=0`);
    if (status !== 200) throw new Error(`consume answered ${status}: ${JSON.stringify(body)}`);
    for (const r of body.records) records.push({ offset: r.offset, key: r.key, value: r.value });
    if (body.next_offset >= body.high_watermark) return records;
    expect(body.next_offset).toBeGreaterThan(next);
    next = body.next_offset;
  }
}

async function cleanerRuns(url: string): Promise<number> {
  return parseSamples(await (await fetch(`${url}/metrics`)).text()).get(`gafka_log_cleaner_runs_total{topic="${TOPIC}",partition="0"}`) ?? 0;
}

/** Produces `records` to partition 0 in one request and notes each one's offset as its key's newest. */
async function produce(broker: BrokerProcess, records: { key: string; value: string | null }[], newest: Map<string, ServedRecord>): Promise<void> {
  const answer = await postJson(`${broker.url}/api/v1/produce`, { topic: TOPIC, records: records.map((r) => ({ partition: 0, ...r })) });
  expect(answer.status).toBe(200);
  records.forEach((r, i) => newest.set(r.key, { offset: answer.body.results[i].offset, key: r.key, value: r.value }));
}

function partitionFiles(dataDir: string): string[] {
  return readdirSync(path.join(dataDir, `${TOPIC}-0`)).sort();
}

/**
 * What the partition's directory must show just after the kill at `step`. The
 * first segment is the first swapped: every key in it is overwritten later.
 */
function expectFilesAfterStep(step: number, files: string[]): void {
  const log = "00000000000000000000.log";
  const swapFiles = files.filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"));
  const expected: Record<number, { swapFiles: string[]; log: boolean; index: boolean }> = {
    1: { swapFiles: [`${log}.cleaned`], log: true, index: true },
    2: { swapFiles: [`${log}.cleaned`], log: true, index: true },
    3: { swapFiles: [`${log}.swap`], log: true, index: true },
    4: { swapFiles: [`${log}.swap`], log: false, index: false },
    // The new `.log` is in place; its index is not written yet.
    5: { swapFiles: [], log: true, index: false },
  };
  expect({ swapFiles, log: files.includes(log), index: files.includes(log.replace(/\.log$/, ".index")) }).toEqual(expected[step]!);
}

function expectNoSwapLeftovers(dataDir: string): void {
  expect(partitionFiles(dataDir).filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"))).toEqual([]);
}

const STEPS = ["the .cleaned file written", "its fdatasync", "its rename to .swap", "the old segment deleted", "the rename of .swap to .log"];

for (const [index, what] of STEPS.entries()) {
  const step = index + 1;
  test(`kill -9 after step ${step} of a swap (${what}): the restart keeps every key's newest value, once, and the next pass completes`, async () => {
    const crashing = await startBrokerProcess({
      args: BROKER_ARGS,
      preload: "test/helpers/crash-at-swap-step.ts",
      env: { [CRASH_AT_SWAP_STEP_ENV]: String(step) },
    });
    // Nothing is compactable until every record is in (min.compaction.lag.ms of an hour), so the
    // kill comes in the pass after the produces, never during one.
    const created = await postJson(`${crashing.url}/api/v1/topics`, {
      name: TOPIC,
      partitions: 1,
      configs: { "cleanup.policy": "compact", "min.compaction.lag.ms": "3600000" },
    });
    expect(created.status).toBe(201);
    const newest = new Map<string, ServedRecord>();
    for (let round = 0; round < 10; round++) {
      await produce(crashing, Array.from({ length: 8 }, (_, k) => ({ key: `k${k}`, value: `round-${round}-k${k}-`.padEnd(60, "x") })), newest);
    }
    await produce(crashing, [{ key: "k6", value: null }, { key: "k7", value: null }], newest);
    await produce(crashing, [{ key: "k0", value: "after the tombstones" }], newest);
    // Keys of their own, one per request, so the active segment holds none of the overwritten keys.
    for (let i = 0; i < 16; i++) await produce(crashing, [{ key: `late-${i}`, value: "y".repeat(60) }], newest);
    const logEndOffset = 10 * 8 + 2 + 1 + 16;

    const altered = await postJson(`${crashing.url}/api/v1/topics/${TOPIC}/configs`, { set: { "min.compaction.lag.ms": "0" } });
    expect(altered.status).toBe(200);
    await waitFor(() => crashing.process.exitCode !== null || crashing.process.signalCode !== null, `the broker's kill after step ${step}`);
    expect(crashing.process.signalCode).toBe("SIGKILL");
    expectFilesAfterStep(step, partitionFiles(crashing.dataDir));
    // `admin verify` before any restart reads the data dir as the start will.
    const verifyCrashed = await runCli(["admin", "verify", "--data-dir", crashing.dataDir]);
    expect(verifyCrashed.exitCode, verifyCrashed.stdout + verifyCrashed.stderr).toBe(0);

    const restarted = await startBrokerProcess({ dataDir: crashing.dataDir, port: crashing.port, args: BROKER_ARGS });
    expectNoSwapLeftovers(restarted.dataDir);
    const afterRestart = await readAll(restarted.url);
    for (let i = 1; i < afterRestart.length; i++) expect(afterRestart[i]!.offset).toBeGreaterThan(afterRestart[i - 1]!.offset);
    const newestServed = new Map(afterRestart.map((r) => [r.key, r]));
    expect(newestServed).toEqual(new Map(newest));
    expect(afterRestart.at(-1)!.offset).toBe(logEndOffset - 1);

    await waitFor(async () => (await cleanerRuns(restarted.url)) >= 1, "a compaction pass after the restart");
    const compacted = await readAll(restarted.url);
    // Exactly each key's newest record, at its offset, in offset order: none twice, none lost.
    expect(compacted).toEqual([...newest.values()].sort((a, b) => a.offset - b.offset));

    expect(await restarted.stop()).toBe(0);
    expectNoSwapLeftovers(restarted.dataDir);
    const verify = await runCli(["admin", "verify", "--data-dir", restarted.dataDir]);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    await crashing.cleanup();
  });
}

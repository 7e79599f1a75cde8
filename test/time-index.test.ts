import { afterAll, expect, test } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { postJson } from "./helpers/http.ts";

/**
 * The time index end to end: records with chosen timestamps (some going
 * back, as producers' clocks do) over many small segments; a reset of a
 * group's offsets by time answers as a scan of the records would, through
 * the HTTP API and `admin groups reset-offsets --to-datetime`, and again
 * after the `.timeindex` files are deleted while the broker is stopped.
 */

afterAll(cleanupAll);

const T0 = Date.parse("2026-03-01T12:00:00Z");
const REQUESTS = 150;

/** Request r: 1 to 4 records, timestamps rising by about 20 ms a request, back by 150 ms every 7th. */
function requestTimestamps(): number[][] {
  let clockMs = T0;
  return Array.from({ length: REQUESTS }, (_, r) => {
    clockMs += r % 7 === 6 ? -150 : 10 + ((r * 13) % 25);
    return Array.from({ length: 1 + (r % 4) }, (_, i) => clockMs + ((i * 17 + r) % 11) - 5);
  });
}

/** The first record at or after `t` in the first batch (one per request) whose largest timestamp reaches it; the log end if none. */
function scanAnswer(batches: number[][], t: number): number {
  let offset = 0;
  for (const batch of batches) {
    if (Math.max(...batch) >= t) return offset + batch.findIndex((timestampMs) => timestampMs >= t);
    offset += batch.length;
  }
  return offset;
}

test("offsets by time answer as a scan does over many segments, and again after the time index files are deleted", async () => {
  const broker = await startBrokerProcess({ args: ["--segment-bytes", "2500", "--fsync", "never"] });
  // Kept for ever: its records are stamped months ago, past the default retention.ms of 7 days.
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "timed", partitions: 1, configs: { "retention.ms": -1 } })).status).toBe(201);
  const batches = requestTimestamps();
  for (const [r, batch] of batches.entries()) {
    const records = batch.map((timestamp, i) => ({ partition: 0, value: `r${r}-${i}`.padEnd(60, "."), timestamp }));
    expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "timed", records })).status).toBe(200);
  }
  // A group with a committed offset (an admin commit, no members) whose offsets can be reset.
  const commit = await postJson(`${broker.url}/api/v1/consumer-groups/timed-group/offsets`, { offsets: [{ topic: "timed", partition: 0, offset: 0 }] });
  expect(commit.status).toBe(200);
  const times = [T0 - 60_000, ...batches.flat().flatMap((t, i) => (i % 3 === 0 ? [t - 1, t, t + 1] : [])), T0 + 3_600_000];
  const expected = times.map((t) => scanAnswer(batches, t));

  const answers = async () => {
    const offsets: number[] = [];
    for (const timestamp of times) {
      const reset = await postJson(`${broker.url}/api/v1/consumer-groups/timed-group/offsets/reset`, { topic: "timed", to: "timestamp", timestamp });
      expect(reset.status).toBe(200);
      offsets.push((reset.body as { offsets: { offset: number }[] }).offsets[0]!.offset);
    }
    return offsets;
  };
  const viaCli = async (timestampMs: number) => {
    const result = await runCli(["admin", "groups", "reset-offsets", "--broker", broker.hostPort, "--group=timed-group", "--topic=timed", `--to-datetime=${new Date(timestampMs).toISOString()}`, "--json"]);
    expect(result.exitCode).toBe(0);
    return (JSON.parse(result.stdout) as { offset: number }[])[0]!.offset;
  };
  const middle = batches[90]![0]!;

  expect(await answers()).toEqual(expected);
  expect(await viaCli(middle)).toBe(scanAnswer(batches, middle));
  const partitionDir = path.join(broker.dataDir, "timed-0");

  expect(await broker.stop()).toBe(0);
  // Every segment's, the active one's too (a clean stop writes its indexes, so the next start need not scan it).
  const timeIndexes = readdirSync(partitionDir).filter((name) => name.endsWith(".timeindex"));
  expect(timeIndexes.length).toBeGreaterThanOrEqual(5);
  for (const name of timeIndexes) rmSync(path.join(partitionDir, name));
  await broker.restart();
  expect(await answers()).toEqual(expected);
  expect(await viaCli(middle)).toBe(scanAnswer(batches, middle));
  for (const name of timeIndexes) expect(broker.stderr()).toContain(`${name} was missing`);
  expect(readdirSync(partitionDir).filter((name) => name.endsWith(".timeindex")).sort()).toEqual(timeIndexes.sort());
  await broker.cleanup();
});

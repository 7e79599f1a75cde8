import { afterEach, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { runBroker, type RunningBroker } from "../src/run-broker.ts";
import type { Logger } from "../src/core/logger.ts";
import { testRunConfig } from "./helpers/broker-config.ts";
import { FaultyFileSystem } from "./helpers/faulty-fs.ts";
import { getJson, postJson, readPartition } from "./helpers/http.ts";
import { makeTempDir } from "./helpers/temp-dir.ts";

/**
 * A disk that fills up under a produce spanning partitions (issue: a 503
 * "nothing was acknowledged" while partition 0's record was stored), and
 * under a topic creation.
 */

/** A real broker with fsyncs on a machine that may be busy: a bound well past what it needs. */
const TEST_TIMEOUT_MS = 60_000;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Started {
  running: RunningBroker;
  fs: FaultyFileSystem;
  dataDir: string;
  warnings: string[];
}

async function start(dataDir?: string, fs = new FaultyFileSystem()): Promise<Started> {
  let dir = dataDir;
  if (dir === undefined) {
    const temp = makeTempDir("gafka-partial-");
    cleanups.push(temp.remove);
    dir = temp.dir;
  }
  const warnings: string[] = [];
  const logger: Logger = { error: () => {}, warn: (message) => warnings.push(String(message)), info: () => {}, debug: () => {} };
  const running = await runBroker(testRunConfig(dir, { fs, logger }));
  cleanups.push(() => running.stop());
  return { running, fs, dataDir: dir, warnings };
}

const values = async (url: string, partition: number) => (await readPartition(url, "t", partition)).map((record) => record.value);

test("a produce spanning partitions on a filling disk answers each record's outcome, and retrying the failed ones duplicates nothing", async () => {
  const { running, fs, dataDir, warnings } = await start();
  const url = running.url;
  expect((await postJson(`${url}/api/v1/topics`, { name: "t", partitions: 3 })).status).toBe(201);

  fs.spaceLeftBytes = 4096; // room for a small record, not for 20 KB
  const big = "x".repeat(20_000);
  const records = [
    { partition: 0, value: "small" },
    { partition: 1, value: big },
    { partition: 0, value: "small too" },
    { partition: 2, value: "tiny" },
  ];
  const answer = await postJson(`${url}/api/v1/produce`, { topic: "t", records });
  expect(answer.status).toBe(503);
  const error = answer.body.error;
  expect(error.code).toBe("storage_full");
  expect(error.retriable).toBe(true);
  expect(error).toMatchObject({ topic: "t", partition: 1 });
  expect(error.message).toContain("partition t-1: write failed");
  expect(error.message).toContain("records for partitions 0, 2 (3 of 4) were stored and acknowledged");
  expect(error.results).toHaveLength(4);
  expect(error.results[0]).toMatchObject({ partition: 0, offset: 0 });
  expect(error.results[1]).toEqual({ partition: 1, error: { code: "storage_full", message: expect.stringContaining("t-1"), retriable: true } });
  expect(error.results[2]).toMatchObject({ partition: 0, offset: 1 });
  expect(error.results[3]).toMatchObject({ partition: 2, offset: 0 });
  for (const index of [0, 2, 3]) expect(typeof error.results[index].timestamp).toBe("number");
  // What the answer says was stored is exactly what is stored.
  expect(await values(url, 0)).toEqual(["small", "small too"]);
  expect(await values(url, 1)).toEqual([]);
  expect(await values(url, 2)).toEqual(["tiny"]);
  // The broker log names the partition.
  expect(warnings.some((line) => line.includes("produce to t-1 failed, storage_full") && line.includes("ENOSPC"))).toBe(true);

  // Space is freed: the client retries only the records with an error.
  fs.spaceLeftBytes = undefined;
  const failed = records.filter((_, index) => error.results[index].error !== undefined);
  const retried = await postJson(`${url}/api/v1/produce`, { topic: "t", records: failed });
  expect(retried.status).toBe(200);
  expect(retried.body.results).toMatchObject([{ partition: 1, offset: 0 }]);

  // The produced-records metric counts what was acknowledged, the partial answer's included.
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain('gafka_records_produced_total{topic="t"} 4');

  await running.stop();
  const again = await start(dataDir);
  expect(await values(again.running.url, 0)).toEqual(["small", "small too"]);
  expect(await values(again.running.url, 1)).toEqual([big]);
  expect(await values(again.running.url, 2)).toEqual(["tiny"]);
}, TEST_TIMEOUT_MS);

test("when every partition of a produce fails, each record says so and nothing is stored", async () => {
  const { running, fs, dataDir } = await start();
  const url = running.url;
  expect((await postJson(`${url}/api/v1/topics`, { name: "t", partitions: 2 })).status).toBe(201);
  fs.spaceLeftBytes = 0;
  const answer = await postJson(`${url}/api/v1/produce`, { topic: "t", records: [{ partition: 1, value: "a" }, { partition: 0, value: "b" }] });
  expect(answer.status).toBe(503);
  expect(answer.body.error.code).toBe("storage_full");
  expect(answer.body.error.message).toContain("no record of this request was stored (2 partitions failed");
  expect(answer.body.error.results.map((result: { partition: number; error?: { code: string } }) => [result.partition, result.error?.code])).toEqual([
    [1, "storage_full"],
    [0, "storage_full"],
  ]);
  fs.spaceLeftBytes = undefined;
  expect(await values(url, 0)).toEqual([]);
  expect(await values(url, 1)).toEqual([]);
  // The first record of a leader epoch records it in leader-epoch-checkpoint first; that write failed too and is made again.
  expect((await postJson(`${url}/api/v1/produce`, { topic: "t", records: [{ partition: 1, value: "a" }, { partition: 0, value: "b" }] })).status).toBe(200);
  for (const partition of [0, 1]) {
    expect(nodeFs.readFileSync(path.join(dataDir, `t-${partition}`, "leader-epoch-checkpoint"), "utf8")).toBe("0\n1\n0 0\n");
  }
  // A produce to one partition keeps its plain error: nothing of it was stored.
  fs.spaceLeftBytes = 0;
  const single = await postJson(`${url}/api/v1/produce`, { topic: "t", records: [{ partition: 0, value: "c" }, { partition: 0, value: "d" }] });
  expect(single.status).toBe(503);
  expect(single.body.error.code).toBe("storage_full");
  expect(single.body.error.results).toBeUndefined();
}, TEST_TIMEOUT_MS);

test("creating a topic on a full disk is 503 storage_full, leaves no directory, and works once there is room", async () => {
  const { running, fs, dataDir } = await start();
  const url = running.url;
  fs.pathFault = (operation, filePath) => (operation === "mkdirp" && path.basename(filePath).startsWith("full-") ? "ENOSPC" : undefined);
  const response = await fetch(`${url}/api/v1/topics`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "full", partitions: 3 }),
  });
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe("1");
  const body = (await response.json()) as { error: { code: string; message: string; retriable: boolean } };
  expect(body.error.code).toBe("storage_full");
  expect(body.error.retriable).toBe(true);
  expect(body.error.message).toContain("could not create topic 'full'");
  expect(nodeFs.readdirSync(dataDir).filter((entry) => entry.startsWith("full-"))).toEqual([]);
  expect((await getJson(`${url}/api/v1/topics`)).body.topics).toEqual([]);

  fs.pathFault = undefined;
  expect((await postJson(`${url}/api/v1/topics`, { name: "full", partitions: 3 })).status).toBe(201);
}, TEST_TIMEOUT_MS);

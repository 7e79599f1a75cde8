import { afterAll, expect, test } from "bun:test";
import { runBroker, type RunningBroker } from "../src/run-broker.ts";
import { silentLogger } from "../src/core/logger.ts";
import { testRunConfig } from "./helpers/broker-config.ts";
import { FaultyFileSystem } from "./helpers/faulty-fs.ts";
import { getJson, postJson, readPartition, waitFor } from "./helpers/http.ts";
import { makeTempDir } from "./helpers/temp-dir.ts";

const temp = makeTempDir();
const fs = new FaultyFileSystem();
let running: RunningBroker | undefined;

process.on("exit", (code) => console.error("EXIT", code, new Error().stack));
afterAll(async () => {
  await running?.stop();
  temp.remove();
});

async function partitionStatus(url: string, partition: number, topic = "faults"): Promise<string> {
  const { body } = await getJson(`${url}/api/v1/topics/${topic}`);
  return body.partitions[partition].status;
}

test("ENOSPC and a failed fsync are answered 503, never acknowledged, and acknowledged records read back unchanged", async () => {
  running = await runBroker(testRunConfig(temp.dir, { fs }));
  const url = running.url;
  const produce = (partition: number, value: string) => postJson(`${url}/api/v1/produce`, { topic: "faults", partition, value });
  expect((await postJson(`${url}/api/v1/topics`, { name: "faults", partitions: 2 })).status).toBe(201);

  for (let i = 0; i < 5; i++) {
    expect((await produce(0, `p0-${i}`)).status).toBe(200);
    expect((await produce(1, `p1-${i}`)).status).toBe(200);
  }

  fs.failWrites = 1;
  const full = await produce(0, "lost-to-enospc");
  expect(full.status).toBe(503);
  expect(full.body.error.code).toBe("storage_full");
  expect(typeof full.body.error.message).toBe("string");

  fs.failSyncs = 1;
  const unsynced = await produce(0, "lost-to-eio");
  expect(unsynced.status).toBe(503);
  expect(unsynced.body.error.code).toBe("storage_failed");

  // The partition is reopened through recovery and takes writes again; the other never stopped.
  expect((await produce(1, "p1-during")).status).toBe(200);
  await waitFor(async () => (await partitionStatus(url, 0)) === "online", "partition 0 back online");
  const after = await produce(0, "p0-after");
  expect(after.status).toBe(200);
  expect(after.body.offset).toBe(5);

  const values0 = (await readPartition(url, "faults", 0)).map((r) => r.value);
  expect(values0).toEqual(["p0-0", "p0-1", "p0-2", "p0-3", "p0-4", "p0-after"]);
  const values1 = (await readPartition(url, "faults", 1)).map((r) => r.value);
  expect(values1).toEqual(["p1-0", "p1-1", "p1-2", "p1-3", "p1-4", "p1-during"]);

  // And after a restart from the files, the same.
  await running.stop();
  running = await runBroker(testRunConfig(temp.dir, { fs }));
  expect((await readPartition(running.url, "faults", 0)).map((r) => r.value)).toEqual(values0);
});

test("a binary produce (record batches) hit by ENOSPC or a failed fsync is 503 and never acknowledged either", async () => {
  const { encodeRecordBatch } = await import("../src/protocol/record-batch.ts");
  const binaryTemp = makeTempDir();
  const binaryFs = new FaultyFileSystem();
  const broker = await runBroker(testRunConfig(binaryTemp.dir, { fs: binaryFs }));
  try {
    expect((await postJson(`${broker.url}/api/v1/topics`, { name: "faults", partitions: 1 })).status).toBe(201);
    const batch = (values: string[]) =>
      encodeRecordBatch({ baseOffset: 0, records: values.map((value, index) => ({ key: null, value, headers: [], timestampMs: 1_764_000_000_000 + index })) });
    const produce = async (values: string[]) => {
      const response = await fetch(`${broker.url}/api/v1/produce?topic=faults&partition=0`, {
        method: "POST",
        headers: { "content-type": "application/vnd.kafka.record-batch" },
        body: batch(values),
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    expect((await produce(["a", "b"])).body.last_offset).toBe(1);
    binaryFs.failWrites = 1;
    const full = await produce(["lost-1", "lost-2"]);
    expect([full.status, full.body.error.code]).toEqual([503, "storage_full"]);
    binaryFs.failSyncs = 1;
    const unsynced = await produce(["lost-3"]);
    expect([unsynced.status, unsynced.body.error.code]).toEqual([503, "storage_failed"]);
    await waitFor(async () => (await partitionStatus(broker.url, 0)) === "online", "partition back online");
    expect((await produce(["c"])).body.base_offset).toBe(2);
    expect((await readPartition(broker.url, "faults", 0)).map((r) => r.value)).toEqual(["a", "b", "c"]);
  } finally {
    await broker.stop();
    binaryTemp.remove();
  }
});

test("a reopen that fails while the disk is still bad is retried every second, and the partition comes back once the disk heals", async () => {
  console.error("TEST3 START");
  const retryTemp = makeTempDir();
  const retryFs = new FaultyFileSystem();
  const errors: string[] = [];
  const logger = { ...silentLogger, error: (message: unknown) => void errors.push(String(message)) };
  const broker = await runBroker(testRunConfig(retryTemp.dir, { fs: retryFs, logger }));
  try {
    const url = broker.url;
    const produce = (value: string) => postJson(`${url}/api/v1/produce`, { topic: "retry", partition: 0, value });
    expect((await postJson(`${url}/api/v1/topics`, { name: "retry", partitions: 1 })).status).toBe(201);
    expect((await produce("a")).status).toBe(200);
    expect((await produce("b")).status).toBe(200);

    // The disk goes bad: the write fails, the partition goes offline, and its reopen fails too, twice.
    retryFs.diskFailing = true;
    const failed = await produce("lost");
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toMatch(/storage_failed|partition_offline/);
    const reopenFailures = () => errors.filter((line) => line.includes("could not be reopened")).length;
    await waitFor(() => reopenFailures() >= 2, "two failed reopens (the first and one retry)");
    expect(await partitionStatus(url, 0, "retry")).toBe("offline");
    const whileBad = await produce("refused");
    expect([whileBad.status, whileBad.body.error.code]).toEqual([503, "partition_offline"]);

    // The disk heals: the next retry brings the partition back with what was acknowledged.
    retryFs.diskFailing = false;
    await waitFor(async () => (await partitionStatus(url, 0, "retry")) === "online", "partition back online after the disk healed");
    expect(errors.some((line) => line.includes("undefined"))).toBe(false);
    const after = await produce("c");
    expect([after.status, after.body.offset]).toEqual([200, 2]);
    expect((await readPartition(url, "retry", 0)).map((r) => r.value)).toEqual(["a", "b", "c"]);
  } finally {
    retryFs.diskFailing = false;
    await broker.stop();
    retryTemp.remove();
  }
}, 60_000);

import { afterAll, expect, test } from "bun:test";
import { runBroker, type RunningBroker } from "../src/broker/run-broker.ts";
import { testRunConfig } from "./helpers/broker-config.ts";
import { FaultyFileSystem } from "./helpers/faulty-fs.ts";
import { getJson, postJson, readPartition, waitFor } from "./helpers/http.ts";
import { makeTempDir } from "./helpers/temp-dir.ts";

const temp = makeTempDir();
const fs = new FaultyFileSystem();
let running: RunningBroker | undefined;

afterAll(async () => {
  await running?.stop();
  temp.remove();
});

async function partitionStatus(url: string, partition: number): Promise<string> {
  const { body } = await getJson(`${url}/api/v1/topics/faults`);
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

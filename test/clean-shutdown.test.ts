import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { runBroker } from "../src/run-broker.ts";
import { testRunConfig } from "./helpers/broker-config.ts";
import { FaultyFileSystem } from "./helpers/faulty-fs.ts";
import { cleanupAll, makeTempDir, runCli, startBrokerProcess, type BrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, readPartition } from "./helpers/http.ts";

afterAll(cleanupAll);

/** Three single-record frames, then one frame of five records (the last frame); returns the segment file. */
async function fillPartition(broker: BrokerProcess): Promise<string> {
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "tail", partitions: 1 })).status).toBe(201);
  for (let i = 0; i < 3; i++) {
    expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "tail", partition: 0, value: `single-${i}` })).status).toBe(200);
  }
  const records = Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `last-frame-${i}` }));
  const batch = await postJson(`${broker.url}/api/v1/produce`, { topic: "tail", records });
  expect(batch.status).toBe(200);
  return path.join(broker.dataDir, "tail-0", "00000000000000000000.log");
}

/** Flips one bit a few bytes before the end of the file: inside the last frame's records. */
function flipBitInLastFrame(segment: string): number {
  const bytes = readFileSync(segment);
  bytes[bytes.length - 12]! ^= 0x08;
  writeFileSync(segment, bytes);
  return bytes.length;
}

test("after a clean stop (SIGTERM) a damaged last frame is corruption: the partition is refused, nothing is cut, verify fails", async () => {
  const broker = await startBrokerProcess();
  const marker = path.join(broker.dataDir, "clean-shutdown");
  const segment = await fillPartition(broker);
  expect(existsSync(marker)).toBe(false);
  expect(await broker.stop()).toBe(0);
  expect(existsSync(marker)).toBe(true);
  const fileBytes = flipBitInLastFrame(segment);

  await broker.restart();
  // The marker is gone as soon as the broker runs: a crash from now on is not taken for a clean stop.
  expect(existsSync(marker)).toBe(false);
  const refused = await getJson(`${broker.url}/api/v1/consume?topic=tail&partition=0&offset=0&count=100`);
  expect(refused.status).toBe(503);
  expect(refused.body.error.code).toBe("log_corrupt");
  // The answer names the file inside the data dir (the broker's log names it whole).
  expect(refused.body.error.message).toContain(path.relative(broker.dataDir, segment));
  expect(refused.body.error.message).not.toContain(broker.dataDir);
  expect(refused.body.error.message).toContain("offset 3");
  expect(refused.body.error.message).toContain("stopped cleanly");
  expect((await getJson(`${broker.url}/healthz`)).body.status).toBe("degraded");
  expect(broker.stderr()).not.toContain("torn tail");
  expect(readFileSync(segment).length).toBe(fileBytes);

  // Stopped cleanly again, the partition stays refused: the evidence is kept.
  expect(await broker.stop()).toBe(0);
  const verify = await runCli(["admin", "verify", "--data-dir", broker.dataDir]);
  expect(verify.exitCode).toBe(1);
  expect(verify.stdout).toContain("corrupt in");
  expect(verify.stdout).toContain(segment);
  await broker.restart();
  expect((await getJson(`${broker.url}/api/v1/topics/tail`)).body.partitions[0].status).toBe("corrupt");
  expect(readFileSync(segment).length).toBe(fileBytes);
  await broker.cleanup();
}, 60_000);

test("after a crash (kill -9) the same damage is a torn tail: cut and logged with the bytes dropped; verify reports it and fails", async () => {
  // Without the commit journal: the segment alone tells what was written.
  const broker = await startBrokerProcess({ args: ["--commit-journal=off"] });
  const segment = await fillPartition(broker);
  await broker.kill();
  expect(existsSync(path.join(broker.dataDir, "clean-shutdown"))).toBe(false);
  flipBitInLastFrame(segment);

  const verify = await runCli(["admin", "verify", "--data-dir", broker.dataDir]);
  expect(verify.exitCode).toBe(1);
  expect(verify.stdout).toContain("torn in");

  await broker.restart();
  expect((await readPartition(broker.url, "tail", 0)).map((r) => r.value)).toEqual(["single-0", "single-1", "single-2"]);
  expect(broker.stderr()).toMatch(/cut a torn tail of \d+ bytes/);
  await broker.cleanup();
}, 60_000);

test("after a crash (kill -9) under the commit journal, a damaged last frame of acknowledged records is written again from the journal", async () => {
  // Every small round through the journal (by default a lone partition fdatasyncs its own segment).
  const broker = await startBrokerProcess({ args: ["--journal-direct-syncs=0"] });
  const segment = await fillPartition(broker);
  await broker.kill();
  const bytes = flipBitInLastFrame(segment);

  await broker.restart();
  const values = (await readPartition(broker.url, "tail", 0)).map((r) => r.value);
  expect(values).toEqual(["single-0", "single-1", "single-2", ...Array.from({ length: 5 }, (_, i) => `last-frame-${i}`)]);
  expect(broker.stderr()).toMatch(/partition tail-0: replayed \d+ commit-journal entries/);
  expect(readFileSync(segment).length).toBe(bytes);
  await broker.cleanup();
}, 60_000);

test("admin verify on a missing data dir says so in one line", async () => {
  const missing = path.join(await makeTempDir(), "no-such-dir");
  const verify = await runCli(["admin", "verify", "--data-dir", missing]);
  expect(verify.exitCode).toBe(1);
  expect(verify.stderr.trim().split("\n")).toEqual([`error: data directory ${missing} does not exist`]);
}, 60_000);

test("no clean-shutdown marker when a log did not close cleanly: its final fsync failed, or it was offline at the stop", async () => {
  for (const failure of ["final fsync", "offline"] as const) {
    const dataDir = await makeTempDir();
    const fs = new FaultyFileSystem();
    const running = await runBroker(testRunConfig(dataDir, { fs, fsyncPolicy: { kind: "never" } }));
    try {
      expect((await postJson(`${running.url}/api/v1/topics`, { name: "t", partitions: 2 })).status).toBe(201);
      expect((await postJson(`${running.url}/api/v1/produce`, { topic: "t", partition: 0, value: "v" })).status).toBe(200);
      if (failure === "final fsync") {
        fs.failSyncs = 1;
      } else {
        fs.diskFailing = true;
        expect((await postJson(`${running.url}/api/v1/produce`, { topic: "t", partition: 0, value: "w" })).status).toBe(503);
        // Partition 0's files stay unopenable, so its reopen keeps failing however the
        // machine is scheduled, while the rest of the disk (partition 1's close) works.
        fs.pathFault = (operation, filePath) =>
          operation === "openReadWrite" && filePath.includes(`${path.sep}t-0${path.sep}`) ? "EIO" : undefined;
        fs.diskFailing = false;
        expect((await getJson(`${running.url}/api/v1/topics/t`)).body.partitions[0].status).toBe("offline");
      }
    } finally {
      await running.stop();
    }
    expect(existsSync(path.join(dataDir, "clean-shutdown"))).toBe(false);
    // A clean stop of the same data dir writes it.
    const again = await runBroker(testRunConfig(dataDir));
    await again.stop();
    expect(existsSync(path.join(dataDir, "clean-shutdown"))).toBe(true);
  }
}, 60_000);

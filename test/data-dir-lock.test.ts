import { afterAll, expect, test } from "bun:test";
import * as path from "node:path";
import { cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { postJson, readPartition } from "./helpers/http.ts";

/** Real processes and fsyncs on a machine that may be busy: a bound well past what they need. */
const TEST_TIMEOUT_MS = 60_000;

afterAll(cleanupAll);

/** A second `gafka broker` on the same data dir, run to its end (it must not start). */
function secondBroker(dataDir: string) {
  return runCli(["broker", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], { timeoutMs: 20_000 });
}

test("a second broker on a data dir in use refuses to start, naming the holder's pid, and touches nothing", async () => {
  const first = await startBrokerProcess();
  expect((await postJson(`${first.url}/api/v1/topics`, { name: "locked", partitions: 1 })).status).toBe(201);
  expect((await postJson(`${first.url}/api/v1/produce`, { topic: "locked", value: "before" })).body.offset).toBe(0);

  const second = await secondBroker(first.dataDir);
  expect(second.timedOut).toBe(false);
  expect(second.exitCode).toBe(1);
  expect(second.stdout).not.toContain("listening on");
  expect(second.stderr.trim()).toBe(
    `error: data dir ${first.dataDir} is locked by another process (pid ${first.process.pid}); one broker per data dir`,
  );

  // The first broker goes on alone, its offsets its own.
  expect((await postJson(`${first.url}/api/v1/produce`, { topic: "locked", value: "after" })).body.offset).toBe(1);
  expect((await readPartition(first.url, "locked", 0)).map((record) => record.value)).toEqual(["before", "after"]);
  expect(await Bun.file(path.join(first.dataDir, ".lock")).text()).toBe(`${first.process.pid}\n`);
  await first.cleanup();
}, TEST_TIMEOUT_MS);

test("the kernel drops the lock with its holder: after kill -9 a new broker starts on the data dir", async () => {
  const first = await startBrokerProcess();
  expect((await postJson(`${first.url}/api/v1/topics`, { name: "crashed", partitions: 1 })).status).toBe(201);
  expect((await postJson(`${first.url}/api/v1/produce`, { topic: "crashed", value: "kept" })).status).toBe(200);
  await first.kill();
  // The dead holder's pid is still in the file; only flock decides who holds the lock.
  expect(await Bun.file(path.join(first.dataDir, ".lock")).text()).toBe(`${first.process.pid}\n`);

  const next = await startBrokerProcess({ dataDir: first.dataDir });
  expect((await readPartition(next.url, "crashed", 0)).map((record) => record.value)).toEqual(["kept"]);
  expect(await Bun.file(path.join(first.dataDir, ".lock")).text()).toBe(`${next.process.pid}\n`);
  const refused = await secondBroker(first.dataDir);
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toContain(`(pid ${next.process.pid})`);

  // A clean stop releases it too (and empties the file).
  expect(await next.stop()).toBe(0);
  expect(await Bun.file(path.join(first.dataDir, ".lock")).text()).toBe("");
  const after = await startBrokerProcess({ dataDir: first.dataDir });
  expect((await readPartition(after.url, "crashed", 0)).map((record) => record.value)).toEqual(["kept"]);
  await after.cleanup();
  await next.cleanup();
  await first.cleanup();
}, TEST_TIMEOUT_MS);

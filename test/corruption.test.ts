import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, readPartition } from "./helpers/http.ts";

afterAll(cleanupAll);

test("a bit flipped in a middle frame: that partition refuses naming file and offset, the others serve, verify reports it", async () => {
  const broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "bits", partitions: 2 })).status).toBe(201);
  for (let i = 0; i < 6; i++) {
    for (const partition of [0, 1]) {
      const { status } = await postJson(`${broker.url}/api/v1/produce`, { topic: "bits", partition, value: `v${partition}-${i}` });
      expect(status).toBe(200);
    }
  }
  expect((await broker.stop())).toBe(0);

  const segment = path.join(broker.dataDir, "bits-0", "00000000000000000000.log");
  const bytes = readFileSync(segment);
  const frameBytes = bytes.length / 6; // six equal single-record frames
  const middleFrame = frameBytes * 2;
  bytes[middleFrame + 70] ^= 0x04;
  writeFileSync(segment, bytes);

  await broker.restart();
  const refused = await getJson(`${broker.url}/api/v1/consume?topic=bits&partition=0&offset=0&count=10`);
  expect(refused.status).toBe(503);
  expect(refused.body.error.code).toBe("log_corrupt");
  // The answer names the file inside the data dir; the broker's log names it whole.
  expect(refused.body.error.message).toContain(path.relative(broker.dataDir, segment));
  expect(refused.body.error.message).not.toContain(broker.dataDir);
  expect(broker.stderr()).toContain(segment);
  expect(refused.body.error.message).toContain(`position ${middleFrame}`);
  const write = await postJson(`${broker.url}/api/v1/produce`, { topic: "bits", partition: 0, value: "nope" });
  expect(write.status).toBe(503);
  expect(write.body.error.code).toBe("log_corrupt");

  expect((await readPartition(broker.url, "bits", 1)).map((r) => r.value)).toEqual(["v1-0", "v1-1", "v1-2", "v1-3", "v1-4", "v1-5"]);
  const health = await getJson(`${broker.url}/healthz`);
  expect(health.body.status).toBe("degraded");
  const described = await getJson(`${broker.url}/api/v1/topics/bits`);
  expect(described.body.partitions[0].status).toBe("corrupt");
  expect(described.body.partitions[1].status).toBe("online");
  await broker.stop();

  // The damaged bytes and everything after them are still on disk.
  expect(readFileSync(segment).length).toBe(bytes.length);
  const verify = await runCli(["admin", "verify", "--data-dir", broker.dataDir]);
  expect(verify.exitCode).toBe(1);
  expect(verify.stdout + verify.stderr).toContain(segment);
  expect(verify.stdout + verify.stderr).toContain(String(middleFrame));
  await broker.cleanup();
});

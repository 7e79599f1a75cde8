import { afterAll, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson } from "./helpers/http.ts";

/** Real processes and fsyncs on a machine that may be busy: a bound well past what they need. */
const TEST_TIMEOUT_MS = 60_000;

afterAll(cleanupAll);

test("topic names over 249 characters are 400 invalid_request and leave no directory; 249 with 100 partitions works and survives a restart", async () => {
  const broker = await startBrokerProcess();
  const entriesBefore = nodeFs.readdirSync(broker.dataDir).sort();
  // 254 and 255 were 500 ENAMETOOLONG; 253 with 11 partitions failed at partition 10 and left 0-9 behind.
  for (const [length, partitions] of [[250, 1], [254, 1], [255, 1], [253, 11]] as const) {
    const answer = await postJson(`${broker.url}/api/v1/topics`, { name: "n".repeat(length), partitions });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: "invalid_request", message: "topic name is longer than 249 characters", field: "name" });
  }
  expect(nodeFs.readdirSync(broker.dataDir).sort()).toEqual(entriesBefore);
  expect((await getJson(`${broker.url}/api/v1/topics`)).body.topics).toEqual([]);

  const longest = "l".repeat(249);
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: longest, partitions: 100 })).status).toBe(201);
  expect((await postJson(`${broker.url}/api/v1/produce`, { topic: longest, partition: 99, value: "v" })).body.offset).toBe(0);
  await broker.kill();
  await broker.restart();
  const described = await getJson(`${broker.url}/api/v1/topics/${longest}`);
  expect(described.body.partitions).toHaveLength(100);
  expect(described.body.partitions[99]).toMatchObject({ next_offset: 1, status: "online" });
  await broker.cleanup();
}, TEST_TIMEOUT_MS);

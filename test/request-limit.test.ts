import { afterAll, beforeAll, expect, test } from "bun:test";
import { limits } from "../src/core/limits.ts";
import { type BrokerProcess, cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, readPartition } from "./helpers/http.ts";
import { type RawAnswer, rawRequest } from "./helpers/raw-http.ts";

/**
 * A body over the request limit (limits.requestBytesMax) is refused with 413
 * and the JSON error envelope on every route that takes a body, whether it
 * declares its size or comes chunked, and the broker reads no more of it than
 * the limit. Bun's own limit answered an empty 413 (a Content-Length past
 * 128 MiB) and buffered chunked bodies to it first.
 */

afterAll(cleanupAll);

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "t", partitions: 1 })).status).toBe(201);
});

const JSON_TYPE = "application/json";
const BATCH_TYPE = "application/vnd.kafka.record-batch";

const BODY_ROUTES: [path: string, contentType: string][] = [
  ["/api/v1/produce", JSON_TYPE],
  ["/api/v1/produce?topic=t&partition=0", BATCH_TYPE],
  ["/api/v1/topics", JSON_TYPE],
  ["/api/v1/consumer-groups/g/members/m", JSON_TYPE],
  ["/api/v1/consumer-groups/g/offsets", JSON_TYPE],
  ["/api/v1/consumer-groups/g/offsets/reset", JSON_TYPE],
  ["/api/v1/replication/stream", JSON_TYPE],
  ["/api/v1/replication/ack", JSON_TYPE],
  ["/api/v1/replication/leader", JSON_TYPE],
  ["/api/v1/replication/promote", JSON_TYPE],
];

/**
 * Beyond the limit, what may be in flight while the answer is on its way: the
 * kernel's socket buffers (on Linux up to tcp_rmem's 32 MiB plus tcp_wmem's
 * 4 MiB by default). Well short of the twice-the-limit Bun buffered.
 */
const IN_FLIGHT_BYTES_MAX = 48 * 1024 * 1024;

function expectTooLarge(answer: RawAnswer, route: string): any {
  expect(answer.status, route).toBe(413);
  expect(answer.headers["content-type"], route).toStartWith("application/json");
  const body = JSON.parse(answer.body);
  expect(body.error.code, route).toBe("message_too_large");
  expect(body.error.message, route).toContain(`the most a request may carry is ${limits.requestBytesMax}`);
  expect(body.error.max_bytes, route).toBe(limits.requestBytesMax);
  return body;
}

test("a Content-Length over the limit is answered 413 in JSON at once, on every route that takes a body", async () => {
  const declaredBytes = 10 * 1024 * 1024 * 1024; // far past Bun's own 128 MiB default
  for (const [path, contentType] of BODY_ROUTES) {
    // Only a few bytes follow the head: the answer must not wait for the rest.
    const answer = await rawRequest({
      url: broker.url,
      method: "POST",
      path,
      headers: { "content-type": contentType, "content-length": String(declaredBytes) },
      body: new TextEncoder().encode('{"topic":"t"'),
    });
    const body = expectTooLarge(answer, `${contentType} ${path}`);
    expect(body.error.size_bytes).toBe(declaredBytes);
  }
});

test("a chunked body growing past the limit is answered 413 in JSON once it passes, read no further", async () => {
  for (const [path, contentType] of [BODY_ROUTES[0]!, BODY_ROUTES[1]!, BODY_ROUTES[9]!]) {
    const answer = await rawRequest({
      url: broker.url,
      method: "POST",
      path,
      headers: { "content-type": contentType },
      chunkedBytes: 4 * limits.requestBytesMax,
    });
    expectTooLarge(answer, `${contentType} ${path}`);
    expect(answer.sentBytes, `${path}: bytes taken in before the answer`).toBeLessThanOrEqual(limits.requestBytesMax + IN_FLIGHT_BYTES_MAX);
  }
});

test("after refusing them the broker has stored nothing and still serves", async () => {
  expect(await readPartition(broker.url, "t", 0)).toEqual([]);
  expect((await getJson(`${broker.url}/healthz`)).status).toBe(200);
  const produced = await postJson(`${broker.url}/api/v1/produce`, { topic: "t", value: "fits" });
  expect(produced.status).toBe(200);
  expect((await readPartition(broker.url, "t", 0)).map((record) => record.value)).toEqual(["fits"]);
});

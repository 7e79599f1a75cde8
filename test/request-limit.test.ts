import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
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
 * What a refused chunked body may cost the broker beyond the limit itself (the
 * body is kept in pieces until it passes the limit), in peak resident memory.
 * Bun's own limit buffered it to twice the limit, and more while growing.
 */
const MEMORY_OVERHEAD_BYTES_MAX = 32 * 1024 * 1024;

/** The broker process's resident memory now, after resetting its peak to it (Linux: /proc/<pid>/clear_refs). */
function resetPeakMemory(pid: number): number {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
  return memoryStatus(pid, "VmRSS");
}

/** A field of /proc/<pid>/status in bytes: VmRSS (resident now), VmHWM (peak resident since the reset). */
function memoryStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

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

test("a chunked body growing past the limit is answered 413 in JSON once it passes, holding no more than the limit", async () => {
  for (const [index, [path, contentType]] of [BODY_ROUTES[0]!, BODY_ROUTES[1]!, BODY_ROUTES[2]!, BODY_ROUTES[9]!].entries()) {
    // The first refusal is measured: later ones reuse memory the earlier left for the collector.
    const residentBytes = index === 0 ? resetPeakMemory(broker.process.pid) : undefined;
    const answer = await rawRequest({
      url: broker.url,
      method: "POST",
      path,
      headers: { "content-type": contentType },
      chunkedBytes: 4 * limits.requestBytesMax,
    });
    expectTooLarge(answer, `${contentType} ${path}`);
    if (residentBytes !== undefined) {
      const peakGrowthBytes = memoryStatus(broker.process.pid, "VmHWM") - residentBytes;
      expect(peakGrowthBytes, `${path}: the broker's peak memory growth`).toBeLessThanOrEqual(limits.requestBytesMax + MEMORY_OVERHEAD_BYTES_MAX);
    }
  }
});

test("after refusing them the broker has stored nothing and still serves", async () => {
  expect(await readPartition(broker.url, "t", 0)).toEqual([]);
  expect((await getJson(`${broker.url}/healthz`)).status).toBe(200);
  const produced = await postJson(`${broker.url}/api/v1/produce`, { topic: "t", value: "fits" });
  expect(produced.status).toBe(200);
  expect((await readPartition(broker.url, "t", 0)).map((record) => record.value)).toEqual(["fits"]);
});

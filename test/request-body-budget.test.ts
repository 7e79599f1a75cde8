import { afterAll, beforeAll, expect, test } from "bun:test";
import * as net from "node:net";
import { limits } from "../src/core/limits.ts";
import { type BrokerProcess, cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { postJson, readPartition, waitFor } from "./helpers/http.ts";
import { parseSamples } from "./helpers/metrics.ts";
import { rawRequest } from "./helpers/raw-http.ts";

/**
 * The broker-wide budget for request-body bytes in flight
 * (--request-bytes-in-flight-max): a body that does not fit is refused with
 * a retriable 503 server_busy before it is read, small requests still go
 * through, and every byte is given back when a request ends, answered,
 * refused or dropped by its client. Before, any number of parallel large
 * bodies were held at once (8 produces of 60 MiB: 1.27 GiB resident).
 */

afterAll(cleanupAll);

const MiB = 1024 * 1024;
const BUDGET_BYTES = 4 * MiB;
/** What bodies over limits.requestBodySmallBytesMax may hold together: the budget less its small-body share. */
const LARGE_ROOM_BYTES = BUDGET_BYTES - BUDGET_BYTES / limits.requestBytesInFlightSmallShare;

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBrokerProcess({ args: [`--request-bytes-in-flight-max=${BUDGET_BYTES}`] });
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "t", partitions: 1 })).status).toBe(201);
});

/** A JSON produce body of about `bytes` bytes, of 100 KiB records (under the 1 MiB record limit). */
function largeProduceBody(bytes: number, tag: string): Uint8Array {
  const count = Math.floor(bytes / (100 * 1024));
  const records = Array.from({ length: count }, (_, i) => ({ value: `${tag}-${i}-`.padEnd(100 * 1024 - 64, "x") }));
  return new TextEncoder().encode(JSON.stringify({ topic: "t", records }));
}

async function bytesInFlight(): Promise<number> {
  const samples = parseSamples(await (await fetch(`${broker.url}/metrics`)).text());
  return samples.get("gafka_request_body_bytes_in_flight")!;
}

interface HeldRequest {
  /** Sends the rest of the body and resolves with the answer's status and body. */
  finish(): Promise<{ status: number; body: any }>;
  /** Drops the connection with the body half sent. */
  abort(): void;
}

/** A produce whose head and first half of the body are sent, the rest held back until finish(). */
function holdProduce(body: Uint8Array): HeldRequest {
  const { hostname, port } = new URL(broker.url);
  const socket = net.connect(Number(port), hostname);
  socket.on("error", () => {});
  let received = "";
  socket.on("data", (data: Buffer) => {
    received += data.toString("latin1");
  });
  const half = Math.floor(body.length / 2);
  socket.write(`POST /api/v1/produce HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
  socket.write(body.subarray(0, half));
  return {
    async finish() {
      socket.write(body.subarray(half));
      await waitFor(() => {
        const headEnd = received.indexOf("\r\n\r\n");
        const length = /content-length: (\d+)/i.exec(received)?.[1];
        return headEnd !== -1 && length !== undefined && received.length >= headEnd + 4 + Number(length);
      }, "the held produce's answer");
      socket.destroy();
      const headEnd = received.indexOf("\r\n\r\n");
      return { status: Number(received.split(" ")[1]), body: JSON.parse(received.slice(headEnd + 4)) };
    },
    abort() {
      socket.destroy();
    },
  };
}

test("large bodies past the budget get 503 server_busy, small requests still succeed, and the budget is all given back", async () => {
  const bodyBytes = Math.floor(LARGE_ROOM_BYTES / 2) - 64 * 1024;
  const held = [holdProduce(largeProduceBody(bodyBytes, "held0")), holdProduce(largeProduceBody(bodyBytes, "held1"))];
  // The declared lengths are counted as soon as the heads arrive, before the bodies.
  await waitFor(async () => (await bytesInFlight()) > LARGE_ROOM_BYTES - bodyBytes, "the held bodies to be counted");

  const refused = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      fetch(`${broker.url}/api/v1/produce`, { method: "POST", headers: { "content-type": "application/json" }, body: largeProduceBody(bodyBytes, `refused${i}`) }),
    ),
  );
  for (const response of refused) {
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    const body: any = await response.json();
    expect(body.error.code).toBe("server_busy");
    expect(body.error.retriable).toBe(true);
    expect(body.error.bytes_in_flight_max).toBe(BUDGET_BYTES);
  }

  // A chunked body is counted as it arrives, and refused once it no longer fits.
  const chunked = await rawRequest({ url: broker.url, method: "POST", path: "/api/v1/produce", headers: { "content-type": "application/json" }, chunkedBytes: bodyBytes });
  expect(chunked.status).toBe(503);
  expect(JSON.parse(chunked.body).error.code).toBe("server_busy");

  // Small requests use the share the large ones leave.
  expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "t", value: "small" })).status).toBe(200);
  expect((await postJson(`${broker.url}/api/v1/consumer-groups/g/offsets`, { offsets: [{ topic: "t", partition: 0, offset: 0 }] })).status).toBe(200);

  // One client goes away mid-body, the other finishes: both give their bytes back.
  held[0]!.abort();
  const answered = await held[1]!.finish();
  expect(answered.status).toBe(200);
  await waitFor(async () => (await bytesInFlight()) === 0, "every body byte to be given back");

  // The whole room is free again: a body of nearly all of it fits.
  const later = await fetch(`${broker.url}/api/v1/produce`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: largeProduceBody(LARGE_ROOM_BYTES - 128 * 1024, "later"),
  });
  expect(later.status).toBe(200);
  expect(await bytesInFlight()).toBe(0);
  const values = (await readPartition(broker.url, "t", 0)).map((record) => record.value.split("-")[0]);
  expect(values.filter((value) => value.startsWith("refused") || value === "held0")).toEqual([]);
  expect(new Set(values)).toEqual(new Set(["small", "held1", "later"]));
});

test("a body larger than the budget's room is too large (413), not busy for ever; chunked ones too, on produce and topics", async () => {
  const declared = await rawRequest({
    url: broker.url,
    method: "POST",
    path: "/api/v1/produce",
    headers: { "content-type": "application/json", "content-length": String(LARGE_ROOM_BYTES + 1) },
    body: new TextEncoder().encode("{"),
  });
  expect(declared.status).toBe(413);
  expect(JSON.parse(declared.body).error.max_bytes).toBe(LARGE_ROOM_BYTES);
  for (const path of ["/api/v1/produce", "/api/v1/topics"]) {
    const answer = await rawRequest({ url: broker.url, method: "POST", path, headers: { "content-type": "application/json" }, chunkedBytes: 4 * BUDGET_BYTES });
    expect(answer.status, path).toBe(413);
    expect(answer.headers["content-type"], path).toStartWith("application/json");
    const body = JSON.parse(answer.body);
    expect(body.error.code, path).toBe("message_too_large");
    expect(body.error.max_bytes, path).toBe(LARGE_ROOM_BYTES);
  }
  await waitFor(async () => (await bytesInFlight()) === 0, "the refused bodies' bytes to be given back");
});

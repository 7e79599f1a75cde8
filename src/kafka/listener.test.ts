import { afterEach, expect, test } from "bun:test";
import * as net from "node:net";
import { createLogger } from "../core/logger.ts";
import { connectRaw, framed } from "../../test/helpers/kafka-socket.ts";
import { KafkaDispatcher } from "./dispatcher.ts";
import { FRAME_SLAB_BYTES, FrameReader, SLAB_FRAME_BYTES_MAX } from "./frame-reader.ts";
import { limits } from "../core/limits.ts";
import { KafkaListener, type KafkaListenerOptions, NO_ANSWER, type RequestHandler } from "./listener.ts";
import { decodeResponse, encodeRequest } from "./protocol/codec.ts";
import { API_VERSIONS } from "./protocol/messages/api-versions.ts";

const logger = createLogger("silent");
const listeners: KafkaListener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.stop()));
});

function listen(
  handler: RequestHandler,
  options: Partial<Pick<KafkaListenerOptions, "requestBytesMax" | "idleMs" | "pipelinedRequestBytesMax" | "traffic">> = {},
): KafkaListener {
  const listener = new KafkaListener({ host: "127.0.0.1", port: 0, handler, logger, ...options });
  listeners.push(listener);
  return listener;
}

/** Answers each request with its own bytes, after a delay its first byte names (ms), so later requests may finish first. */
const echoAfterDelay: RequestHandler = async (request) => {
  await Bun.sleep(request[0] ?? 0);
  return framed(request);
};

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("frame reader: frames split anywhere and coalesced come out whole and in order", () => {
  const stream = new Uint8Array([...framed(new Uint8Array([1, 2, 3])), ...framed(new Uint8Array(0)), ...framed(new Uint8Array([9]))]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new FrameReader(100);
    const first = reader.push(stream.subarray(0, cut));
    const second = reader.push(stream.subarray(cut));
    expect(first).not.toBe("oversize");
    expect(second).not.toBe("oversize");
    expect([...(first as Uint8Array[]), ...(second as Uint8Array[])].map((frame) => [...frame])).toEqual([[1, 2, 3], [], [9]]);
    expect(reader.pendingBytes).toBe(0);
  }
  const byteAtATime = new FrameReader(100);
  const frames = [...stream].flatMap((byte) => byteAtATime.push(new Uint8Array([byte])) as Uint8Array[]);
  expect(frames.length).toBe(3);
});

test("frame reader: a size prefix over the limit or negative is oversize", () => {
  expect(new FrameReader(10).push(framed(new Uint8Array(11)))).toBe("oversize");
  expect(new FrameReader(10).push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe("oversize");
  expect(new FrameReader(10).push(framed(new Uint8Array(10)))).toHaveLength(1);
});

test("pipelined requests are answered in request order, whichever finishes first", async () => {
  const listener = listen(echoAfterDelay);
  const socket = await connectRaw(listener.port);
  const delays = [40, 0, 20, 0, 5];
  // All in one write (coalesced), then a request split across two writes.
  socket.write(new Uint8Array(delays.flatMap((delay, index) => [...framed(new Uint8Array([delay, index]))])));
  const split = framed(new Uint8Array([0, 5]));
  socket.write(split.subarray(0, 3));
  await Bun.sleep(10);
  socket.write(split.subarray(3));
  const answers = await socket.answers(6);
  expect(answers.map((answer) => answer[1])).toEqual([0, 1, 2, 3, 4, 5]);
  socket.end();
});

test("an answer is written before the event loop's next task; answers ready together share one write", async () => {
  const events: string[] = [];
  let writes = 0;
  // Each request settles in the same run of microtasks as the others; the handler queues a task (setImmediate) just before answering.
  const listener = listen(
    async (request) => {
      setImmediate(() => events.push(`next task after ${request[0]}`));
      return framed(request);
    },
    { traffic: { received: () => {}, sent: () => events.push(`written (write ${++writes})`) } },
  );
  const socket = await connectRaw(listener.port);
  socket.write(new Uint8Array([1, 2, 3].flatMap((index) => [...framed(new Uint8Array([index]))])));
  const answers = await socket.answers(3);
  expect(answers.map((answer) => answer[0])).toEqual([1, 2, 3]);
  await Bun.sleep(10);
  expect(events).toEqual(["written (write 1)", "next task after 1", "next task after 2", "next task after 3"]);
  socket.end();
});

test("a request over the size limit closes the connection; the listener serves the next one", async () => {
  const listener = listen(echoAfterDelay, { requestBytesMax: 16 });
  const socket = await connectRaw(listener.port);
  socket.write(framed(new Uint8Array(17)));
  await socket.closed();
  const next = await connectRaw(listener.port);
  next.write(framed(new Uint8Array(16)));
  expect((await next.answers(1))[0]!.length).toBe(16);
  next.end();
});

test("garbage, an unknown API and a handler's bug close that connection only", async () => {
  const dispatcher = new KafkaDispatcher([], logger);
  const listener = listen((request) => (request[0] === 0xee ? Promise.reject(new Error("a bug")) : dispatcher.handle(request)));
  for (const bad of [new Uint8Array([1, 2, 3]), new Uint8Array([0, 99, 0, 0, 0, 0, 0, 1, 0, 0]), new Uint8Array(64).fill(0xee)]) {
    const socket = await connectRaw(listener.port);
    socket.write(framed(bad));
    await socket.closed();
  }
  // ApiVersions v0 with a body it cannot have: malformed.
  const trailing = encodeRequest(API_VERSIONS.request, { requestApiKey: 18, requestApiVersion: 0, correlationId: 1, clientId: "t" }, {});
  const malformed = await connectRaw(listener.port);
  malformed.write(framed(new Uint8Array([...trailing, 7])));
  await malformed.closed();
  const good = await connectRaw(listener.port);
  good.write(framed(trailing));
  const [answer] = await good.answers(1);
  const { correlationId, body } = decodeResponse<{ errorCode: number }>(API_VERSIONS.response, 0, answer!);
  expect(correlationId).toBe(1);
  expect(body.errorCode).toBe(0);
  good.end();
});

test("an idle connection is closed; stop answers requests in flight, then closes", async () => {
  const idle = listen(echoAfterDelay, { idleMs: 50 });
  const quiet = await connectRaw(idle.port);
  await quiet.closed();

  const listener = listen(echoAfterDelay);
  const socket = await connectRaw(listener.port);
  socket.write(framed(new Uint8Array([60, 1])));
  socket.write(framed(new Uint8Array([0, 2])));
  await Bun.sleep(10);
  const stopped = listener.stop();
  const answers = await socket.answers(2);
  expect(answers.map((answer) => text(answer.subarray(1)))).toEqual(["\u0001", "\u0002"]);
  await stopped;
  await socket.closed();
  expect(listener.connectionCount).toBe(0);
});

test("a request answered NO_ANSWER writes nothing; the ones after it are answered in order", async () => {
  // First byte 1: no answer (as a Produce with acks=0 gets).
  const listener = listen(async (request) => (request[0] === 1 ? NO_ANSWER : framed(request)));
  const socket = await connectRaw(listener.port);
  socket.write(new Uint8Array([...framed(new Uint8Array([1, 0])), ...framed(new Uint8Array([0, 1])), ...framed(new Uint8Array([1, 2])), ...framed(new Uint8Array([0, 3]))]));
  const answers = await socket.answers(2);
  expect(answers.map((answer) => answer[1])).toEqual([1, 3]);
  socket.end();
});

test("pipelined requests are started together, in request order, at most kafkaPipelinedRequestsMax at once", async () => {
  const started: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const listener = listen(async (request) => {
    started.push(request[0]!);
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    await released;
    inFlight--;
    return framed(request);
  });
  const socket = await connectRaw(listener.port);
  const count = limits.kafkaPipelinedRequestsMax + 8;
  socket.write(new Uint8Array(Array.from({ length: count }, (_, index) => [...framed(new Uint8Array([index]))]).flat()));
  const deadline = Date.now() + 10_000;
  while (started.length < limits.kafkaPipelinedRequestsMax && Date.now() < deadline) await Bun.sleep(5);
  // None has finished, so the limit holds the rest back.
  expect(started).toEqual(Array.from({ length: limits.kafkaPipelinedRequestsMax }, (_, index) => index));
  release();
  const answers = await socket.answers(count);
  expect(answers.map((answer) => answer[0])).toEqual(Array.from({ length: count }, (_, index) => index));
  expect(started).toEqual(Array.from({ length: count }, (_, index) => index));
  expect(mostInFlight).toBe(limits.kafkaPipelinedRequestsMax);
  socket.end();
});

test("a connection stops being read once its unanswered requests hold pipelinedRequestBytesMax bytes, whatever their count", async () => {
  let received = 0;
  let started = 0;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const listener = listen(
    async (request) => {
      started++;
      await released;
      return framed(request.subarray(0, 2));
    },
    { pipelinedRequestBytesMax: 64 * 1024, traffic: { received: (bytes) => (received += bytes), sent: () => {} } },
  );
  // node:net, which buffers what the socket does not take at once (the raw helper writes only what it takes).
  const socket = net.connect(listener.port, "127.0.0.1");
  let answered = new Uint8Array(0);
  socket.on("data", (chunk: Buffer) => {
    const joined = new Uint8Array(answered.length + chunk.length);
    joined.set(answered);
    joined.set(chunk, answered.length);
    answered = joined;
  });
  // 16 MiB of 16 KiB requests: far fewer than the count limit reach the byte limit.
  const count = 1024;
  const size = 16 * 1024;
  const stream = new Uint8Array(count * (size + 4));
  for (let index = 0; index < count; index++) {
    const request = new Uint8Array(size);
    request[0] = index & 0xff;
    request[1] = index >> 8;
    stream.set(framed(request), index * (size + 4));
  }
  socket.write(stream);
  const deadline = Date.now() + 10_000;
  while (started < 4 && Date.now() < deadline) await Bun.sleep(5);
  await Bun.sleep(200);
  // Reading stopped near the limit (one read of the socket may bring a few more), well before the count limit.
  expect(started).toBeLessThan(limits.kafkaPipelinedRequestsMax / 2);
  expect(received).toBeLessThan(limits.kafkaPipelinedRequestsMax / 2 * (size + 4));
  release();
  // Each answer is 4 + 2 bytes: the request's index.
  while (answered.length < count * 6 && Date.now() < deadline) await Bun.sleep(10);
  const indexes = Array.from({ length: count }, (_, index) => answered[index * 6 + 4]! | (answered[index * 6 + 5]! << 8));
  expect(indexes).toEqual(Array.from({ length: count }, (_, index) => index));
  socket.destroy();
});

test("stop aborts the signal of requests in flight, so a long poll answers at once", async () => {
  let waiting = false;
  const listener = listen(async (request, signal) => {
    waiting = true;
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    return framed(request);
  });
  const socket = await connectRaw(listener.port);
  socket.write(framed(new Uint8Array([7])));
  const deadline = Date.now() + 10_000;
  while (!waiting && Date.now() < deadline) await Bun.sleep(5);
  const stopped = listener.stop();
  expect([...(await socket.answers(1))[0]!]).toEqual([7]);
  await stopped;
});

test("frame reader: requests sharing a slab never overlap, and a later request never writes into an earlier one", () => {
  const reader = new FrameReader(1024 * 1024);
  const sizes = [0, 1, 100, SLAB_FRAME_BYTES_MAX, SLAB_FRAME_BYTES_MAX + 1, 5000, 7, FRAME_SLAB_BYTES / 2, 3000, 60_000, 1, 4096];
  const frames: Uint8Array[] = [];
  for (let round = 0; round < 20; round++) {
    for (const [index, size] of sizes.entries()) {
      const got = reader.push(framed(new Uint8Array(size).fill((round * sizes.length + index) % 251)));
      frames.push(...(got as Uint8Array[]));
    }
  }
  expect(frames.length).toBe(20 * sizes.length);
  // Every request still holds its own bytes after all the later ones were read.
  frames.forEach((frame, at) => {
    expect(frame.length).toBe(sizes[at % sizes.length]!);
    expect(frame.every((byte) => byte === at % 251)).toBe(true);
  });
  // And no two requests share a byte of memory.
  const spans = frames.filter((frame) => frame.length > 0).map((frame) => ({ buffer: frame.buffer, start: frame.byteOffset, end: frame.byteOffset + frame.length }));
  for (const [index, span] of spans.entries()) {
    for (const other of spans.slice(index + 1)) {
      if (other.buffer === span.buffer) expect(other.start >= span.end || other.end <= span.start).toBe(true);
    }
  }
});

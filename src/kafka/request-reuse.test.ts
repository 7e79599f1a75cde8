import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { silentLogger } from "../core/logger.ts";
import { encodeRecordBatch } from "../protocol/record-batch.ts";
import { type FileSystem, nodeFileSystem } from "../storage/file-system.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { connectRaw, framed } from "../../test/helpers/kafka-socket.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { KafkaDispatcher } from "./dispatcher.ts";
import { KafkaListener, type RequestHandler } from "./listener.ts";
import { produceApi } from "./produce.ts";
import { encodeRequest } from "./protocol/codec.ts";
import { PRODUCE } from "./protocol/messages/produce.ts";
import { POOLED_REQUEST_BYTES_MIN, RequestBufferPool } from "./request-buffer-pool.ts";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A pool that records what it lends and takes back, and refuses to lend a buffer `inUse` names. */
class WatchedPool extends RequestBufferPool {
  readonly taken: ArrayBuffer[] = [];
  readonly given: ArrayBuffer[] = [];
  inUse: (buffer: ArrayBuffer) => boolean = () => false;

  override take(size: number): Uint8Array {
    const view = super.take(size);
    const buffer = view.buffer as ArrayBuffer;
    if (this.inUse(buffer)) throw new Error("a request buffer was lent while a request using it was unfinished");
    this.taken.push(buffer);
    return view;
  }

  override give(request: Uint8Array): void {
    this.given.push(request.buffer as ArrayBuffer);
    super.give(request);
  }
}

function listen(handler: RequestHandler, pool: RequestBufferPool): KafkaListener {
  const listener = new KafkaListener({ host: "127.0.0.1", port: 0, handler, logger: silentLogger, requestBufferPool: pool });
  cleanups.push(() => listener.stop());
  return listener;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

const large = (fill: number) => new Uint8Array(POOLED_REQUEST_BYTES_MIN + 100).fill(fill);

test("a pooled request's memory goes back only once its handler released it and answered, in either order", async () => {
  const pool = new WatchedPool(1 << 24);
  let releaseLater = () => {};
  const handler: RequestHandler = async (request, _signal, release) => {
    const mode = request[0];
    if (mode === 1) release(); // released, then answered
    if (mode === 2) releaseLater = release; // answered, released later
    if (mode === 4) {
      release();
      throw new Error("a handler's bug after its release");
    }
    return framed(request.subarray(0, 1)); // mode 3: answered, never released
  };
  const listener = listen(handler, pool);
  const socket = await connectRaw(listener.port);
  cleanups.push(() => socket.end());
  socket.write(framed(large(1)));
  await socket.answers(1);
  await until(() => pool.given.length === 1, "the first buffer back");
  expect(pool.given[0]).toBe(pool.taken[0]!);

  socket.write(framed(large(2)));
  await socket.answers(1);
  expect(pool.given.length).toBe(1);
  releaseLater();
  expect(pool.given.length).toBe(2);
  releaseLater(); // a second call gives nothing back twice
  expect(pool.given.length).toBe(2);

  socket.write(framed(large(3)));
  await socket.answers(1);
  socket.write(framed(large(4)));
  await socket.closed();
  expect(pool.given.length).toBe(2);
  expect(pool.taken.length).toBe(4);
});

test("small requests never touch the pool", async () => {
  const pool = new WatchedPool(1 << 24);
  const listener = listen(async (request, _signal, release) => {
    release();
    return framed(request);
  }, pool);
  const socket = await connectRaw(listener.port);
  cleanups.push(() => socket.end());
  socket.write(framed(new Uint8Array(POOLED_REQUEST_BYTES_MIN - 1)));
  await socket.answers(1);
  expect(pool.taken).toEqual([]);
  expect(pool.given).toEqual([]);
});

/** The real file system, with every fdatasync from `hold()` on held until `open()`. */
function heldSyncs(): { fs: FileSystem; held: () => number; hold: () => void; open: () => void } {
  let waiting: (() => void)[] = [];
  let holding = false;
  const fs: FileSystem = {
    ...nodeFileSystem,
    fdatasync: (fd) => {
      if (!holding) return nodeFileSystem.fdatasync(fd);
      return new Promise<void>((resolve) => waiting.push(resolve)).then(() => nodeFileSystem.fdatasync(fd));
    },
  };
  return {
    fs,
    held: () => waiting.length,
    hold: () => {
      holding = true;
    },
    open: () => {
      holding = false;
      for (const resolve of waiting) resolve();
      waiting = [];
    },
  };
}

function produceRequest(correlationId: number, acks: number, value: Uint8Array): Uint8Array {
  const records = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value, headers: [], timestampMs: Date.now() }] });
  const body = { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: "t", partitionData: [{ index: 0, records }] }] };
  return framed(encodeRequest(PRODUCE.request, { requestApiKey: 0, requestApiVersion: 8, correlationId, clientId: "test" }, body));
}

test("a produce's request memory is never lent again while its append is unfinished, and acks=0 produces never give theirs back", async () => {
  const temp = makeTempDir("gafka-request-reuse-");
  cleanups.push(temp.remove);
  const held = heldSyncs();
  const broker = await Broker.open(testBrokerConfig(temp.dir, { fs: held.fs }));
  cleanups.push(() => broker.close());
  await broker.createTopic("t", 1);
  held.hold();

  const pool = new WatchedPool(1 << 24);
  const unfinished = new Set<ArrayBuffer>();
  pool.inUse = (buffer) => unfinished.has(buffer);
  const dispatcher = new KafkaDispatcher([produceApi(broker, silentLogger)], silentLogger);
  const listener = listen((request, signal, release) => dispatcher.handle(request, signal, release), pool);
  const socket = await connectRaw(listener.port);
  cleanups.push(() => socket.end());
  const valueBytes = POOLED_REQUEST_BYTES_MIN + 1000;
  const value = (fill: number) => new Uint8Array(valueBytes).fill(fill);

  // A (acks=1) waits for its held fdatasync; B (acks=0) is answered with nothing while its append is under way; C (acks=1) waits too.
  socket.write(produceRequest(1, 1, value(0xa1)));
  await until(() => held.held() >= 1, "A's fdatasync to be held");
  socket.write(produceRequest(2, 0, value(0xb2)));
  socket.write(produceRequest(3, 1, value(0xc3)));
  await until(() => pool.taken.length === 3, "B and C to be read");
  const [bufferA, bufferB, bufferC] = pool.taken as [ArrayBuffer, ArrayBuffer, ArrayBuffer];
  for (const buffer of pool.taken) unfinished.add(buffer);
  expect(new Set(pool.taken).size).toBe(3);
  expect(pool.given).toEqual([]);

  held.open();
  const answers = await socket.answers(2);
  expect(answers.length).toBe(2);
  await until(() => pool.given.length === 2, "A's and C's memory back");
  expect(pool.given).toEqual([bufferA, bufferC]);
  unfinished.delete(bufferA);
  unfinished.delete(bufferC);

  // Later requests reuse A's and C's memory, never B's (an acks=0 append gives no sign of its end).
  socket.write(produceRequest(4, 1, value(0xd4)));
  socket.write(produceRequest(5, 1, value(0xe5)));
  await socket.answers(2);
  expect(pool.taken.slice(3).every((buffer) => buffer === bufferA || buffer === bufferC)).toBe(true);
  expect(pool.given).not.toContain(bufferB);

  // What the log holds is what each request carried.
  const fetched = await broker.fetch({ topic: "t", partition: 0, offset: "earliest", maxRecords: 10, waitMs: 0 });
  expect(fetched.records.map((stored) => [stored.value?.length, stored.value?.[0], stored.value?.every((byte) => byte === stored.value?.[0])])).toEqual(
    [0xa1, 0xb2, 0xc3, 0xd4, 0xe5].map((fill) => [valueBytes, fill, true]),
  );
});

import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { systemClock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { type FileSystem, nodeFileSystem } from "./file-system.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";
import { PartitionLog } from "./partition-log.ts";
import type { RecordInput, StoredRecord } from "../protocol/record.ts";
import { decodeRecordBatch } from "../protocol/record-batch.ts";

const encoder = new TextEncoder();
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function record(value: string): RecordInput {
  return { key: encoder.encode(`k-${value}`), value: encoder.encode(value), headers: [], timestampMs: 1_764_000_000_000 };
}

function freshLog(options: { segmentBytesMax?: number; fs?: FileSystem } = {}): { log: PartitionLog; dir: string } {
  const temp = makeTempDir("gafka-batch-read-");
  cleanups.unshift(temp.remove);
  const dir = path.join(temp.dir, "t-0");
  const log = PartitionLog.open({
    dir,
    name: "t-0",
    fs: options.fs ?? nodeFileSystem,
    clock: systemClock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: options.segmentBytesMax ?? 1024 * 1024,
    indexIntervalBytes: 256,
  });
  cleanups.push(() => log.close());
  return { log, dir };
}

/** Appends `batches` batches of `perBatch` records each, values padded to `valueBytes`. */
async function fill(log: PartitionLog, batches: number, perBatch: number, valueBytes = 20): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const records: RecordInput[] = [];
    for (let r = 0; r < perBatch; r++) records.push(record(`v${b * perBatch + r}-`.padEnd(valueBytes, "x")));
    await log.append(records);
  }
}

/** Splits back-to-back batches and decodes each (its CRC-32C checked): what a binary consumer does. */
function decodeAll(bytes: Uint8Array): { baseOffsets: number[]; records: StoredRecord[] } {
  const baseOffsets: number[] = [];
  const records: StoredRecord[] = [];
  let position = 0;
  while (position < bytes.length) {
    const batchBytes = 12 + new DataView(bytes.buffer, bytes.byteOffset + position + 8, 4).getInt32(0);
    const decoded = decodeRecordBatch(bytes.subarray(position, position + batchBytes));
    baseOffsets.push(decoded.header.baseOffset);
    records.push(...decoded.records);
    position += batchBytes;
  }
  expect(position).toBe(bytes.length);
  return { baseOffsets, records };
}

/** The records a binary read delivers: those in [offset, nextOffset). */
function delivered(log: PartitionLog, offset: number, maxRecords: number, maxBytes: number): { nextOffset: number; records: StoredRecord[]; baseOffsets: number[] } {
  const read = log.readBatches(offset, maxRecords, maxBytes);
  const { baseOffsets, records } = decodeAll(read.batches);
  return { nextOffset: read.nextOffset, baseOffsets, records: records.filter((r) => r.offset >= offset && r.offset < read.nextOffset) };
}

function expectSameAsRead(log: PartitionLog, offset: number, maxRecords: number, maxBytes: number): void {
  const json = log.read(offset, maxRecords, maxBytes);
  const binary = delivered(log, offset, maxRecords, maxBytes);
  expect(binary.nextOffset).toBe(json.nextOffset);
  expect(binary.records).toEqual(json.records);
}

test("a read from inside a batch carries the whole batch and delivers from the offset asked for", async () => {
  const { log } = freshLog();
  await fill(log, 4, 5);
  const read = delivered(log, 7, 100, 1 << 20);
  expect(read.baseOffsets).toEqual([5, 10, 15]);
  expect(read.nextOffset).toBe(20);
  expect(read.records.map((r) => r.offset)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  expectSameAsRead(log, 7, 100, 1 << 20);
});

test("a count that ends inside a batch ends next_offset there; the batch is carried whole", async () => {
  const { log } = freshLog();
  await fill(log, 4, 5);
  const read = log.readBatches(2, 6, 1 << 20);
  expect(read.nextOffset).toBe(8);
  expect(decodeAll(read.batches).baseOffsets).toEqual([0, 5]);
  expectSameAsRead(log, 2, 6, 1 << 20);
  expectSameAsRead(log, 5, 5, 1 << 20);
  expect(log.readBatches(5, 5, 1 << 20).nextOffset).toBe(10);
});

test("maxBytes bounds the batches read, at least one; the same batches as a record read", async () => {
  const { log } = freshLog();
  await fill(log, 10, 1, 200);
  const one = log.readBatches(0, 100, 1);
  expect(one.nextOffset).toBe(1);
  expect(decodeAll(one.batches).baseOffsets).toEqual([0]);
  const batchBytes = one.batches.length;
  const two = log.readBatches(3, 100, Math.floor(2.5 * batchBytes));
  expect(two.nextOffset).toBe(5);
  expect(two.batches.length).toBe(2 * batchBytes);
  for (const maxBytes of [1, batchBytes, batchBytes + 1, 3 * batchBytes, 1 << 20]) expectSameAsRead(log, 3, 100, maxBytes);
});

test("firstBatchPastMaxBytes false keeps to maxBytes: no batch when the first is larger, whole batches within it otherwise", async () => {
  const { log } = freshLog({ segmentBytesMax: 1024 });
  await fill(log, 12, 1, 200);
  const batchBytes = log.readBatches(0, 1, 1).batches.length;
  expect(log.readBatches(0, 100, batchBytes - 1, false)).toEqual({ batches: new Uint8Array(0), nextOffset: 0 });
  for (const maxBytes of [batchBytes, 2 * batchBytes + 1, 5 * batchBytes - 1, 8 * batchBytes]) {
    const read = log.readBatches(0, 100, maxBytes, false);
    expect(read.batches.length).toBeLessThanOrEqual(maxBytes);
    expect(read.batches.length).toBe(read.nextOffset * batchBytes);
    expect(decodeAll(read.batches).baseOffsets).toEqual(Array.from({ length: read.nextOffset }, (_, i) => i));
  }
});

test("every offset, count and byte limit delivers what a record read returns, across segments", async () => {
  const { log } = freshLog({ segmentBytesMax: 1024 });
  for (let b = 0; b < 30; b++) await fill(log, 1, 1 + (b % 4), 10 + ((b * 37) % 90));
  expect(log.highWatermark).toBe(73);
  for (let offset = 0; offset <= 73; offset += 3) {
    for (const maxRecords of [1, 2, 7, 100]) {
      for (const maxBytes of [1, 150, 400, 1 << 20]) expectSameAsRead(log, offset, maxRecords, maxBytes);
    }
  }
});

test("a byte limit reached before a segment's end does not skip on to the next segment", async () => {
  const { log, dir } = freshLog({ segmentBytesMax: 1024 });
  await fill(log, 12, 1, 200);
  const segments = readdirSync(dir).filter((name) => name.endsWith(".log")).length;
  expect(segments).toBeGreaterThan(1);
  expect(segments).toBeLessThan(12); // some segment holds more than one batch: the limit falls inside it
  const limit = Math.floor(1.5 * log.readBatches(0, 1, 1).batches.length);
  for (let offset = 0; offset < 12; offset++) {
    const offsets = log.read(offset, 100, limit).records.map((r) => r.offset);
    expect(offsets).toEqual(offsets.map((_, i) => offset + i));
    expectSameAsRead(log, offset, 100, limit);
  }
});

test("nothing at or past the high watermark is delivered", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let holding = false;
  const fs: FileSystem = { ...nodeFileSystem, fdatasync: async (fd) => (holding ? held.then(() => nodeFileSystem.fdatasync(fd)) : nodeFileSystem.fdatasync(fd)) };
  const { log } = freshLog({ fs });
  await fill(log, 2, 5);
  holding = true;
  const pending = log.append([record("late-0"), record("late-1")]);
  await Bun.sleep(20); // the frame is written; its fdatasync waits
  expect(log.logEndOffset).toBe(12);
  expect(log.highWatermark).toBe(10);
  const before = log.readBatches(0, 100, 1 << 20);
  expect(before.nextOffset).toBe(10);
  expect(decodeAll(before.batches).baseOffsets).toEqual([0, 5]);
  expect(log.readBatches(10, 100, 1 << 20)).toEqual({ batches: new Uint8Array(0), nextOffset: 10 });
  release();
  await pending;
  expect(log.readBatches(10, 100, 1 << 20).nextOffset).toBe(12);

  // Replication's bound may end the visible records inside a batch: next_offset stops there.
  log.resetHighWatermarkLimit(7);
  expectSameAsRead(log, 0, 100, 1 << 20);
  expect(log.readBatches(0, 100, 1 << 20).nextOffset).toBe(7);
  expect(log.readBatches(7, 100, 1 << 20).nextOffset).toBe(7);
});

test("a read reaching a batch whose bytes no longer match its frame CRC32 stops before it; a read starting there is log_corrupt, naming file and position", async () => {
  const { log, dir } = freshLog();
  const frameStarts: number[] = [];
  for (let b = 0; b < 4; b++) {
    frameStarts.push(log.sizeBytes);
    await fill(log, 1, 3);
  }
  const file = path.join(dir, "00000000000000000000.log");
  const bytes = readFileSync(file);
  bytes[frameStarts[2]! + FRAME_HEADER_BYTES + 70] ^= 0x01; // inside a record of the batch at offset 6
  writeFileSync(file, bytes);
  expect(delivered(log, 0, 6, 1 << 20).nextOffset).toBe(6); // the batches before it still read
  expect(log.readBatches(4, 100, 1 << 20).nextOffset).toBe(6); // reaching it: the records before it
  let error: unknown;
  try {
    log.readBatches(6, 100, 1 << 20);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(GafkaError);
  expect((error as GafkaError).code).toBe("log_corrupt");
  expect((error as GafkaError).message).toContain(`position ${frameStarts[2]} of ${file}`);
  expect((error as GafkaError).details).toEqual({ file, position: frameStarts[2], offset: 6 });
});

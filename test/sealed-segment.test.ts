import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson } from "./helpers/http.ts";

afterAll(cleanupAll);

/** Byte positions where the frames of a segment file begin, and its end (each frame: uint32 BE batch length, CRC32, batch). */
function frameStarts(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const starts: number[] = [];
  for (let position = 0; position < bytes.length; position += 8 + view.getUint32(position)) starts.push(position);
  starts.push(bytes.length);
  return starts;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".log")).sort().map((name) => path.join(dir, name));
}

const value = (partition: number, i: number) => `p${partition}-${i}-`.padEnd(100, "x");

/** Consumes partition `partition` from offset 0 until a read is refused: the records read and the refusal. */
async function readToDamage(url: string, partition: number): Promise<{ values: string[]; refusal: { status: number; code: string; message: string } }> {
  const values: string[] = [];
  let offset = 0;
  for (;;) {
    const answer = await getJson(`${url}/api/v1/consume?topic=sealed&partition=${partition}&offset=${offset}&count=10000&timeout=0`);
    if (answer.status !== 200) return { values, refusal: { status: answer.status, code: answer.body.error.code, message: answer.body.error.message } };
    expect(answer.body.records.length).toBeGreaterThan(0); // never an empty page before the damage
    values.push(...answer.body.records.map((r: { value: string }) => r.value));
    offset = answer.body.next_offset;
  }
}

test("a sealed segment cut at a frame boundary, cut inside a frame, or deleted is found when first read; the read is refused naming file and offsets", async () => {
  const broker = await startBrokerProcess({ args: ["--segment-bytes", "1024", "--fsync", "never"] });
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "sealed", partitions: 4 })).status).toBe(201);
  for (let i = 0; i < 30; i++) {
    for (let partition = 0; partition < 4; partition++) {
      expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "sealed", partition, value: value(partition, i) })).status).toBe(200);
    }
  }
  expect(await broker.stop()).toBe(0);
  const dirOf = (partition: number) => path.join(broker.dataDir, `sealed-${partition}`);
  for (let partition = 0; partition < 4; partition++) expect(segmentFiles(dirOf(partition)).length).toBeGreaterThanOrEqual(4);

  // Partition 0: the second segment loses its last frame, cut exactly at a frame boundary.
  const cutAtBoundary = segmentFiles(dirOf(0))[1]!;
  const boundaryStarts = frameStarts(readFileSync(cutAtBoundary));
  truncateSync(cutAtBoundary, boundaryStarts[boundaryStarts.length - 2]!);
  // Partition 1: the second segment is cut 7 bytes inside its last frame.
  const cutInside = segmentFiles(dirOf(1))[1]!;
  const insideStarts = frameStarts(readFileSync(cutInside));
  truncateSync(cutInside, insideStarts[insideStarts.length - 1]! - 7);
  // Partition 2: the second segment (and its index) is deleted: a gap.
  const [beforeGap, deleted] = segmentFiles(dirOf(2));
  rmSync(deleted!);
  rmSync(deleted!.replace(/\.log$/, ".index"), { force: true });
  // Partition 3 is left whole.

  // A sealed segment is not read at start (it was fdatasync'ed before the next one began): the partitions open.
  await broker.restart();
  const described = (await getJson(`${broker.url}/api/v1/topics/sealed`)).body.partitions;
  expect(described.map((p: { status: string }) => p.status)).toEqual(["online", "online", "online", "online"]);
  // Its first read checks it against its index and refuses it there, naming files inside the data dir, never where it is on the host.
  const inside = (file: string) => path.relative(broker.dataDir, file);
  const damaged = [await readToDamage(broker.url, 0), await readToDamage(broker.url, 1), await readToDamage(broker.url, 2)];
  for (const { refusal } of damaged) {
    expect([refusal.status, refusal.code]).toEqual([503, "log_corrupt"]);
    expect(refusal.message).not.toContain(broker.dataDir);
  }
  // The records before the damage are delivered, in order (the first segment's where the second is damaged).
  for (const [partition, { values }] of damaged.entries()) {
    expect(values).toEqual(Array.from({ length: values.length }, (_, i) => value(partition, i)));
  }
  expect(damaged[0]!.values.length).toBeGreaterThan(0);
  expect(damaged[1]!.values.length).toBeGreaterThan(0);
  expect(damaged[0]!.refusal.message).toContain(inside(cutAtBoundary));
  expect(damaged[0]!.refusal.message).toMatch(/segment ends at offset \d+ but the next segment starts at \d+/);
  expect(damaged[1]!.refusal.message).toContain(inside(cutInside));
  expect(damaged[1]!.refusal.message).toContain(`position ${insideStarts[insideStarts.length - 2]}`);
  expect(damaged[2]!.refusal.message).toContain(inside(beforeGap));
  expect(damaged[2]!.refusal.message).toMatch(/offsets \[\d+, \d+\) are missing/);
  const whole = await getJson(`${broker.url}/api/v1/consume?topic=sealed&partition=3&offset=0&count=10000&timeout=0`);
  expect(whole.body.records.map((r: { value: string }) => r.value)).toEqual(Array.from({ length: 30 }, (_, i) => value(3, i)));
  await broker.cleanup();
}, 60_000);

test("a read that reaches a corrupt frame returns the records before it; the next read, at the frame, is refused naming it", async () => {
  const broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "midway", partitions: 1 })).status).toBe(201);
  for (let i = 0; i < 10; i++) {
    expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "midway", partition: 0, value: value(0, i) })).status).toBe(200);
  }
  // The disk damages the seventh frame under the running broker.
  const segment = segmentFiles(path.join(broker.dataDir, "midway-0"))[0]!;
  const bytes = readFileSync(segment);
  const starts = frameStarts(bytes);
  bytes[starts[6]! + 60]! ^= 0x20;
  writeFileSync(segment, bytes);

  const first = await getJson(`${broker.url}/api/v1/consume?topic=midway&partition=0&offset=0&count=10000&timeout=0`);
  expect(first.status).toBe(200);
  expect(first.body.records.map((r: { value: string }) => r.value)).toEqual(Array.from({ length: 6 }, (_, i) => value(0, i)));
  expect(first.body.next_offset).toBe(6);
  const next = await getJson(`${broker.url}/api/v1/consume?topic=midway&partition=0&offset=6&count=10000&timeout=0`);
  expect([next.status, next.body.error.code]).toEqual([503, "log_corrupt"]);
  expect(next.body.error.message).toContain(path.relative(broker.dataDir, segment));
  expect(next.body.error.message).not.toContain(broker.dataDir);
  expect(next.body.error.message).toContain(`position ${starts[6]}`);
  // The binary consume (stored batches) stops at the same place.
  const binary = await fetch(`${broker.url}/api/v1/consume?topic=midway&partition=0&offset=0&count=10000&timeout=0`, {
    headers: { accept: "application/vnd.kafka.record-batch" },
  });
  expect(binary.status).toBe(200);
  const answer = new Uint8Array(await binary.arrayBuffer());
  const headerBytes = new DataView(answer.buffer).getUint32(0);
  expect(JSON.parse(new TextDecoder().decode(answer.subarray(4, 4 + headerBytes))).next_offset).toBe(6);
  await broker.cleanup();
}, 60_000);

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

test("a sealed segment cut at a frame boundary, cut inside a frame, or deleted is found at start; the partition is refused naming file and offsets", async () => {
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

  await broker.restart();
  const described = (await getJson(`${broker.url}/api/v1/topics/sealed`)).body.partitions;
  expect(described.map((p: { status: string }) => p.status)).toEqual(["corrupt", "corrupt", "corrupt", "online"]);
  // Answers name files inside the data dir, never where it is on the host.
  const inside = (file: string) => path.relative(broker.dataDir, file);
  for (const partition of described) expect(JSON.stringify(partition)).not.toContain(broker.dataDir);
  expect(described[0].error).toContain(inside(cutAtBoundary));
  expect(described[0].error).toMatch(/segment ends at offset \d+ but the next segment starts at \d+/);
  expect(described[1].error).toContain(inside(cutInside));
  expect(described[1].error).toContain(`position ${insideStarts[insideStarts.length - 2]}`);
  expect(described[2].error).toContain(inside(beforeGap));
  expect(described[2].error).toMatch(/offsets \[\d+, \d+\) are missing/);
  expect((await getJson(`${broker.url}/healthz`)).body.status).toBe("degraded");
  // A consumer at the damage is told, not handed an empty page for ever.
  const refused = await getJson(`${broker.url}/api/v1/consume?topic=sealed&partition=0&offset=0&count=10000&timeout=0`);
  expect([refused.status, refused.body.error.code]).toEqual([503, "log_corrupt"]);
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

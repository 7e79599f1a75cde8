import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, readPartition } from "./helpers/http.ts";

afterAll(cleanupAll);

const PARTITIONS = 5;
const REQUESTS = 120;
const PER_REQUEST = 5;
const RECORDS = REQUESTS * PER_REQUEST;

/** Values of varying length, so that frames (and so index positions) differ from segment to segment. */
const value = (partition: number, i: number) => `p${partition}-${i}-`.padEnd(40 + ((i * 37) % 150), "x");

/** Byte positions where the frames of a segment file begin (each frame: uint32 BE batch length, CRC32, batch). */
function frameStarts(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const starts: number[] = [];
  for (let position = 0; position < bytes.length; position += 8 + view.getUint32(position)) starts.push(position);
  return starts;
}

/** A sealed segment's index: entries of (relative offset, position), uint32 BE each. */
interface IndexFile {
  path: string;
  log: string;
  entries: [number, number][];
}

function sealedIndexes(dir: string): IndexFile[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".index"))
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(dir, name));
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const entries: [number, number][] = [];
      for (let at = 0; at < bytes.length; at += 8) entries.push([view.getUint32(at), view.getUint32(at + 4)]);
      return { path: path.join(dir, name), log: path.join(dir, name.replace(/\.index$/, ".log")), entries };
    });
}

function writeIndex(file: string, entries: [number, number][]): void {
  const bytes = new Uint8Array(entries.length * 8);
  const view = new DataView(bytes.buffer);
  entries.forEach(([relativeOffset, position], i) => {
    view.setUint32(i * 8, relativeOffset);
    view.setUint32(i * 8 + 4, position);
  });
  writeFileSync(file, bytes);
}

/** Each entry moved to the frame after the one it names. */
function shifted(index: IndexFile, which: (entry: number) => boolean): [number, number][] {
  const starts = frameStarts(readFileSync(index.log));
  return index.entries.map(([relativeOffset, position], i) =>
    which(i) ? [relativeOffset, starts[starts.indexOf(position) + 1]!] : [relativeOffset, position],
  );
}

test("a wrong offset index (shifted, a byte off, copied from another segment, a directory) is checked against the log, rebuilt and logged; every read is right", async () => {
  const broker = await startBrokerProcess({ args: ["--segment-bytes", "14000", "--fsync", "never"] });
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "indexed", partitions: PARTITIONS })).status).toBe(201);
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      for (let r = 0; r < REQUESTS; r++) {
        const records = Array.from({ length: PER_REQUEST }, (_, j) => ({ partition, value: value(partition, r * PER_REQUEST + j) }));
        expect((await postJson(`${broker.url}/api/v1/produce`, { topic: "indexed", records })).status).toBe(200);
      }
    }),
  );
  expect(await broker.stop()).toBe(0);
  const indexesOf = (partition: number) => sealedIndexes(path.join(broker.dataDir, `indexed-${partition}`));
  for (let partition = 0; partition < PARTITIONS; partition++) {
    expect(indexesOf(partition).length).toBeGreaterThanOrEqual(3);
    for (const index of indexesOf(partition)) expect(index.entries.length).toBeGreaterThanOrEqual(3);
  }

  // Partition 0: every entry shifted to the next frame.
  for (const index of indexesOf(0)) writeIndex(index.path, shifted(index, () => true));
  // Partition 1: every position one byte off.
  for (const index of indexesOf(1)) writeIndex(index.path, index.entries.map(([offset, position]) => [offset, position + 1]));
  // Partition 2: the first segment's index copied over the others.
  const [first, ...others] = indexesOf(2);
  for (const index of others) copyFileSync(first!.path, index.path);
  // Partition 3: an index path that is a directory.
  const directory = indexesOf(3)[1]!.path;
  rmSync(directory);
  mkdirSync(directory);
  // Partition 4: only the second entry of the first segment shifted (the segment's tail still checks out at start).
  const middle = indexesOf(4)[0]!;
  writeIndex(middle.path, shifted(middle, (entry) => entry === 1));

  await broker.restart();
  const described = (await getJson(`${broker.url}/api/v1/topics/indexed`)).body.partitions;
  expect(described.map((p: { status: string }) => p.status)).toEqual(Array(PARTITIONS).fill("online"));
  for (let partition = 0; partition < PARTITIONS; partition++) {
    // From every offset, the records that follow, none skipped; never an empty page before the end.
    for (let offset = 0; offset < RECORDS; offset++) {
      const { status, body } = await getJson(
        `${broker.url}/api/v1/consume?topic=indexed&partition=${partition}&offset=${offset}&count=2&timeout=0`,
      );
      expect(status).toBe(200);
      expect(body.records.map((r: { offset: number; value: string }) => [r.offset, r.value])).toEqual(
        [offset, offset + 1].filter((o) => o < RECORDS).map((o) => [o, value(partition, o)]),
      );
    }
    expect((await readPartition(broker.url, "indexed", partition)).length).toBe(RECORDS);
  }
  const logs = broker.stderr();
  for (const partition of [0, 1, 2]) expect(logs).toMatch(new RegExp(`indexed-${partition}: the offset index \\S+ did not match \\S+; rebuilt it from a scan`));
  expect(logs).toContain(`cannot read ${directory}`);
  expect(logs).toMatch(/indexed-4: the offset index of \S+ disagrees with the log at offset \d+; rebuilt it from a scan/);
  expect(logs).not.toContain("log_corrupt");
  await broker.cleanup();
}, 60_000);

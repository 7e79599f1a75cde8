import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { runCli } from "../../test/helpers/broker-process.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { startJournaled, stopJournaled, textRecord as record, valuesOf } from "../../test/helpers/journaled-broker.ts";
import { nodeFileSystem } from "./file-system.ts";
import { verifyDataDir } from "./verify.ts";

const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempDir(): string {
  const { dir, remove } = makeTempDir("gafka-verify-");
  cleanups.push(remove);
  return dir;
}

function segmentOf(dataDir: string, name: string): string {
  return path.join(dataDir, name, "00000000000000000000.log");
}

function journalPathOf(dataDir: string): string {
  const files = readdirSync(path.join(dataDir, "journal")).sort();
  expect(files).toHaveLength(1);
  return path.join(dataDir, "journal", files[0]!);
}

/** Every file under `dir` and its bytes (to show that verify writes nothing). */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    files.set(file, entry.isFile() ? readFileSync(file).toString("base64") : "dir");
  }
  return files;
}

/** Five acknowledged appends to each of two partitions through the journal, then a crash (nothing closed or flushed). */
async function crashedDataDir(): Promise<{ dataDir: string; frameStarts: number[] }> {
  const dataDir = tempDir();
  const broker = startJournaled(dataDir, ["a-0", "a-1"]);
  const frameStarts: number[] = [];
  for (let i = 0; i < 5; i++) {
    frameStarts.push(statSync(segmentOf(dataDir, "a-0")).size);
    await Promise.all(["a-0", "a-1"].map((name) => broker.logs.get(name)!.append([record(`${name}-${i}`)])));
  }
  return { dataDir, frameStarts };
}

test("after a power loss, a segment cut short or holed past the journal's first offset verifies ok, as repaired by the journal; the next start reads every record", async () => {
  for (const damage of ["cut inside the third frame", "a hole of zeros in the second frame"] as const) {
    const { dataDir, frameStarts } = await crashedDataDir();
    const segment = segmentOf(dataDir, "a-0");
    const bytes = readFileSync(segment);
    const damagedFrame = damage === "cut inside the third frame" ? 2 : 1;
    if (damage === "cut inside the third frame") truncateSync(segment, frameStarts[2]! + 20);
    else writeFileSync(segment, Buffer.concat([bytes.subarray(0, frameStarts[1]! + 10), Buffer.alloc(30), bytes.subarray(frameStarts[1]! + 40)]));
    const before = snapshot(dataDir);

    const report = verifyDataDir(dataDir, nodeFileSystem);
    expect(report.ok).toBe(true);
    expect(report.journal).toMatchObject({ entries: 10, problems: [] });
    const [a0, a1] = report.partitions;
    expect(a0!.journal).toEqual({
      refused: false,
      entries: 5,
      firstOffset: 0,
      rewrite: { file: segment, baseOffset: 0, position: frameStarts[damagedFrame]!, offset: damagedFrame },
    });
    expect(a0!.problems.length).toBeGreaterThan(0);
    for (const problem of a0!.problems) expect(problem).toMatchObject({ file: segment, repairedByJournal: true });
    expect(a0!.problems[0]!.position).toBe(frameStarts[damagedFrame]!);
    expect(a1).toMatchObject({ problems: [], journal: { entries: 5, firstOffset: 0, rewrite: undefined } });
    if (damage === "cut inside the third frame") {
      const cli = await runCli(["admin", "verify", "--data-dir", dataDir]);
      expect(cli.exitCode).toBe(0);
      expect(cli.stdout).toContain(`${path.join(dataDir, "a-0")}: 1 segment, 2 records, ok (1 damaged place(s) repaired from the commit journal at the next start)`);
      expect(cli.stdout).toContain(`commit journal: 5 entries from offset 0; the next start writes them again from offset 2 (${segment} at position ${frameStarts[2]})`);
      expect(cli.stdout).toContain(`torn in ${segment} at position ${frameStarts[2]} (offset 2): `);
      expect(cli.stdout).toContain("checked 2 partitions: all ok");
    }
    // Read-only: not a byte of the data dir changed.
    expect(snapshot(dataDir)).toEqual(before);

    // The start does what verify said: it writes the entries again from that offset, and every record is back.
    const lines: string[] = [];
    const after = startJournaled(dataDir, ["a-0", "a-1"], { logger: { ...silentLogger, warn: (line: string) => void lines.push(line) } });
    cleanups.push(() => stopJournaled(after));
    expect(lines.filter((line) => line.startsWith("partition a-0: replayed"))).toEqual([
      `partition a-0: replayed ${5 - damagedFrame} commit-journal entries holding ${5 - damagedFrame} records from offset ${damagedFrame}`,
    ]);
    expect(valuesOf(after.logs.get("a-0")!)).toEqual(Array.from({ length: 5 }, (_, i) => `a-0-${i}`));
    expect(valuesOf(after.logs.get("a-1")!)).toEqual(Array.from({ length: 5 }, (_, i) => `a-1-${i}`));
  }
});

test("damage below the journal's first offset (made durable by a checkpoint) still fails verify, where the start refuses the partition", async () => {
  const dataDir = tempDir();
  const broker = startJournaled(dataDir, ["c-0"], { checkpointBytes: 4096 });
  const log = broker.logs.get("c-0")!;
  const frameStarts: number[] = [];
  for (let i = 0; i < 20; i++) {
    frameStarts.push(statSync(segmentOf(dataDir, "c-0")).size);
    await log.append([record(`early-${i}-${"x".repeat(200)}`)]);
  }
  // A checkpoint began a new journal file once 4 KiB were journaled and deleted the older ones: the journal now starts past offset 0.
  await waitFor(() => readdirSync(path.join(dataDir, "journal")).length === 1);
  await log.append([record("late-0")]);
  await log.append([record("late-1")]);
  const segment = segmentOf(dataDir, "c-0");
  const whole = readFileSync(segment);
  const undamaged = verifyDataDir(dataDir, nodeFileSystem);
  expect(undamaged.ok).toBe(true);
  const { entries, firstOffset } = undamaged.partitions[0]!.journal as { entries: number; firstOffset: number };
  expect(firstOffset).toBeGreaterThan(2);
  expect(firstOffset).toBeLessThanOrEqual(20);

  for (const damage of ["a flipped bit in a frame", "cut inside the frame before the journal's first offset"] as const) {
    const bytes = Buffer.from(whole);
    const damagedFrame = damage === "a flipped bit in a frame" ? 1 : firstOffset - 1;
    if (damage === "a flipped bit in a frame") {
      bytes[frameStarts[damagedFrame]! + 40]! ^= 0x04;
      writeFileSync(segment, bytes);
    } else writeFileSync(segment, bytes.subarray(0, frameStarts[damagedFrame]! + 30));
    const report = verifyDataDir(dataDir, nodeFileSystem);
    expect(report.ok).toBe(false);
    const [partition] = report.partitions;
    expect(partition!.journal).toEqual({ entries, refused: true });
    // The scan alone calls a frame cut short at the end a torn tail; the start refuses it, since the journal continues the log past it.
    expect(partition!.problems.filter((problem) => problem.repairedByJournal !== true)).toEqual([
      expect.objectContaining({ kind: "corrupt", file: segment, position: frameStarts[damagedFrame]!, offset: damagedFrame }),
    ]);
    let refusal: unknown;
    try {
      startJournaled(dataDir, ["c-0"]);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(GafkaError);
    expect((refusal as GafkaError).details).toMatchObject({ file: segment, position: frameStarts[damagedFrame]!, offset: damagedFrame });
  }
});

test("a journal damaged in the middle fails verify naming the file and position; nothing is counted as repaired", async () => {
  const { dataDir, frameStarts } = await crashedDataDir();
  truncateSync(segmentOf(dataDir, "a-0"), frameStarts[3]! + 5);
  const journalPath = journalPathOf(dataDir);
  const bytes = readFileSync(journalPath);
  bytes[10]! ^= 0x01; // inside the first entry's header
  writeFileSync(journalPath, bytes);
  const before = snapshot(dataDir);
  const report = verifyDataDir(dataDir, nodeFileSystem);
  expect(report.ok).toBe(false);
  expect(report.journal.problems).toEqual([expect.objectContaining({ kind: "corrupt", file: journalPath, position: 0 })]);
  expect(report.journal.problems[0]!.message).toContain(`${journalPath} is corrupt at position 0`);
  // The broker does not start on it, so it replays nothing: the segment's torn tail stays a problem.
  expect(report.journal.byPartition).toBeUndefined();
  expect(report.partitions[0]!.journal).toBeUndefined();
  expect(report.partitions[0]!.problems).toEqual([expect.objectContaining({ kind: "torn", position: frameStarts[3]! })]);
  const cli = await runCli(["admin", "verify", "--data-dir", dataDir]);
  expect(cli.exitCode).toBe(1);
  expect(cli.stdout).toContain(`corrupt in ${journalPath} at position 0: `);
  expect(cli.stdout).toContain("the broker does not start on a journal damaged in the middle: nothing is replayed");
  expect(cli.stdout).toContain("checked 2 partitions: 1 with problems, the commit journal has problems");
  expect(snapshot(dataDir)).toEqual(before);
});

test("a torn last journal entry is reported as a torn tail of the journal file, and fails verify", async () => {
  const { dataDir } = await crashedDataDir();
  const journalPath = journalPathOf(dataDir);
  const full = statSync(journalPath).size;
  truncateSync(journalPath, full - 7);
  const before = snapshot(dataDir);
  const report = verifyDataDir(dataDir, nodeFileSystem);
  expect(report.ok).toBe(false);
  expect(report.journal.problems).toHaveLength(1);
  const [torn] = report.journal.problems;
  expect(torn).toMatchObject({ kind: "torn", file: journalPath });
  expect(torn!.position).toBeLessThan(full - 7);
  expect(torn!.message).toContain(`the last ${full - 7 - torn!.position} bytes of the commit journal are a torn entry`);
  // The entries before it are replayed as usual; the torn one (a-1's last append, never acknowledged) is not among them.
  expect(report.partitions.map((partition) => partition.journal?.entries)).toEqual([5, 4]);
  expect(report.partitions.every((partition) => partition.problems.length === 0)).toBe(true);
  expect(snapshot(dataDir)).toEqual(before);
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

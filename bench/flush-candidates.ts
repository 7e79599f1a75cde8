/**
 * Issue 18's "measure the candidates before choosing": what it costs to make
 * one commit round durable when the round's records are spread over N
 * partition files. Every candidate writes the same bytes per round (a fixed
 * round of `--round-kib` KiB in 1 KiB records, spread evenly over the files,
 * as a produce load of constant size spreads over more partitions) and
 * counts durable rounds per second:
 *
 * - per-file: one fdatasync per file, all started at once through node:fs
 *   (what a LogWriter per partition does today; Bun runs them on its own
 *   small I/O pool);
 * - per-file-threads: the same fdatasyncs spread over `--threads` worker
 *   threads calling fdatasync themselves (more I/O threads);
 * - journal: the round is also appended to one journal file, and only the
 *   journal is fdatasynced; the partition files are written, not synced,
 *   and every `--checkpoint-mib` of journal they are fdatasynced in the
 *   background (the checkpoint that lets the journal be reused), so their
 *   write-back is paid inside the measured time;
 * - syncfs: one syncfs(2) of the file system through bun:ffi (flushes every
 *   dirty page of the whole file system, other programs' too).
 *
 *   bun bench/flush-candidates.ts [--files=2,64,1000] [--seconds=4] [--round-kib=256] [--threads=16] [--checkpoint-mib=64] [--dir=PATH]
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, fdatasync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync, writevSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libcNames } from "../src/broker/libc-names.ts";

function option(name: string, fallback: string): string {
  const found = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return found === undefined ? fallback : found.slice(name.length + 3);
}

const fileCounts = option("files", "2,64,1000").split(",").map(Number);
const seconds = Number(option("seconds", "4"));
const roundKib = Number(option("round-kib", "256"));
const threads = Number(option("threads", "16"));
const checkpointBytes = Number(option("checkpoint-mib", "64")) * 1024 * 1024;
const only = option("only", "per-file,per-file-threads,journal,syncfs").split(",");
const baseDir = option("dir", tmpdir());

const record = new Uint8Array(1024).fill(7);

interface Files {
  dir: string;
  fds: number[];
  positions: number[];
}

function openFiles(count: number): Files {
  const dir = mkdtempSync(join(baseDir, "flush-candidates-"));
  const fds = Array.from({ length: count }, (_, index) => openSync(join(dir, `p${index}.log`), "w+"));
  return { dir, fds, positions: fds.map(() => 0) };
}

function closeFiles(files: Files): void {
  for (const fd of files.fds) closeSync(fd);
  rmSync(files.dir, { recursive: true, force: true });
}

/** Writes one round: roundKib records spread evenly over the files (at least one each). Returns the files touched. */
function writeRound(files: Files, round: number): number[] {
  const touched: number[] = [];
  const count = files.fds.length;
  const perFile = Math.max(1, Math.floor(roundKib / count));
  const filesThisRound = Math.min(count, roundKib);
  for (let step = 0; step < filesThisRound; step++) {
    // Rotate which files get this round's records when there are more files than records.
    const index = (round * filesThisRound + step) % count;
    const chunks = Array.from({ length: perFile }, () => record);
    files.positions[index] = files.positions[index]! + writevSync(files.fds[index]!, chunks, files.positions[index]!);
    touched.push(index);
  }
  return touched;
}

const syncOne = (fd: number) => new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

/** Worker threads that each fdatasync the descriptors they are given (descriptors are shared by the process). */
class SyncThreads {
  private readonly workers: Worker[];
  private next = 0;
  private readonly waiting = new Map<number, () => void>();
  private id = 0;

  constructor(count: number) {
    const source = `
      import { fdatasyncSync } from "node:fs";
      self.onmessage = (event) => {
        for (const fd of event.data.fds) fdatasyncSync(fd);
        postMessage(event.data.id);
      };`;
    const url = URL.createObjectURL(new Blob([source], { type: "application/typescript" }));
    this.workers = Array.from({ length: count }, () => {
      const worker = new Worker(url);
      worker.onmessage = (event) => {
        this.waiting.get(event.data)?.();
        this.waiting.delete(event.data);
      };
      return worker;
    });
  }

  /** fdatasyncs every descriptor, spread over the threads; resolves when all are done. */
  syncAll(fds: number[]): Promise<void> {
    const shares: number[][] = this.workers.map(() => []);
    fds.forEach((fd, index) => shares[(this.next + index) % shares.length]!.push(fd));
    this.next++;
    return Promise.all(
      shares
        .filter((share) => share.length > 0)
        .map((share, index) => {
          const id = this.id++;
          const worker = this.workers[(index + this.next) % this.workers.length]!;
          return new Promise<void>((resolve) => {
            this.waiting.set(id, resolve);
            worker.postMessage({ id, fds: share });
          });
        }),
    ).then(() => undefined);
  }

  stop(): void {
    for (const worker of this.workers) worker.terminate();
  }
}

function openSyncfs(): ((fd: number) => number) | undefined {
  for (const name of libcNames()) {
    try {
      const { symbols } = dlopen(name, { syncfs: { args: [FFIType.i32], returns: FFIType.i32 } });
      return (fd) => symbols.syncfs(fd) as number;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

type Candidate = (files: Files, round: number) => Promise<void>;

async function measure(name: string, count: number, make: (files: Files) => { candidate: Candidate; finish?: () => Promise<void> }): Promise<void> {
  const files = openFiles(count);
  const { candidate, finish } = make(files);
  const startedMs = performance.now();
  let rounds = 0;
  while (performance.now() - startedMs < seconds * 1000) {
    await candidate(files, rounds);
    rounds++;
  }
  await finish?.();
  const elapsedMs = performance.now() - startedMs;
  const mibPerSecond = (rounds * roundKib) / 1024 / (elapsedMs / 1000);
  console.log(
    `${name.padEnd(18)} files=${String(count).padStart(5)}  rounds/s=${(rounds / (elapsedMs / 1000)).toFixed(1).padStart(7)}  durable MiB/s=${mibPerSecond.toFixed(1).padStart(6)}  ms/round=${(elapsedMs / rounds).toFixed(2)}`,
  );
  closeFiles(files);
}

const syncThreads = only.includes("per-file-threads") ? new SyncThreads(threads) : undefined;
const syncfs = only.includes("syncfs") ? openSyncfs() : undefined;

console.log(`round ${roundKib} KiB in 1 KiB records, ${seconds} s per point, ${threads} threads, checkpoint every ${checkpointBytes / 1024 / 1024} MiB of journal, dir ${baseDir}`);
for (const count of fileCounts) {
  if (only.includes("per-file")) {
    await measure("per-file", count, () => ({
      candidate: (files, round) => Promise.all(writeRound(files, round).map((index) => syncOne(files.fds[index]!))).then(() => undefined),
    }));
  }
  if (syncThreads !== undefined) {
    await measure(`per-file-threads${threads}`, count, () => ({
      candidate: (files, round) => syncThreads.syncAll(writeRound(files, round).map((index) => files.fds[index]!)),
    }));
  }
  if (only.includes("journal")) {
    await measure("journal", count, (files) => {
      const journalFd = openSync(join(files.dir, "journal"), "w+");
      const roundBytes = new Uint8Array(roundKib * 1024).fill(7);
      let journalPosition = 0;
      let sinceCheckpoint = 0;
      const dirty = new Set<number>();
      let checkpoint: Promise<void> | undefined;
      return {
        candidate: async (innerFiles, round) => {
          for (const index of writeRound(innerFiles, round)) dirty.add(index);
          journalPosition += writeSync(journalFd, roundBytes, 0, roundBytes.length, journalPosition);
          sinceCheckpoint += roundBytes.length;
          await syncOne(journalFd);
          if (sinceCheckpoint >= checkpointBytes) {
            // The journal may be reused only once the partition files hold its records durably.
            if (checkpoint !== undefined) await checkpoint;
            const fds = [...dirty].map((index) => innerFiles.fds[index]!);
            dirty.clear();
            sinceCheckpoint = 0;
            journalPosition = 0;
            checkpoint = Promise.all(fds.map(syncOne)).then(() => undefined);
          }
        },
        finish: async () => {
          if (checkpoint !== undefined) await checkpoint;
          for (const index of dirty) fdatasyncSync(files.fds[index]!);
          closeSync(journalFd);
        },
      };
    });
  }
  if (syncfs !== undefined) {
    await measure("syncfs", count, (files) => {
      const dirFd = openSync(files.dir, "r");
      return {
        candidate: async (innerFiles, round) => {
          writeRound(innerFiles, round);
          if (syncfs(dirFd) !== 0) throw new Error("syncfs failed");
        },
        finish: async () => closeSync(dirFd),
      };
    });
  }
}
syncThreads?.stop();

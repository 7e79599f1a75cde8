import { nodeFileSystem } from "../../src/storage/file-system.ts";

/**
 * A kill -9 at an exact step of a compaction's segment swap, in a real broker
 * process, with no hook in the broker's code: loaded with
 * `bun --preload test/helpers/crash-at-swap-step.ts src/main.ts broker ...`
 * and GAFKA_TEST_CRASH_AT_SWAP_STEP=1..5 in the environment, it wraps the
 * methods of the broker's file system (`nodeFileSystem`, the one object
 * src/cli/broker.ts passes down) before main runs. The call that completes
 * the named step (src/storage/segment-swap.ts) is made, then the process
 * sends itself SIGKILL, leaving the files exactly as a crash there does:
 *
 * 1. the `.cleaned` file written (writeChunks on its descriptor),
 * 2. it fdatasync'ed,
 * 3. renamed to `.swap` (the directory fsync right after is not made),
 * 4. the old segment deleted (its `.log`, after its `.index`),
 * 5. `.swap` renamed to `.log` (the directory fsync and the new index not made).
 *
 * Steps 3 to 5 count only for a segment whose `.cleaned` file this process
 * opened, so retention or truncation deleting segments never trips them.
 * Test-only: the production broker reads no such variable.
 */
export const CRASH_AT_SWAP_STEP_ENV = "GAFKA_TEST_CRASH_AT_SWAP_STEP";

const CLEANED = ".cleaned";
const SWAP = ".swap";

function crashNow(): never {
  process.kill(process.pid, "SIGKILL");
  // SIGKILL is delivered before the kill call returns to a process that sends it to itself.
  throw new Error("SIGKILL did not end the process");
}

function install(step: number): void {
  const fs = nodeFileSystem;
  /** Log paths (`<base>.log`) whose `.cleaned` copy is open here, by descriptor. */
  const cleanedByFd = new Map<number, string>();
  const swapping = new Set<string>();

  const { openReadWrite, close, writeChunks, fdatasync, rename, removeRecursive } = fs;
  fs.openReadWrite = (filePath) => {
    const fd = openReadWrite(filePath);
    if (filePath.endsWith(CLEANED)) {
      const logPath = filePath.slice(0, -CLEANED.length);
      cleanedByFd.set(fd, logPath);
      swapping.add(logPath);
    }
    return fd;
  };
  fs.close = (fd) => {
    cleanedByFd.delete(fd); // descriptors are reused
    close(fd);
  };
  fs.writeChunks = (fd, chunks, position) => {
    const written = writeChunks(fd, chunks, position);
    if (step === 1 && cleanedByFd.has(fd)) crashNow();
    return written;
  };
  fs.fdatasync = async (fd) => {
    await fdatasync(fd);
    if (step === 2 && cleanedByFd.has(fd)) crashNow();
  };
  fs.rename = (from, to) => {
    rename(from, to);
    if (step === 3 && from.endsWith(CLEANED) && to.endsWith(SWAP) && swapping.has(from.slice(0, -CLEANED.length))) crashNow();
    if (step === 5 && from.endsWith(SWAP) && swapping.has(to)) crashNow();
  };
  fs.removeRecursive = (filePath) => {
    removeRecursive(filePath);
    if (step === 4 && swapping.has(filePath)) crashNow();
  };
}

const configured = process.env[CRASH_AT_SWAP_STEP_ENV];
if (configured !== undefined) {
  const step = Number(configured);
  if (!Number.isInteger(step) || step < 1 || step > 5) throw new Error(`${CRASH_AT_SWAP_STEP_ENV} must be 1 to 5, not ${configured}`);
  install(step);
}

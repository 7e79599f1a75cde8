import { dlopen, FFIType, read } from "bun:ffi";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { libcNames } from "./libc-names.ts";

/**
 * One broker per data dir. Two brokers on one directory both append to the
 * same segment files and hand out the same offsets to different records, and
 * a restart keeps only one of them. So a broker holds an exclusive lock on
 * `<dataDir>/.lock` (Kafka's name) for its lifetime, taken before it reads or
 * writes anything else there.
 *
 * The lock is flock(2) (LOCK_EX | LOCK_NB), called through bun:ffi because
 * neither Node's nor Bun's fs offers it. The kernel holds it on the open file
 * description and drops it when the process dies however it dies (SIGKILL,
 * OOM kill, power loss), so a crashed broker never leaves a stale lock that an
 * operator must delete by hand; the file itself is left in place. Node opens
 * files with O_CLOEXEC, so no child process inherits the lock.
 *
 * The file holds the holder's pid as decimal text and a newline, for the
 * message a second broker prints; it is emptied on a clean release. It says
 * who holds the lock, never whether it is held: only flock decides that.
 */
export const DATA_DIR_LOCK_FILE_NAME = ".lock";

/** A held lock; release() is idempotent. */
export interface DataDirLock {
  readonly filePath: string;
  release(): void;
}

/** Takes a data dir's lock or throws DataDirLockedError: how a broker process is handed its lock. */
export type DataDirLocker = (dataDir: string) => DataDirLock;

/** Another process holds the data dir's lock. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    /** The holder's pid as its lock file says, undefined when it could not be read. */
    readonly holderPid: number | undefined,
  ) {
    const holder = holderPid === undefined ? "another process (its pid is not in the lock file yet)" : `another process (pid ${holderPid})`;
    super(`data dir ${dataDir} is locked by ${holder}; one broker per data dir`);
    this.name = "DataDirLockedError";
  }
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
/** EWOULDBLOCK: 11 on Linux, 35 on macOS and the BSDs. */
const EWOULDBLOCK = new Set(process.platform === "linux" ? [11] : [35]);
const EINTR = 4;
/**
 * A second broker reads the lock file this many times, this far apart (about
 * 200 ms in all), for a holder that has just taken the lock to write its pid.
 * Counted, not timed: the wait blocks the thread, so no clock, real or a
 * test's, could move during it.
 */
const HOLDER_PID_READS_MAX = 20;
const HOLDER_PID_READ_GAP_MS = 10;

/**
 * Takes `<dataDir>/.lock` (creating the file; the directory must exist) and
 * writes this process's pid into it. Throws DataDirLockedError when another
 * process holds it; other failures (no permission, no flock on this file
 * system) are thrown as they come.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const filePath = path.join(dataDir, DATA_DIR_LOCK_FILE_NAME);
  const fd = nodeFs.openSync(filePath, nodeFs.constants.O_RDWR | nodeFs.constants.O_CREAT, 0o644);
  try {
    if (!flock(fd, LOCK_EX | LOCK_NB, filePath)) throw new DataDirLockedError(dataDir, holderPid(fd));
    nodeFs.ftruncateSync(fd, 0);
    nodeFs.writeSync(fd, `${process.pid}\n`, 0);
  } catch (error) {
    nodeFs.closeSync(fd);
    throw error;
  }
  let held = true;
  return {
    filePath,
    release() {
      if (!held) return;
      held = false;
      try {
        // Emptied while still held: a pid left in the file names no holder.
        nodeFs.ftruncateSync(fd, 0);
        flock(fd, LOCK_UN, filePath);
      } finally {
        nodeFs.closeSync(fd); // closing drops the lock in any case
      }
    },
  };
}

/** The pid the holder wrote, waiting briefly for one that has only just taken the lock. */
function holderPid(fd: number): number | undefined {
  for (let reads = 1; ; reads++) {
    const buffer = Buffer.alloc(32);
    const length = nodeFs.readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, length).toString("utf8");
    if (/^\d+\n$/.test(text)) return Number(text.trim());
    if (reads >= HOLDER_PID_READS_MAX) return undefined;
    Bun.sleepSync(HOLDER_PID_READ_GAP_MS);
  }
}

/** flock(2); false when the lock is held elsewhere (LOCK_NB), throws on any other failure. */
function flock(fd: number, operation: number, filePath: string): boolean {
  const libc = loadLibc();
  for (;;) {
    if (libc.flock(fd, operation) === 0) return true;
    const errno = libc.errno();
    if (errno === EINTR) continue;
    if (EWOULDBLOCK.has(errno)) return false;
    throw Object.assign(new Error(`flock(${filePath}) failed with errno ${errno}`), { errno, syscall: "flock", path: filePath });
  }
}

interface Libc {
  flock(fd: number, operation: number): number;
  /** errno of the last failed call on this thread; read right after it. */
  errno(): number;
}

let libc: Libc | undefined;

/** libc by the names it has on glibc, musl, macOS and FreeBSD; the first that opens wins. */
function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  const candidates = libcNames();
  // errno lives behind a function returning its thread-local address: __errno_location on Linux, __error elsewhere.
  const errnoSymbol = process.platform === "linux" ? "__errno_location" : "__error";
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      const { symbols } = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [errnoSymbol]: { args: [], returns: FFIType.ptr },
      });
      const errnoLocation = symbols[errnoSymbol]!;
      libc = {
        flock: (fd, operation) => symbols.flock(fd, operation),
        errno: () => read.i32(errnoLocation()!, 0),
      };
      return libc;
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`cannot load libc to lock the data dir (tried ${failures.join("; ")})`);
}

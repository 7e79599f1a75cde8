import { dlopen, FFIType } from "bun:ffi";
import { POOL_CAPACITY_MIN } from "../storage/descriptor-pool.ts";
import { limits } from "../core/limits.ts";
import { libcNames } from "./libc-names.ts";

/**
 * The size of the broker's pool of segment-file descriptors
 * (src/storage/descriptor-pool.ts) for a process whose open-file limit is
 * `openFilesMax`: limits.segmentFilesOpenMaxDefault, but never more than
 * half the limit, so that connections, replication streams, the offset store
 * and files opened for a moment keep the other half (an open() never fails
 * with EMFILE because of segment files). At least the pool's minimum.
 */
export function segmentFilesOpenMaxFor(openFilesMax: number): number {
  return Math.max(POOL_CAPACITY_MIN, Math.min(limits.segmentFilesOpenMaxDefault, Math.floor(openFilesMax / 2)));
}

/** The pool's size: segmentFilesOpenMaxFor this process's open-file limit, or `requested` (`--segment-files-open-max`) when given, never above half the limit. */
export function segmentFilesOpenMax(requested: number | undefined): number {
  const limit = openFilesMax();
  const halfLimit = Math.max(POOL_CAPACITY_MIN, Math.floor(limit / 2));
  return requested === undefined ? segmentFilesOpenMaxFor(limit) : Math.min(Math.max(POOL_CAPACITY_MIN, requested), halfLimit);
}

/**
 * This process's soft limit on open descriptors, by getrlimit(2) through
 * bun:ffi (neither Node nor Bun exposes it): what the process may open
 * now (`ulimit -n`, systemd's LimitNOFILE). Infinity (RLIM_INFINITY) reads as the largest safe integer.
 */
export function openFilesMax(): number {
  const limit = new BigUint64Array(2); // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }, rlim_t 64 bits
  if (getrlimit()(RLIMIT_NOFILE, limit) !== 0) throw new Error("getrlimit(RLIMIT_NOFILE) failed");
  const soft = limit[0]!;
  return soft > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(soft);
}

/** RLIMIT_NOFILE: 7 on Linux, 8 on macOS and the BSDs. */
const RLIMIT_NOFILE = process.platform === "linux" ? 7 : 8;

type GetRlimit = (resource: number, limit: BigUint64Array) => number;

let loaded: GetRlimit | undefined;

/** libc by the names it has on glibc, musl, macOS and FreeBSD (as src/broker/data-dir-lock.ts); the first that opens wins. */
function getrlimit(): GetRlimit {
  if (loaded !== undefined) return loaded;
  const candidates = libcNames();
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      const { symbols } = dlopen(name, { getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
      const call: GetRlimit = (resource, limit) => symbols.getrlimit(resource, limit);
      loaded = call;
      return call;
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`cannot load libc to read the open-file limit (tried ${failures.join("; ")})`);
}

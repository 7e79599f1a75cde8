import { dlopen, FFIType } from "bun:ffi";
import { limits } from "../core/limits.ts";
import { libcNames } from "./libc-names.ts";

/**
 * How many partitions one broker may hold, derived from the process's
 * open-file limit (RLIMIT_NOFILE), so that creating a topic is refused with
 * a clear 409 limit_reached long before an open() fails with EMFILE (which
 * was a 500 on create, and a broker that could not restart).
 *
 * What a partition holds open: one descriptor per segment file, for as long
 * as the partition is open (src/storage/segment-loader.ts); its index and
 * checkpoint files are opened only while written. The budget counts
 * limits.descriptorsPerPartition per partition (the active segment and one
 * sealed one) and keeps a quarter of the limit, at least
 * limits.descriptorsReservedMin, for connections, replication streams, the
 * offset store, temporary files and partitions with more segments than that.
 * Above all that, limits.partitionsPerBrokerMax bounds memory and restart
 * time (every partition's log is loaded and checked on start).
 */
export function partitionsMaxFor(openFilesMax: number): number {
  const reserved = Math.max(limits.descriptorsReservedMin, Math.floor(openFilesMax / 4));
  const derived = Math.floor((openFilesMax - reserved) / limits.descriptorsPerPartition);
  return Math.max(1, Math.min(limits.partitionsPerBrokerMax, derived));
}

/** The broker's partition cap: partitionsMaxFor this process's open-file limit, lowered to `requested` (`--partitions-max`) when given. */
export function partitionsMax(requested: number | undefined): number {
  const derived = partitionsMaxFor(openFilesMax());
  return requested === undefined ? derived : Math.min(requested, derived);
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

import * as path from "node:path";
import type { FileSystem } from "./file-system.ts";

/**
 * `<partition>/cleaner-checkpoint`: the compaction passes a partition has
 * been through, oldest first, as JSON:
 *
 *   {"version": 1, "passes": [{"clean_end_offset": 5012, "cleaned_at_ms": 1767000000000,
 *                              "delete_retention_ms": 86400000, "min_compaction_lag_ms": 0}]}
 *
 * Each pass compacted the offsets below `clean_end_offset` at `cleaned_at_ms`
 * (wall clock) under the topic's delete.retention.ms and
 * min.compaction.lag.ms of then (absent from an older broker's file). With
 * the passes before it, an entry is every input of its pass: a follower
 * repeats the leader's passes from the leader's list (src/broker/replicated-passes.ts)
 * and ends with the same file, byte for byte. What it answers: which offsets are dirty (not yet through a
 * pass: the dirty ratio), and since when a tombstone has been compacted (it
 * is dropped once the first pass that covered it is delete.retention.ms
 * old). Written atomically after a pass's swaps (temp file, fsync, rename);
 * a crash before that only makes the next pass redo the work and tombstones
 * wait longer. Missing or damaged: no pass yet. At most PASSES_MAX passes are
 * kept; dropping the oldest is safe, as a later pass covers the same offsets
 * and is younger, so tombstones only wait longer.
 */
export interface CleanerPass {
  cleanEndOffset: number;
  cleanedAtMs: number;
  /** The topic's delete.retention.ms the pass applied; absent: written by an older broker. */
  deleteRetentionMs?: number;
  /** The topic's min.compaction.lag.ms when the pass chose its segments (recorded, not needed to repeat it). */
  minCompactionLagMs?: number;
}

export const CLEANER_CHECKPOINT_FILE = "cleaner-checkpoint";
const PASSES_MAX = 32;

export function readCleanerPasses(fs: FileSystem, dir: string): CleanerPass[] {
  const file = path.join(dir, CLEANER_CHECKPOINT_FILE);
  if (!fs.exists(file)) return [];
  try {
    const parsed = JSON.parse(new TextDecoder().decode(fs.readFile(file))) as { version?: unknown; passes?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.passes)) return [];
    return cleanerPassesOf(parsed.passes) ?? [];
  } catch {
    // Derived: a damaged checkpoint means a full pass again, and tombstones kept one pass longer.
    return [];
  }
}

/** The passes after one more, as written next. */
export function withPass(passes: readonly CleanerPass[], pass: CleanerPass): CleanerPass[] {
  const next = [...passes, pass];
  return next.slice(Math.max(0, next.length - PASSES_MAX));
}

export function writeCleanerPasses(fs: FileSystem, dir: string, passes: readonly CleanerPass[]): Promise<void> {
  const json = { version: 1, passes: cleanerPassesJson(passes) };
  return fs.writeFileAtomic(path.join(dir, CLEANER_CHECKPOINT_FILE), new TextEncoder().encode(JSON.stringify(json)));
}

/** Passes as the checkpoint and the replication stream write them (snake_case, the settings only when known). */
export function cleanerPassesJson(passes: readonly CleanerPass[]): unknown[] {
  return passes.map((pass) => ({
    clean_end_offset: pass.cleanEndOffset,
    cleaned_at_ms: pass.cleanedAtMs,
    ...(pass.deleteRetentionMs === undefined ? {} : { delete_retention_ms: pass.deleteRetentionMs }),
    ...(pass.minCompactionLagMs === undefined ? {} : { min_compaction_lag_ms: pass.minCompactionLagMs }),
  }));
}

/** Passes read back from cleanerPassesJson's form; undefined when anything in it is not what that writes. */
export function cleanerPassesOf(json: unknown): CleanerPass[] | undefined {
  if (!Array.isArray(json)) return undefined;
  const passes: CleanerPass[] = [];
  for (const entry of json as Record<string, unknown>[]) {
    const { clean_end_offset: cleanEndOffset, cleaned_at_ms: cleanedAtMs, delete_retention_ms: deleteRetentionMs, min_compaction_lag_ms: lagMs } = entry ?? {};
    if (!isCount(cleanEndOffset) || !Number.isSafeInteger(cleanedAtMs)) return undefined;
    if ((deleteRetentionMs !== undefined && !isCount(deleteRetentionMs)) || (lagMs !== undefined && !isCount(lagMs))) return undefined;
    passes.push({
      cleanEndOffset,
      cleanedAtMs: cleanedAtMs as number,
      ...(deleteRetentionMs === undefined ? {} : { deleteRetentionMs }),
      ...(lagMs === undefined ? {} : { minCompactionLagMs: lagMs }),
    });
  }
  return passes;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** The same pass: the offsets it ended at and the time it ran (two passes never share both by chance). */
export function samePass(a: CleanerPass, b: CleanerPass): boolean {
  return a.cleanEndOffset === b.cleanEndOffset && a.cleanedAtMs === b.cleanedAtMs;
}

/** Offsets below this have been through at least one pass. */
export function cleanEndOffsetOf(passes: readonly CleanerPass[]): number {
  return passes.length === 0 ? 0 : passes[passes.length - 1]!.cleanEndOffset;
}

/** When the first pass that covered `offset` ran; undefined when none has. */
export function firstCleanedAtMs(passes: readonly CleanerPass[], offset: number): number | undefined {
  for (const pass of passes) if (offset < pass.cleanEndOffset) return pass.cleanedAtMs;
  return undefined;
}

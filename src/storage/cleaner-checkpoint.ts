import * as path from "node:path";
import type { FileSystem } from "./file-system.ts";

/**
 * `<partition>/cleaner-checkpoint`: the compaction passes a partition has
 * been through, oldest first, as JSON:
 *
 *   {"version": 1, "passes": [{"clean_end_offset": 5012, "cleaned_at_ms": 1767000000000}]}
 *
 * Each pass compacted the offsets below `clean_end_offset` at `cleaned_at_ms`
 * (wall clock). What it answers: which offsets are dirty (not yet through a
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
}

export const CLEANER_CHECKPOINT_FILE = "cleaner-checkpoint";
const PASSES_MAX = 32;

export function readCleanerPasses(fs: FileSystem, dir: string): CleanerPass[] {
  const file = path.join(dir, CLEANER_CHECKPOINT_FILE);
  if (!fs.exists(file)) return [];
  try {
    const parsed = JSON.parse(new TextDecoder().decode(fs.readFile(file))) as { version?: unknown; passes?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.passes)) return [];
    const passes: CleanerPass[] = [];
    for (const entry of parsed.passes as { clean_end_offset?: unknown; cleaned_at_ms?: unknown }[]) {
      const cleanEndOffset = entry?.clean_end_offset;
      const cleanedAtMs = entry?.cleaned_at_ms;
      if (!Number.isSafeInteger(cleanEndOffset) || !Number.isSafeInteger(cleanedAtMs)) return [];
      passes.push({ cleanEndOffset: cleanEndOffset as number, cleanedAtMs: cleanedAtMs as number });
    }
    return passes;
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
  const json = { version: 1, passes: passes.map((pass) => ({ clean_end_offset: pass.cleanEndOffset, cleaned_at_ms: pass.cleanedAtMs })) };
  return fs.writeFileAtomic(path.join(dir, CLEANER_CHECKPOINT_FILE), new TextEncoder().encode(JSON.stringify(json)));
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

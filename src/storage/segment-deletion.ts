import * as path from "node:path";
import type { Clock, Timer } from "../core/clock.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { segmentFileName } from "./segment.ts";

/**
 * Deleting whole segments from the front of a partition's log, crash-safely,
 * as Kafka does: every file of the segment (`.log`, `.index`, and any other
 * file named after its base offset) is renamed `<name>.deleted` and the
 * directory fsync'ed, then the files are removed later
 * (limits.segmentFileDeleteDelayMs, or at once on a clean stop). A crash
 * between the two leaves `.deleted` files: the loader never reads them (they
 * are not named like a segment) and removes them (removeDeletedLeftovers).
 * The caller has already taken the segment out of the log's list and closed
 * its descriptor, so no read can reach it (reads are synchronous and look
 * the segment up by offset each time).
 */
export const DELETED_SUFFIX = ".deleted";

export class SegmentDeletion {
  private pending: string[] = [];
  private timer: Timer | undefined;

  constructor(
    private readonly fs: FileSystem,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly dir: string,
  ) {}

  /** Renames every file of the segments at `baseOffsets` to `.deleted` (durable when it returns) and schedules their removal. */
  renameForDeletion(baseOffsets: readonly number[]): void {
    const prefixes = baseOffsets.map((baseOffset) => segmentFileName(baseOffset).replace(/\.log$/, "."));
    for (const name of this.fs.readdir(this.dir)) {
      if (name.endsWith(DELETED_SUFFIX) || !prefixes.some((prefix) => name.startsWith(prefix))) continue;
      const from = path.join(this.dir, name);
      this.fs.rename(from, from + DELETED_SUFFIX);
      this.pending.push(from + DELETED_SUFFIX);
    }
    this.fs.syncDirectorySync(this.dir);
    this.timer ??= this.clock.setTimeout(() => {
      this.timer = undefined;
      this.removePending();
    }, limits.segmentFileDeleteDelayMs);
  }

  /** Removes the renamed files now (a clean stop, or the delay passed); a failure is logged, and recovery finishes it. */
  removePending(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (const filePath of this.pending.splice(0)) {
      try {
        this.fs.removeRecursive(filePath);
      } catch (error) {
        this.logger.warn(`could not remove ${filePath} (the next start removes it): ${error instanceof Error ? error.message : error}`);
      }
    }
  }
}

/** At load: removes `.deleted` files a crash left between the rename and the removal; returns how many. */
export function removeDeletedLeftovers(fs: FileSystem, dir: string): number {
  let removed = 0;
  for (const name of fs.readdir(dir)) {
    if (!name.endsWith(DELETED_SUFFIX)) continue;
    fs.removeRecursive(path.join(dir, name));
    removed++;
  }
  return removed;
}

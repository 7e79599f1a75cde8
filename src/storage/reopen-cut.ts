import type { FileSystem } from "./file-system.ts";
import { cutFile } from "./log-loader.ts";
import type { Segment } from "./segment.ts";

/**
 * What a partition log reopened after a failed write or fsync must cut
 * first: under `--fsync always`, the bytes written past the last good
 * fdatasync were never acknowledged and must not reappear after the reopen.
 * Noted while the files are still open (the first attempt), applied before
 * every load until one succeeds (the disk may still be failing).
 */
export class ReopenCut {
  private pending: { logPath: string; position: number } | undefined;

  /** The active segment holds bytes past `durablePosition`: cut them at the reopen. */
  note(active: Segment, durablePosition: number, fsyncAlways: boolean): void {
    if (fsyncAlways && active.sizeBytes > durablePosition) this.pending = { logPath: active.logPath, position: durablePosition };
  }

  /** Cuts what was noted (throws while the disk is still bad; the next attempt cuts again). */
  apply(fs: FileSystem): void {
    if (this.pending === undefined) return;
    cutFile(fs, this.pending.logPath, this.pending.position);
    this.pending = undefined;
  }
}

import * as path from "node:path";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { segmentPaths } from "./segment.ts";

/**
 * Replacing a sealed segment by its cleaned copy, crash-safe, as Kafka's log
 * cleaner swaps segments (LogCleaner + Log.replaceSegments):
 *
 * 1. the cleaned frames are written to `<base>.log.cleaned`,
 * 2. which is fdatasync'ed;
 * 3. it is renamed to `<base>.log.swap` and the directory fsync'ed: from
 *    here the swap is decided, and a start finishes it;
 * 4. the old `<base>.log` and its `<base>.index` are deleted;
 * 5. `<base>.log.swap` is renamed to `<base>.log` and the directory fsync'ed.
 *
 * Recovery (finishSwaps, called by the loader before it lists the segments):
 * a `.swap` file is whole (it was fsync'ed before its rename), so the
 * segment it replaces is deleted and it takes its name; a `.cleaned` file is
 * an unfinished clean and is deleted (the next pass redoes it). A cleaned
 * segment covers exactly its old segment's offsets (only records inside it
 * are dropped), so `<base>` names both and nothing else changes.
 */
export const CLEANED_SUFFIX = ".cleaned";
export const SWAP_SUFFIX = ".swap";

export interface SwapFiles {
  fs: FileSystem;
  dir: string;
}

/**
 * Steps 1 and 2: the cleaned segment's frames written to `<base>.log.cleaned`
 * and fdatasync'ed. Returns the open descriptor (it stays the segment's
 * through the renames). On a failure the file is closed and removed.
 */
export async function writeCleanedSegment(files: SwapFiles, baseOffset: number, frames: Uint8Array[], bytes: number): Promise<number> {
  const cleanedPath = segmentPaths(files.dir, baseOffset).logPath + CLEANED_SUFFIX;
  const fd = files.fs.openReadWrite(cleanedPath);
  try {
    files.fs.truncate(fd, 0);
    const written = frames.length === 0 ? 0 : files.fs.writeChunks(fd, frames, 0);
    if (written !== bytes) throw new Error(`wrote ${written} of ${bytes} bytes to ${cleanedPath}`);
    await files.fs.fdatasync(fd);
    return fd;
  } catch (error) {
    closeQuietly(files.fs, fd);
    removeQuietly(files.fs, cleanedPath);
    throw error;
  }
}

/**
 * Steps 3 to 5, synchronous, so that no read or append of this process runs
 * between the decision and the new file in place. Readers keep the old
 * segment's descriptor until the caller swaps the segment in memory.
 */
export function swapCleanedSegment(files: SwapFiles, baseOffset: number): void {
  const { logPath, indexPath } = segmentPaths(files.dir, baseOffset);
  files.fs.rename(logPath + CLEANED_SUFFIX, logPath + SWAP_SUFFIX);
  files.fs.syncDirectorySync(files.dir);
  files.fs.removeRecursive(indexPath);
  files.fs.removeRecursive(logPath);
  files.fs.rename(logPath + SWAP_SUFFIX, logPath);
  files.fs.syncDirectorySync(files.dir);
}

/** Removes a `.cleaned` file a failed clean left (best effort; recovery removes it otherwise). */
export function discardCleanedSegment(files: SwapFiles, baseOffset: number): void {
  removeQuietly(files.fs, segmentPaths(files.dir, baseOffset).logPath + CLEANED_SUFFIX);
}

const SWAP_NAME = /^(\d{20})\.log\.swap$/;

/**
 * Recovery of interrupted swaps in a partition's directory, before its
 * segments are listed: every `<base>.log.swap` replaces `<base>.log` (and its
 * index), every `*.cleaned` file is deleted. Logs what it did.
 */
export function finishSwaps(files: SwapFiles & { logger: Logger; name: string }): void {
  const { fs, dir } = files;
  let changed = false;
  for (const name of fs.readdir(dir)) {
    if (name.endsWith(CLEANED_SUFFIX)) {
      fs.removeRecursive(path.join(dir, name));
      files.logger.warn(`partition ${files.name}: removed ${name}, left by a compaction that did not finish (it is redone)`);
      changed = true;
      continue;
    }
    const match = SWAP_NAME.exec(name);
    if (match === null) continue;
    const { logPath, indexPath } = segmentPaths(dir, Number(match[1]));
    fs.removeRecursive(indexPath);
    fs.removeRecursive(logPath);
    fs.rename(path.join(dir, name), logPath);
    files.logger.warn(`partition ${files.name}: finished the swap of ${path.basename(logPath)} by its compacted copy ${name}`);
    changed = true;
  }
  if (changed) fs.syncDirectorySync(dir);
}

function closeQuietly(fs: FileSystem, fd: number): void {
  try {
    fs.close(fd);
  } catch {
    // Already failing; the descriptor is gone either way.
  }
}

function removeQuietly(fs: FileSystem, filePath: string): void {
  try {
    fs.removeRecursive(filePath);
  } catch {
    // Recovery removes a `.cleaned` leftover at the next start.
  }
}

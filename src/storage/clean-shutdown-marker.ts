import * as path from "node:path";
import type { FileSystem } from "./file-system.ts";

/**
 * The clean-shutdown marker (as Kafka's `.kafka_cleanshutdown`): an empty file,
 * `<data-dir>/clean-shutdown`, whose presence says that the broker closed every
 * partition log and fdatasync'ed it before it stopped. From the bytes alone a
 * frame torn by a crash and a frame damaged later look alike; with the marker
 * there was no crash, so a bad last frame is corruption and recovery refuses
 * the partition instead of cutting it (src/storage/segment-loader.ts).
 *
 * Written durably (temp file, fsync, rename, directory fsync) after the last
 * log is closed; removed durably at start, before any log is opened — from
 * then on logs may be written, and a crash must not pass for a clean stop.
 */
export const CLEAN_SHUTDOWN_FILE = "clean-shutdown";

export function cleanShutdownMarkerPath(dataDir: string): string {
  return path.join(dataDir, CLEAN_SHUTDOWN_FILE);
}

/** Whether the marker is there (read-only: `gafka admin verify`). */
export function hasCleanShutdownMarker(fs: FileSystem, dataDir: string): boolean {
  return fs.exists(cleanShutdownMarkerPath(dataDir));
}

/** Whether the last stop was clean; removes the marker and makes its removal durable before returning. */
export function takeCleanShutdownMarker(fs: FileSystem, dataDir: string): boolean {
  const markerPath = cleanShutdownMarkerPath(dataDir);
  if (!fs.exists(markerPath)) return false;
  fs.removeRecursive(markerPath);
  fs.syncDirectorySync(dataDir);
  return true;
}

/** Records a clean stop; call only once every log is closed and fdatasync'ed. Durable when it resolves. */
export function writeCleanShutdownMarker(fs: FileSystem, dataDir: string): Promise<void> {
  return fs.writeFileAtomic(cleanShutdownMarkerPath(dataDir), new Uint8Array(0));
}

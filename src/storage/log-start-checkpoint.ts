import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import type { FileSystem } from "./file-system.ts";

/**
 * A partition's log start offset (Kafka's logStartOffset): the first offset a
 * consumer may read. It is `<partition dir>/log-start-offset-checkpoint`,
 * text:
 *
 * ```
 * 0        version
 * 1234     the log start offset
 * ```
 *
 * Written whenever the log start moves (retention, DeleteRecords, a follower
 * following its leader), and durably: temp file, fdatasync, rename, fsync of
 * the directory — it is on disk before the move is acknowledged and before
 * any segment below it is renamed for deletion. On load the log start is
 * the larger of this file and the first segment's base offset; no file means
 * the first segment's base. Source of truth for what lies below the log start
 * inside a segment still on disk: a damaged file is log_corrupt, not ignored,
 * so a restart never serves records a DeleteRecords removed.
 */
export const LOG_START_FILE_NAME = "log-start-offset-checkpoint";
const FILE_VERSION = 0;

/** The checkpointed log start offset in `dir`, or undefined when there is no file. */
export function readLogStartCheckpoint(dir: string, fs: FileSystem): number | undefined {
  const filePath = path.join(dir, LOG_START_FILE_NAME);
  if (!fs.exists(filePath)) return undefined;
  const lines = new TextDecoder().decode(fs.readFile(filePath)).split("\n").filter((line) => line.trim() !== "");
  const offset = Number(lines[1]);
  if (lines.length !== 2 || lines[0]!.trim() !== String(FILE_VERSION) || !Number.isSafeInteger(offset) || offset < 0) {
    throw new GafkaError("log_corrupt", `${filePath} is damaged: expected '${FILE_VERSION}' and an offset`, { details: { file: filePath } });
  }
  return offset;
}

/** Writes `offset` as the log start durably (see above); on disk when it returns. */
export function writeLogStartCheckpoint(dir: string, fs: FileSystem, offset: number): void {
  const filePath = path.join(dir, LOG_START_FILE_NAME);
  const temporaryPath = `${filePath}.tmp`;
  const fd = fs.openReadWrite(temporaryPath);
  try {
    fs.truncate(fd, 0);
    fs.write(fd, new TextEncoder().encode(`${FILE_VERSION}\n${offset}\n`), 0);
    fs.fdatasyncSync(fd);
  } finally {
    fs.close(fd);
  }
  fs.rename(temporaryPath, filePath);
  fs.syncDirectorySync(dir);
}

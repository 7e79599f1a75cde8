import { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { OffsetIndex } from "./offset-index.ts";
import { Segment, segmentPaths } from "./segment.ts";
import { scanSegment } from "./segment-scanner.ts";

/**
 * Opening, creating and indexing one partition's segment files: the start-up
 * (recovery) half of the partition log (src/storage/partition-log.ts).
 */
export interface SegmentFiles {
  fs: FileSystem;
  logger: Logger;
  /** The partition's directory. */
  dir: string;
  /** For messages, e.g. "orders-3". */
  name: string;
  indexIntervalBytes: number;
}

/**
 * A sealed segment (nextBase defined) is trusted up to its size and its index
 * file is used when it makes sense, so start-up reads only what it must; the
 * active segment is scanned in full and a torn tail is cut off (and logged with
 * the bytes dropped). Damage followed by valid frames, or in a sealed segment,
 * throws GafkaError `log_corrupt` naming file, position and offset.
 */
export function loadSegment(files: SegmentFiles, baseOffset: number, nextBase: number | undefined): Segment {
  const { fs, logger, name, indexIntervalBytes } = files;
  const { logPath, indexPath } = segmentPaths(files.dir, baseOffset);
  const fd = fs.openReadWrite(logPath);
  try {
    if (nextBase !== undefined) {
      const sizeBytes = fs.sizeOf(fd);
      const index = fs.exists(indexPath) ? OffsetIndex.parse(fs.readFile(indexPath), sizeBytes) : undefined;
      if (index && (sizeBytes === 0 || index.length > 0)) {
        return new Segment(baseOffset, logPath, indexPath, fd, sizeBytes, nextBase, index, indexIntervalBytes);
      }
    }
    const scan = scanSegment(fs, logPath, fd, baseOffset, { isActive: nextBase === undefined, indexIntervalBytes });
    const problem = scan.problems[0];
    if (problem?.kind === "corrupt" || (nextBase !== undefined && scan.nextOffset !== nextBase)) {
      const message = problem
        ? problem.message
        : `segment ends at offset ${scan.nextOffset} but the next segment starts at ${nextBase}`;
      const position = problem ? problem.position : scan.validBytes;
      const offset = problem ? problem.offset : scan.nextOffset;
      throw new GafkaError(
        "log_corrupt",
        `partition ${name} refused: ${logPath} is corrupt at position ${position} (offset ${offset}): ${message}. ` +
          "Records after it are kept on disk; run `gafka admin verify` to list every damaged place.",
        { details: { file: logPath, position, offset } },
      );
    }
    if (problem?.kind === "torn") {
      const dropped = scan.fileBytes - scan.validBytes;
      fs.truncate(fd, scan.validBytes);
      fs.fdatasyncSync(fd);
      logger.warn(
        `partition ${name}: cut a torn tail of ${dropped} bytes from ${logPath} at position ${scan.validBytes} (offset ${scan.nextOffset})`,
      );
    }
    const segment = new Segment(baseOffset, logPath, indexPath, fd, scan.validBytes, scan.nextOffset, scan.index, indexIntervalBytes);
    if (nextBase !== undefined) writeIndexFile(files, segment);
    return segment;
  } catch (error) {
    fs.close(fd);
    throw error;
  }
}

/** A new, empty segment whose directory entry is durable before anything in it is acknowledged. */
export function createSegment(files: SegmentFiles, baseOffset: number): Segment {
  const { logPath, indexPath } = segmentPaths(files.dir, baseOffset);
  const fd = files.fs.openReadWrite(logPath);
  files.fs.truncate(fd, 0);
  files.fs.syncDirectorySync(files.dir);
  return new Segment(baseOffset, logPath, indexPath, fd, 0, baseOffset, new OffsetIndex(), files.indexIntervalBytes);
}

/** The index is derived: written without fsync, checked and rebuilt on load. */
export function writeIndexFile(files: SegmentFiles, segment: Segment): void {
  try {
    const fd = files.fs.openReadWrite(segment.indexPath);
    try {
      const bytes = segment.index.serialize();
      files.fs.truncate(fd, 0);
      files.fs.write(fd, bytes, 0);
    } finally {
      files.fs.close(fd);
    }
  } catch (error) {
    files.logger.warn(`could not write ${segment.indexPath} (it will be rebuilt): ${error instanceof Error ? error.message : String(error)}`);
  }
}

import { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { DescriptorPool, PooledFile } from "./descriptor-pool.ts";
import type { FileSystem } from "./file-system.ts";
import { OffsetIndex } from "./offset-index.ts";
import { Segment, segmentBaseOffsets, segmentPaths } from "./segment.ts";
import { TimeIndex } from "./time-index.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";
import { SegmentReader } from "./segment-reader.ts";
import { checkFrame, type ScanProblem, type SegmentScan, scanSegment } from "./segment-scanner.ts";
import { finishSwaps } from "./segment-swap.ts";

/**
 * Opening, creating and indexing one partition's segment files: the start-up
 * (recovery) half of the partition log (src/storage/partition-log.ts).
 */
export interface SegmentFiles {
  /** The pool's view of the file system (DescriptorPool.fs): writes and syncs of segment files go through it. */
  fs: FileSystem;
  /** The broker's descriptor pool: segment files are opened through it when used. */
  pool: DescriptorPool;
  /** The fdatasync the pool makes before closing a written segment file failed: the log must go through recovery. */
  onSyncFailed?: (filePath: string, error: unknown) => void;
  logger: Logger;
  /** The partition's directory. */
  dir: string;
  /** For messages, e.g. "orders-3". */
  name: string;
  indexIntervalBytes: number;
  /**
   * The broker stopped cleanly last time (src/storage/clean-shutdown-marker.ts):
   * every log was closed and fdatasync'ed, so the active segment ends on a
   * whole frame and damage there is corruption, not a torn write.
   */
  afterCleanShutdown: boolean;
}

/** The segment file at `logPath` as a file of the pool (not opened yet). */
export function pooledSegmentFile(files: SegmentFiles, logPath: string): PooledFile {
  const onSyncFailed = files.onSyncFailed;
  return files.pool.file(logPath, onSyncFailed === undefined ? undefined : (error) => onSyncFailed(logPath, error));
}

/**
 * Opens (recovering) every segment in the partition's directory, oldest
 * first, creating the first when there is none (loadSegment says what is
 * read). On a failure closes what it opened and throws.
 */
export function loadSegments(files: SegmentFiles): Segment[] {
  files.fs.mkdirp(files.dir);
  // A compaction's swap interrupted by a crash is finished (or its leftovers removed) first.
  finishSwaps(files);
  const baseOffsets = segmentBaseOffsets(files.fs.readdir(files.dir));
  const segments: Segment[] = [];
  try {
    if (baseOffsets.length === 0) segments.push(createSegment(files, 0));
    for (let i = 0; i < baseOffsets.length; i++) segments.push(loadSegment(files, baseOffsets[i]!, baseOffsets[i + 1]));
  } catch (error) {
    for (const segment of segments) segment.close();
    throw error;
  }
  return segments;
}

/**
 * What start-up reads of one segment:
 *
 * - A sealed segment (nextBase defined): nothing but its size. It was
 *   fdatasync'ed before the next segment was created, so it is whole unless
 *   the disk damaged it; its indexes are read and checked against the log on
 *   their first use (checkSealedSegment), where damage is found and refused.
 * - The active segment after a clean stop: its size; when it holds frames,
 *   its index files (written at the clean stop) and the frames from the index's
 *   last entry to the end of the file, which must follow on to exactly its
 *   end (about one index interval). An empty one is not even opened. When the
 *   index is missing or does not fit, it is scanned as below.
 * - The active segment otherwise (after a crash, or a reopen after a failed
 *   write): scanned in full, and a torn tail is cut off (and logged with the
 *   bytes dropped) — unless the broker stopped cleanly, when a bad tail is
 *   corruption.
 *
 * Damage followed by valid frames, damage in a sealed segment, or a gap
 * between segments throws GafkaError `log_corrupt` naming file, position and
 * offsets.
 */
export function loadSegment(files: SegmentFiles, baseOffset: number, nextBase: number | undefined): Segment {
  const { logPath, indexPath } = segmentPaths(files.dir, baseOffset);
  const file = pooledSegmentFile(files, logPath);
  try {
    if (nextBase !== undefined) {
      const sizeBytes = files.fs.sizeOfPath(logPath);
      const segment = new Segment(baseOffset, logPath, indexPath, file, sizeBytes, nextBase, new OffsetIndex(), files.indexIntervalBytes);
      segment.deferIndexes((unchecked) => checkSealedSegment(files, unchecked, nextBase));
      return segment;
    }
    return (files.afterCleanShutdown ? cleanActiveSegment(files, file, baseOffset) : undefined) ?? scanActiveSegment(files, file, baseOffset);
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * The first use of a sealed segment's indexes: its index file is trusted
 * when it makes sense and, from its last entry, the frames follow one another
 * to exactly the end of the file, the last ending just before nextBase
 * (tailFits). Otherwise the segment is scanned in full; a scan that finds the
 * log whole means the index was wrong, and it is rebuilt (and logged); one
 * that finds damage or a gap before nextBase throws GafkaError `log_corrupt`.
 */
function checkSealedSegment(files: SegmentFiles, segment: Segment, nextBase: number): void {
  const { fs, logger, name, indexIntervalBytes } = files;
  const { baseOffset, logPath, indexPath, sizeBytes } = segment;
  const index = readIndexFile(files, indexPath, sizeBytes);
  const entriesInFile = index?.length ?? 0;
  const tail = index && tailFits(fs, segment.fd, sizeBytes, baseOffset, index, indexIntervalBytes);
  if (index && tail && tail.endOffset === nextBase) {
    segment.replaceIndex(index, indexIntervalBytes, new TimeIndex(), -1);
    takeTimeIndex(files, segment, index.length === entriesInFile, tail);
    return;
  }
  const scan = scanSegment(fs, logPath, segment.fd, baseOffset, { isActive: false, indexIntervalBytes });
  const problem = scan.problems[0];
  if (problem !== undefined || scan.nextOffset !== nextBase) throw corruptSegment(files, logPath, scan, problem, nextBase);
  segment.replaceIndex(scan.index, indexIntervalBytes, scan.timeIndex, scan.maxTimestampMs);
  if (fs.exists(indexPath)) logger.warn(`partition ${name}: the offset index ${indexPath} did not match ${logPath}; rebuilt it from a scan`);
  writeIndexFile(files, segment);
}

/**
 * The time index of a segment whose offset index was just checked (`tail`:
 * what the walk from its last entry saw): the file's when it can be trusted
 * (an offset index cut short, to which the walk added entries, leaves its
 * time index no better), else rebuilt from a scan.
 */
function takeTimeIndex(files: SegmentFiles, segment: Segment, offsetIndexWhole: boolean, tail: TailWalk): void {
  const timeIndex = offsetIndexWhole ? checkedTimeIndex(files, segment, tail.firstMaxTimestampMs) : undefined;
  if (timeIndex) {
    segment.timeIndex = timeIndex;
    segment.maxTimestampMs = Math.max(timeIndex.lastTimestampMs, tail.maxTimestampMs);
  } else if (!rebuildTimeIndex(files, segment)) {
    // The log is damaged before its tail: a lookup by time must not skip this segment, but read it and meet the damage.
    segment.maxTimestampMs = Number.MAX_SAFE_INTEGER;
  }
}

/**
 * The active segment after a clean stop, found from its size and index
 * (loadSegment); undefined when its index is missing or does not fit the
 * file, and it must be scanned.
 */
function cleanActiveSegment(files: SegmentFiles, file: PooledFile, baseOffset: number): Segment | undefined {
  const { fs, indexIntervalBytes } = files;
  const { logPath, indexPath } = segmentPaths(files.dir, baseOffset);
  const sizeBytes = fs.sizeOfPath(logPath);
  if (sizeBytes === 0) return new Segment(baseOffset, logPath, indexPath, file, 0, baseOffset, new OffsetIndex(), indexIntervalBytes);
  const index = readIndexFile(files, indexPath, sizeBytes);
  if (index === undefined) return undefined;
  const entriesInFile = index.length;
  const tail = tailFits(fs, file.fd, sizeBytes, baseOffset, index, indexIntervalBytes);
  if (tail === undefined) return undefined;
  const segment = new Segment(baseOffset, logPath, indexPath, file, sizeBytes, tail.endOffset, index, indexIntervalBytes);
  takeTimeIndex(files, segment, index.length === entriesInFile, tail);
  // A time index that could not be rebuilt means damage before the tail: the scan says where.
  return segment.maxTimestampMs === Number.MAX_SAFE_INTEGER ? undefined : segment;
}

/** The active segment scanned in full; a torn tail is cut off unless the last stop was clean (loadSegment). */
function scanActiveSegment(files: SegmentFiles, file: PooledFile, baseOffset: number): Segment {
  const { fs, logger, name, indexIntervalBytes } = files;
  const { logPath, indexPath } = segmentPaths(files.dir, baseOffset);
  const tailMayBeTorn = !files.afterCleanShutdown;
  const scan = scanSegment(fs, logPath, file.fd, baseOffset, { isActive: tailMayBeTorn, indexIntervalBytes });
  const problem = scan.problems[0];
  if (problem?.kind === "corrupt") throw corruptSegment(files, logPath, scan, problem, undefined);
  if (problem?.kind === "torn") {
    const dropped = scan.fileBytes - scan.validBytes;
    fs.truncate(file.fd, scan.validBytes);
    fs.fdatasyncSync(file.fd);
    logger.warn(`partition ${name}: cut a torn tail of ${dropped} bytes from ${logPath} at position ${scan.validBytes} (offset ${scan.nextOffset})`);
  }
  const segment = new Segment(baseOffset, logPath, indexPath, file, scan.validBytes, scan.nextOffset, scan.index, indexIntervalBytes);
  segment.timeIndex = scan.timeIndex;
  segment.maxTimestampMs = scan.maxTimestampMs;
  return segment;
}

/** GafkaError `log_corrupt` for a segment whose scan found `problem`, or ended before `nextBase` (a sealed one). */
function corruptSegment(files: SegmentFiles, logPath: string, scan: SegmentScan, problem: ScanProblem | undefined, nextBase: number | undefined): GafkaError {
  let message = problem
    ? problem.message
    : `segment ends at offset ${scan.nextOffset} but the next segment starts at ${nextBase}: ` +
      `offsets [${scan.nextOffset}, ${nextBase}) are missing (a segment file cut short or deleted)`;
  if (nextBase === undefined && files.afterCleanShutdown) {
    message += "; the broker stopped cleanly last time (clean-shutdown marker), so a damaged last frame is corruption, not a torn write";
  }
  const position = problem ? problem.position : scan.validBytes;
  const offset = problem ? problem.offset : scan.nextOffset;
  return new GafkaError(
    "log_corrupt",
    `partition ${files.name} refused: ${logPath} is corrupt at position ${position} (offset ${offset}): ${message}. ` +
      "Records after it are kept on disk; run `gafka admin verify` to list every damaged place.",
    { details: { file: logPath, position, offset } },
  );
}

/** The index file parsed, or undefined when it is missing, unreadable (logged) or makes no sense for the segment. */
function readIndexFile(files: SegmentFiles, indexPath: string, segmentBytes: number): OffsetIndex | undefined {
  if (!files.fs.exists(indexPath)) return undefined;
  try {
    return OffsetIndex.parse(files.fs.readFile(indexPath), segmentBytes);
  } catch (error) {
    // Derived data: an index that cannot be read (a directory in its place, say) is rebuilt, never fatal.
    files.logger.warn(`partition ${files.name}: cannot read ${indexPath} (${describe(error)}); scanning the segment instead`);
    return undefined;
  }
}

/**
 * The sealed segment's time index file, when it can be trusted: it parses
 * (src/storage/time-index.ts), names exactly the frames its offset index
 * names (checked just before against the log), and its last entry's running
 * maximum is no less than the maxTimestamp of the frame it names
 * (`lastFrameMaxTimestampMs`, read by the tail walk). Undefined otherwise, and
 * the caller rebuilds it.
 */
function checkedTimeIndex(files: SegmentFiles, segment: Segment, lastFrameMaxTimestampMs: number): TimeIndex | undefined {
  const timeIndexPath = segment.timeIndexPath;
  if (!files.fs.exists(timeIndexPath)) return undefined;
  let timeIndex: TimeIndex | undefined;
  try {
    timeIndex = TimeIndex.parse(files.fs.readFile(timeIndexPath), segment.nextOffset - segment.baseOffset);
  } catch {
    return undefined;
  }
  const index = segment.index;
  if (!timeIndex?.sameOffsetsAs(index.length, (entry) => index.relativeOffsetAt(entry))) return undefined;
  if (timeIndex.length > 0 && timeIndex.lastTimestampMs < lastFrameMaxTimestampMs) return undefined;
  return timeIndex;
}

/**
 * Rebuilds a sealed segment's time index (and its largest timestamp) from a
 * scan of its frames, logs it, and writes it. The offset index is kept: it was
 * checked. False, and nothing changed, when the scan finds the log damaged.
 */
export function rebuildTimeIndex(files: SegmentFiles, segment: Segment): boolean {
  const scan = scanSegment(files.fs, segment.logPath, segment.fd, segment.baseOffset, {
    isActive: false,
    indexIntervalBytes: files.indexIntervalBytes,
    endPosition: segment.sizeBytes,
  });
  if (scan.problems.length > 0 || scan.validBytes !== segment.sizeBytes) return false;
  const why = files.fs.exists(segment.timeIndexPath) ? "did not match" : "was missing for";
  files.logger.warn(`partition ${files.name}: the time index ${segment.timeIndexPath} ${why} ${segment.logPath}; rebuilt it from a scan`);
  segment.replaceIndex(scan.index, files.indexIntervalBytes, scan.timeIndex, scan.maxTimestampMs);
  writeIndexFile(files, segment);
  return true;
}

/** What the walk of a segment's tail saw (tailFits). */
interface TailWalk {
  /** One past the last offset of the last frame: the segment's next offset. */
  endOffset: number;
  /** The maxTimestamp of the first frame walked (the one the index's last entry names). */
  firstMaxTimestampMs: number;
  /** The largest maxTimestamp of all it walked. */
  maxTimestampMs: number;
}

/**
 * The cheap check of a segment against its index: walks (and checks) the
 * frames from the index's last entry to the end of the file, about one index
 * interval. Fits when the first begins at the entry's offset, each follows on
 * from the one before, and the last ends exactly at the end of the file (the
 * caller checks the end offset against the next segment's base). This finds
 * a segment cut short (at a frame boundary or inside a frame), a deleted
 * segment (a gap before the next one) and an index out of step with the log.
 * Entries for frames past the index's last one (an index file cut short) are
 * added as it goes. Undefined when it does not fit.
 */
function tailFits(fs: FileSystem, fd: number, sizeBytes: number, baseOffset: number, index: OffsetIndex, indexIntervalBytes: number): TailWalk | undefined {
  const reader = new SegmentReader(fs, fd, sizeBytes);
  let firstMaxTimestampMs = -1;
  let maxTimestampMs = -1;
  let position = index.length === 0 ? 0 : index.lastPosition;
  let expectedOffset = baseOffset + (index.length === 0 ? 0 : index.lastRelativeOffset);
  let bytesSinceIndexEntry = index.length === 0 ? indexIntervalBytes : 0;
  while (position < sizeBytes) {
    const frame = checkFrame(reader, position);
    if (!frame.ok || frame.baseOffset !== expectedOffset) return undefined;
    if (firstMaxTimestampMs < 0) firstMaxTimestampMs = frame.maxTimestampMs;
    if (frame.maxTimestampMs > maxTimestampMs) maxTimestampMs = frame.maxTimestampMs;
    if (bytesSinceIndexEntry >= indexIntervalBytes) {
      index.append(frame.baseOffset - baseOffset, position);
      bytesSinceIndexEntry = 0;
    }
    const frameBytes = FRAME_HEADER_BYTES + frame.batchBytes;
    position += frameBytes;
    bytesSinceIndexEntry += frameBytes;
    expectedOffset = frame.baseOffset + frame.lastOffsetDelta + 1;
  }
  return position === sizeBytes ? { endOffset: expectedOffset, firstMaxTimestampMs, maxTimestampMs } : undefined;
}

/**
 * Scans `segment`'s file (its `fileBytes` written so far) and, when every
 * frame checks out and follows on, replaces its index with the one the scan
 * built and writes it (sealed segments). False, and nothing changed, when the
 * log itself is damaged: a read then finds and reports the damage.
 */
export function rebuildIndex(files: SegmentFiles, segment: Segment, fileBytes: number, sealed: boolean): boolean {
  const scan = scanSegment(files.fs, segment.logPath, segment.fd, segment.baseOffset, {
    isActive: false,
    indexIntervalBytes: files.indexIntervalBytes,
    endPosition: fileBytes,
  });
  if (scan.problems.length > 0 || scan.validBytes !== fileBytes) return false;
  segment.replaceIndex(scan.index, files.indexIntervalBytes, scan.timeIndex, scan.maxTimestampMs);
  if (sealed) writeIndexFile(files, segment);
  return true;
}

/** A new, empty segment whose directory entry is durable before anything in it is acknowledged. */
export function createSegment(files: SegmentFiles, baseOffset: number): Segment {
  const { logPath, indexPath } = segmentPaths(files.dir, baseOffset);
  const file = pooledSegmentFile(files, logPath);
  try {
    // Past the pool's view: emptying a new file is not a write to sync (its directory entry is).
    files.pool.inner.truncate(file.fd, 0);
    files.fs.syncDirectorySync(files.dir);
  } catch (error) {
    file.close();
    throw error;
  }
  return new Segment(baseOffset, logPath, indexPath, file, 0, baseOffset, new OffsetIndex(), files.indexIntervalBytes);
}

/** The indexes (offset and time) are derived: written without fsync, checked and rebuilt on load. */
export function writeIndexFile(files: SegmentFiles, segment: Segment): void {
  writeDerivedFile(files, segment.indexPath, segment.index.serialize());
  writeDerivedFile(files, segment.timeIndexPath, segment.timeIndex.serialize());
}

function writeDerivedFile(files: SegmentFiles, filePath: string, bytes: Uint8Array): void {
  try {
    const fd = files.fs.openReadWrite(filePath);
    try {
      files.fs.truncate(fd, 0);
      files.fs.write(fd, bytes, 0);
    } finally {
      files.fs.close(fd);
    }
  } catch (error) {
    files.logger.warn(`could not write ${filePath} (it will be rebuilt): ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

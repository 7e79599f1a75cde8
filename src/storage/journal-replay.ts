import { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";
import type { JournalOp } from "./journal-record.ts";
import { segmentBaseOffsets, segmentPaths, timeIndexPathOf } from "./segment.ts";
import { SegmentReader } from "./segment-reader.ts";
import { checkFrame } from "./segment-scanner.ts";

/** Where replay writes: a partition's directory and how to speak of it. */
export interface ReplayTarget {
  fs: FileSystem;
  logger: Logger;
  dir: string;
  name: string;
}

/** A segment file replay writes to, with the batches it put there (for a later truncate). */
interface ReplaySegment {
  baseOffset: number;
  logPath: string;
  fd: number;
  sizeBytes: number;
  /** One past the last offset the segment holds. */
  nextOffset: number;
  /** [baseOffset, position] of each batch replay wrote, in order. */
  batches: [number, number][];
}

/**
 * Brings a partition's segment files in line with the commit journal after
 * an unclean stop, before the log is loaded (src/storage/commit-journal.ts).
 *
 * What the journal's records of this partition cover was acknowledged once
 * the journal was fdatasync'ed, but the partition's own files were written
 * without one: after a power loss their tail may be missing or hold holes.
 * Everything below the first offset the journal names (F) was made durable in
 * the segment files by an earlier checkpoint, by a segment roll or by a close,
 * so the log is cut at F without looking at what lies beyond, and the records
 * are written again in journal order: appends at their offsets, truncations
 * and restarts as they happened. Every file written is fdatasync'ed (and the
 * directory) before this returns, and the replayed segments' index files are
 * removed so that the load rebuilds them from a scan, which checks each
 * replayed frame once more.
 *
 * Frames below F that fail their checks, or a log that ends before F, are
 * corruption: GafkaError `log_corrupt` naming the file and position.
 */
export function replayJournal(target: ReplayTarget, ops: readonly JournalOp[]): void {
  const restart = ops.findLastIndex((op) => op.kind === "restart");
  const relevant = restart >= 0 ? ops.slice(restart) : ops;
  if (relevant.length === 0) return;
  const { fs } = target;
  fs.mkdirp(target.dir);
  const written: ReplaySegment[] = [];
  let current: ReplaySegment;
  const first = relevant[0]!;
  if (first.kind === "restart") {
    for (const base of segmentBaseOffsets(fs.readdir(target.dir))) removeSegmentFiles(fs, target.dir, base);
    current = newSegment(target, first.offset);
  } else {
    current = cutAt(target, lowestOffset(relevant));
  }
  // Records below the first segment left on disk were deleted from the front since (retention, DeleteRecords).
  const start = current.baseOffset;
  written.push(current);
  const from = first.kind === "restart" ? first.offset : current.nextOffset;
  let appended = 0;
  for (const op of relevant) {
    const logEnd = current.nextOffset;
    if (op.kind !== "forget" && op.offset < start) {
      if (op.kind === "append" && op.nextOffset <= start) continue;
      throw corrupt(target, current.logPath, 0, op.offset, `the commit journal names offset ${op.offset}, below the log's first segment at ${start}`);
    }
    if (op.kind === "append") {
      if (op.offset < logEnd) current = truncateTo(target, written, op.offset);
      else if (op.offset > logEnd) {
        throw corrupt(target, current.logPath, current.sizeBytes, op.offset, `the commit journal continues the log at offset ${op.offset} but it ends at ${logEnd}`);
      }
      if (op.startsSegment && current.sizeBytes > 0) {
        current = newSegment(target, op.offset);
        written.push(current);
      }
      fs.write(current.fd, op.frames, current.sizeBytes);
      for (const [baseOffset, position] of batchesOf(op.frames)) current.batches.push([baseOffset, current.sizeBytes + position]);
      current.sizeBytes += op.frames.length;
      current.nextOffset = op.nextOffset;
      appended += op.nextOffset - op.offset;
    } else if (op.kind === "truncate") {
      if (op.offset < logEnd) current = truncateTo(target, written, op.offset);
    } else if (op.kind === "restart" && op !== first) {
      throw new Error("replay sees only the records after the last restart");
    }
  }
  for (const segment of written) {
    if (segment.fd < 0) continue;
    fs.truncate(segment.fd, segment.sizeBytes);
    fs.fdatasyncSync(segment.fd);
    fs.close(segment.fd);
  }
  fs.syncDirectorySync(target.dir);
  target.logger.warn(
    `partition ${target.name}: replayed ${relevant.length} commit-journal entries holding ${appended} records from offset ${from}`,
  );
}

/** The lowest offset the records name: below it the segment files are durable. */
function lowestOffset(ops: readonly JournalOp[]): number {
  let lowest = Number.MAX_SAFE_INTEGER;
  for (const op of ops) if (op.kind !== "forget") lowest = Math.min(lowest, op.offset);
  return lowest;
}

/**
 * Cuts the log at `offset` without reading past it: later segments are
 * removed, the one holding `offset` is walked frame by frame up to it (each
 * checked) and cut there. When the segments at or below `offset` were
 * deleted from the front since (retention, DeleteRecords), the cut is at the
 * first segment left: everything from there is in the journal. A log with
 * no segment at all starts again with an empty one at `offset`.
 */
function cutAt(target: ReplayTarget, wanted: number): ReplaySegment {
  const { fs, dir } = target;
  const bases = segmentBaseOffsets(fs.readdir(dir));
  const offset = bases.length > 0 ? Math.max(wanted, bases[0]!) : wanted;
  const holding = bases.filter((base) => base <= offset).at(-1);
  for (const base of bases) if (holding === undefined || base > holding) removeSegmentFiles(fs, dir, base);
  if (holding === undefined) return newSegment(target, offset);
  const { logPath, indexPath } = segmentPaths(dir, holding);
  removeIndexFiles(fs, indexPath);
  const fd = fs.openReadWrite(logPath);
  const fileBytes = fs.sizeOf(fd);
  const reader = new SegmentReader(fs, fd, fileBytes);
  let position = 0;
  let nextOffset = holding;
  while (nextOffset < offset) {
    if (position >= fileBytes) {
      fs.close(fd);
      throw corrupt(target, logPath, position, nextOffset, `the log ends at offset ${nextOffset} but the commit journal continues it at ${offset}`);
    }
    const frame = checkFrame(reader, position);
    if (!frame.ok) {
      fs.close(fd);
      throw corrupt(target, logPath, position, nextOffset, `${frame.reason}, below offset ${offset} which a checkpoint had made durable`);
    }
    if (frame.baseOffset >= offset) break;
    position += FRAME_HEADER_BYTES + frame.batchBytes;
    nextOffset = frame.baseOffset + frame.lastOffsetDelta + 1;
  }
  if (nextOffset > offset) {
    fs.close(fd);
    throw corrupt(target, logPath, position, nextOffset, `offset ${offset}, where the commit journal continues the log, lies inside a batch`);
  }
  return { baseOffset: holding, logPath, fd, sizeBytes: position, batches: [], nextOffset: offset };
}

/** Cuts what replay wrote back to `offset` (a batch boundary it wrote, or where it began). */
function truncateTo(target: ReplayTarget, written: ReplaySegment[], offset: number): ReplaySegment {
  while (written.length > 1 && written.at(-1)!.baseOffset > offset) {
    const dropped = written.pop()!;
    target.fs.close(dropped.fd);
    removeSegmentFiles(target.fs, target.dir, dropped.baseOffset);
  }
  const segment = written.at(-1)!;
  const at = segment.batches.findIndex(([baseOffset]) => baseOffset >= offset);
  if (at >= 0) {
    if (segment.batches[at]![0] !== offset) {
      throw corrupt(target, segment.logPath, segment.batches[at]![1], offset, `the commit journal truncates to offset ${offset}, which is not a batch boundary`);
    }
    segment.sizeBytes = segment.batches[at]![1];
    segment.batches.length = at;
  }
  segment.nextOffset = Math.min(segment.nextOffset, offset);
  return segment;
}

function newSegment(target: ReplayTarget, baseOffset: number): ReplaySegment {
  const { logPath, indexPath } = segmentPaths(target.dir, baseOffset);
  removeIndexFiles(target.fs, indexPath);
  const fd = target.fs.openReadWrite(logPath);
  target.fs.truncate(fd, 0);
  return { baseOffset, logPath, fd, sizeBytes: 0, batches: [], nextOffset: baseOffset };
}

function removeSegmentFiles(fs: FileSystem, dir: string, baseOffset: number): void {
  const { logPath, indexPath } = segmentPaths(dir, baseOffset);
  fs.removeRecursive(logPath);
  removeIndexFiles(fs, indexPath);
}

function removeIndexFiles(fs: FileSystem, indexPath: string): void {
  fs.removeRecursive(indexPath);
  fs.removeRecursive(timeIndexPathOf(indexPath));
}

/** [baseOffset, position in `frames`] of each frame (checked when the journal was read). */
function* batchesOf(frames: Uint8Array): Generator<[number, number]> {
  const view = new DataView(frames.buffer, frames.byteOffset, frames.length);
  let position = 0;
  while (position < frames.length) {
    yield [Number(view.getBigInt64(position + FRAME_HEADER_BYTES)), position];
    position += FRAME_HEADER_BYTES + view.getUint32(position);
  }
}

function corrupt(target: ReplayTarget, file: string, position: number, offset: number, reason: string): GafkaError {
  return new GafkaError(
    "log_corrupt",
    `partition ${target.name} refused: ${file} is corrupt at position ${position} (offset ${offset}): ${reason}. ` +
      "Records after it are kept on disk; run `gafka admin verify` to list every damaged place.",
    { details: { file, position, offset } },
  );
}

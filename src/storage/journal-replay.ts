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

/** Internal: how replay opens files, and whether it only plans (reads, never writes). */
interface ReplayContext extends ReplayTarget {
  planning: boolean;
  open(filePath: string): number;
}

/** Where a partition's files stop matching its journal entries: from there they are cut and the entries written again. */
export interface ReplayRewrite {
  /** The segment file it begins in (every later segment file is removed and written again). */
  file: string;
  baseOffset: number;
  position: number;
  offset: number;
}

/** What replay did, or (planReplay) will do, for one partition. */
export interface ReplayOutcome {
  /** The entries compared with the files: those after the last restart. */
  entries: number;
  /** The first offset they name: below it the segment files are durable (a restart's offset when one leads). */
  firstOffset: number;
  /** Where the files are written again from; undefined when every entry matched the files and nothing is written. */
  rewrite: ReplayRewrite | undefined;
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
 * What the journal's entries of this partition cover was acknowledged once
 * the journal was fdatasync'ed, but the partition's own files were written
 * without one: after a power loss their tail may be missing or hold holes.
 * Everything below the first offset the entries name (F) was made durable in
 * the segment files by an earlier checkpoint, a roll, a close or the
 * partition's own fdatasync, so the files are read from F on and each entry
 * compared with the bytes where it belongs: while they match, nothing is
 * written (rounds the partition fdatasync'ed itself may follow, and stay).
 * From the first entry that does not match, the files are cut there without
 * reading further and the entries are written again in journal order:
 * appends at their offsets (rolling where the entry says), truncations and
 * restarts as they happened. Every file written is fdatasync'ed (and the
 * directory) before this returns, and the indexes of the segments written
 * are removed, so that the load rebuilds them from a scan, which checks each
 * replayed frame once more.
 *
 * Frames below F that fail their checks, or a log that ends before F, are
 * corruption: GafkaError `log_corrupt` naming the file and position.
 */
export function replayJournal(target: ReplayTarget, ops: readonly JournalOp[]): ReplayOutcome {
  return replay({ ...target, planning: false, open: (filePath) => target.fs.openReadWrite(filePath) }, ops);
}

/**
 * What replayJournal will do with these entries, read-only (`gafka admin
 * verify`): the same walk, without a write, telling where the files first
 * differ from the entries (where the replay will cut them and write the
 * entries again). It throws the same `log_corrupt` where the replay would
 * refuse the partition.
 */
export function planReplay(target: ReplayTarget, ops: readonly JournalOp[]): ReplayOutcome {
  return replay({ ...target, planning: true, open: (filePath) => target.fs.openReadOnly(filePath) }, ops);
}

function replay(target: ReplayContext, ops: readonly JournalOp[]): ReplayOutcome {
  const restart = ops.findLastIndex((op) => op.kind === "restart");
  const relevant = restart >= 0 ? ops.slice(restart) : ops;
  const first = relevant[0];
  if (first === undefined) return { entries: 0, firstOffset: -1, rewrite: undefined };
  const { fs } = target;
  const firstOffset = first.kind === "restart" ? first.offset : lowestOffset(relevant);
  const outcome: ReplayOutcome = { entries: relevant.length, firstOffset, rewrite: undefined };
  const bases = fs.exists(target.dir) ? segmentBaseOffsets(fs.readdir(target.dir)) : [];
  if (first.kind === "restart" || bases.length === 0) {
    // Every segment file is written from the journal: a restart replaces them all; a partition without any gets them.
    const baseOffset = bases[0] ?? firstOffset;
    outcome.rewrite = { file: segmentPaths(target.dir, baseOffset).logPath, baseOffset, position: 0, offset: firstOffset };
    if (target.planning) return outcome;
  }
  fs.mkdirp(target.dir);
  let current: ReplaySegment;
  let repairing: boolean;
  if (first.kind === "restart") {
    for (const base of bases) removeSegmentFiles(fs, target.dir, base);
    current = newSegment(target, first.offset);
    repairing = true;
  } else {
    current = locate(target, firstOffset);
    repairing = false;
  }
  const written: ReplaySegment[] = [current];
  try {
    replayOps(target, relevant, written, outcome, repairing);
  } catch (error) {
    for (const segment of written) if (segment.fd >= 0) fs.close(segment.fd);
    throw error;
  }
  return outcome;
}

/**
 * Compares the entries with the files from `written[0]` on, and writes them
 * again from the first that differs. Planning, it goes on past that point
 * without writing (the segments it would write have no file, fd -1), so that
 * it refuses exactly where the replay would.
 */
function replayOps(target: ReplayContext, relevant: readonly JournalOp[], written: ReplaySegment[], outcome: ReplayOutcome, repairingFromStart: boolean): void {
  const { fs } = target;
  const first = relevant[0]!;
  let current = written[0]!;
  let repairing = repairingFromStart;
  // Records below the first segment left on disk were deleted from the front since (retention, DeleteRecords).
  const start = current.baseOffset;
  let from = first.kind === "restart" ? first.offset : -1;
  let replayed = 0;
  let appended = 0;
  const startRepair = () => {
    outcome.rewrite = { file: current.logPath, baseOffset: current.baseOffset, position: current.sizeBytes, offset: current.nextOffset };
    repairing = true;
    from = current.nextOffset;
    if (target.planning) return;
    // From here the files are not trusted: cut where the entries stop matching, and write them again.
    for (const base of segmentBaseOffsets(fs.readdir(target.dir))) if (base > current.baseOffset) removeSegmentFiles(fs, target.dir, base);
    removeIndexFiles(fs, segmentPaths(target.dir, current.baseOffset).indexPath);
    fs.truncate(current.fd, current.sizeBytes);
  };
  for (const op of relevant) {
    if (op.kind !== "forget" && op.kind !== "restart" && op.offset < start) {
      if (op.kind === "append" && op.nextOffset <= start) continue;
      throw corrupt(target, current.logPath, 0, op.offset, `the commit journal names offset ${op.offset}, below the log's first segment at ${start}`);
    }
    if (op.kind === "append") {
      const logEnd = current.nextOffset;
      if (op.offset < logEnd) {
        if (!repairing) startRepair();
        current = truncateTo(target, written, op.offset);
      } else if (op.offset > logEnd) {
        if (repairing) {
          throw corrupt(target, current.logPath, current.sizeBytes, op.offset, `the commit journal continues the log at offset ${op.offset} but it ends at ${logEnd}`);
        }
        // Rounds the partition fdatasync'ed itself lie between: durable, they must be whole.
        current = skipTo(target, written, current, op.offset);
        if (current.nextOffset !== op.offset) {
          throw corrupt(target, current.logPath, current.sizeBytes, op.offset, `offset ${op.offset}, where the commit journal continues the log, lies inside a batch`);
        }
      }
      if (op.startsSegment && current.sizeBytes > 0) {
        current = repairing ? newSegment(target, op.offset) : nextSegment(target, op.offset);
        written.push(current);
      }
      if (!repairing && !matches(fs, current, op.frames)) startRepair();
      if (repairing) {
        if (!target.planning) fs.write(current.fd, op.frames, current.sizeBytes);
        replayed++;
        appended += op.nextOffset - op.offset;
      }
      for (const [baseOffset, position] of batchesOf(op.frames)) current.batches.push([baseOffset, current.sizeBytes + position]);
      current.sizeBytes += op.frames.length;
      current.nextOffset = op.nextOffset;
    } else if (op.kind === "truncate") {
      if (!repairing) startRepair();
      replayed++;
      if (op.offset < current.nextOffset) current = truncateTo(target, written, op.offset);
    } else if (op.kind === "restart" && op !== first) {
      throw new Error("replay sees only the records after the last restart");
    }
  }
  for (const segment of written.splice(0)) {
    if (segment.fd < 0) continue;
    if (repairing && !target.planning) {
      if (segment === current) fs.truncate(segment.fd, segment.sizeBytes);
      fs.fdatasyncSync(segment.fd);
    }
    fs.close(segment.fd);
  }
  if (!repairing || target.planning) return;
  fs.syncDirectorySync(target.dir);
  target.logger.warn(`partition ${target.name}: replayed ${replayed} commit-journal entries holding ${appended} records from offset ${from}`);
}

/** The bytes at the segment's position are exactly `frames`. */
function matches(fs: FileSystem, segment: ReplaySegment, frames: Uint8Array): boolean {
  if (segment.fd < 0) return false; // planning: a segment file the replay would create
  const found = new Uint8Array(frames.length);
  const read = fs.read(segment.fd, found, 0, frames.length, segment.sizeBytes);
  return read === frames.length && Buffer.compare(found, frames) === 0;
}

/**
 * While matching: walks the frames from the segment's position up to
 * `offset` (each checked), into the next segment files where the partition
 * rolled; they were fdatasync'ed by the partition before it acknowledged
 * them, so a frame that fails, or a log that ends first, is corruption.
 */
function skipTo(target: ReplayContext, written: ReplaySegment[], start: ReplaySegment, offset: number): ReplaySegment {
  const { fs } = target;
  let segment = start;
  let reader = new SegmentReader(fs, segment.fd, fs.sizeOf(segment.fd));
  while (segment.nextOffset < offset) {
    if (segment.sizeBytes >= reader.endPosition) {
      const { logPath } = segmentPaths(target.dir, segment.nextOffset);
      if (!fs.exists(logPath)) {
        throw corrupt(target, segment.logPath, segment.sizeBytes, segment.nextOffset, `the log ends at offset ${segment.nextOffset} but the commit journal continues it at ${offset}`);
      }
      segment = { baseOffset: segment.nextOffset, logPath, fd: target.open(logPath), sizeBytes: 0, nextOffset: segment.nextOffset, batches: [] };
      written.push(segment);
      reader = new SegmentReader(fs, segment.fd, fs.sizeOf(segment.fd));
      continue;
    }
    const frame = checkFrame(reader, segment.sizeBytes);
    if (!frame.ok || frame.baseOffset !== segment.nextOffset) {
      const reason = frame.ok ? `a frame begins at offset ${frame.baseOffset}, expected ${segment.nextOffset}` : frame.reason;
      throw corrupt(target, segment.logPath, segment.sizeBytes, segment.nextOffset, `${reason}, below offset ${offset} which the partition had fdatasync'ed`);
    }
    segment.batches.push([frame.baseOffset, segment.sizeBytes]);
    segment.sizeBytes += FRAME_HEADER_BYTES + frame.batchBytes;
    segment.nextOffset = frame.baseOffset + frame.lastOffsetDelta + 1;
  }
  return segment;
}

/** While matching: the next segment file the partition rolled to, when it is on disk; an empty one otherwise. */
function nextSegment(target: ReplayContext, baseOffset: number): ReplaySegment {
  const { logPath } = segmentPaths(target.dir, baseOffset);
  if (!target.fs.exists(logPath)) return newSegment(target, baseOffset);
  return { baseOffset, logPath, fd: target.open(logPath), sizeBytes: 0, nextOffset: baseOffset, batches: [] };
}

/** The lowest offset the records name: below it the segment files are durable. */
function lowestOffset(ops: readonly JournalOp[]): number {
  let lowest = Number.MAX_SAFE_INTEGER;
  for (const op of ops) if (op.kind !== "forget") lowest = Math.min(lowest, op.offset);
  return lowest;
}

/**
 * Finds where `offset` lies in the segment files, reading nothing past it:
 * the segment holding it is walked frame by frame up to it (each checked).
 * When the segments at or below `offset` were deleted from the front since
 * (retention, DeleteRecords), it starts at the first segment left:
 * everything from there is in the journal. A log with no segment at all
 * starts again with an empty one at `offset`.
 */
function locate(target: ReplayContext, wanted: number): ReplaySegment {
  const { fs, dir } = target;
  const bases = segmentBaseOffsets(fs.readdir(dir));
  const offset = bases.length > 0 ? Math.max(wanted, bases[0]!) : wanted;
  const holding = bases.filter((base) => base <= offset).at(-1);
  if (holding === undefined) {
    for (const base of bases) removeSegmentFiles(fs, dir, base);
    return newSegment(target, offset);
  }
  const { logPath } = segmentPaths(dir, holding);
  const fd = target.open(logPath);
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
function truncateTo(target: ReplayContext, written: ReplaySegment[], offset: number): ReplaySegment {
  while (written.length > 1 && written.at(-1)!.baseOffset > offset) {
    const dropped = written.pop()!;
    if (dropped.fd >= 0) target.fs.close(dropped.fd);
    if (!target.planning) removeSegmentFiles(target.fs, target.dir, dropped.baseOffset);
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

function newSegment(target: ReplayContext, baseOffset: number): ReplaySegment {
  const { logPath, indexPath } = segmentPaths(target.dir, baseOffset);
  if (target.planning) return { baseOffset, logPath, fd: -1, sizeBytes: 0, batches: [], nextOffset: baseOffset };
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
    { details: { file, position, offset, reason } },
  );
}

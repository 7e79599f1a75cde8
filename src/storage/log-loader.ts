import type { FileSystem } from "./file-system.ts";
import type { JournalOp } from "./journal-record.ts";
import { replayJournal } from "./journal-replay.ts";
import { finishSwaps } from "./segment-swap.ts";
import { LeaderEpochCache } from "./leader-epoch-cache.ts";
import type { Segment } from "./segment.ts";
import { loadSegments, type SegmentFiles } from "./segment-loader.ts";

/**
 * Loading and recovery of a partition's log (as Kafka's LogLoader): the
 * segment files are opened and checked (src/storage/segment-loader.ts: a torn
 * tail of the active segment is cut and the bytes dropped are logged, unless
 * the last stop was clean; damage anywhere else throws GafkaError
 * `log_corrupt`), then the leader-epoch checkpoint is read and clamped to the
 * log's end. The same path serves a start and a reopen after a failed write
 * or fsync; a reopen first cuts what lay past the last good fdatasync
 * (cutFile), since it was never acknowledged.
 */
export interface LoadedLog {
  /** In offset order, never empty: the last is the active segment. */
  segments: Segment[];
  epochs: LeaderEpochCache;
}

export function loadLog(files: SegmentFiles, journalOps?: readonly JournalOp[]): LoadedLog {
  if (journalOps !== undefined) {
    // The commit journal's records from the last run are written back first (journal-replay.ts), after
    // a compaction's interrupted swap is settled so that replay sees the segments as they stand.
    finishSwaps(files);
    replayJournal(files, journalOps);
  }
  const segments = loadSegments(files);
  try {
    const epochs = LeaderEpochCache.load(files.dir, files.fs);
    epochs.clampTo(segments[segments.length - 1]!.nextOffset);
    return { segments, epochs };
  } catch (error) {
    for (const segment of segments) segment.close();
    throw error;
  }
}

/** Cuts the file at `logPath` to `position` and makes the cut durable. */
export function cutFile(fs: FileSystem, logPath: string, position: number): void {
  const fd = fs.openReadWrite(logPath);
  try {
    fs.truncate(fd, position);
    fs.fdatasyncSync(fd);
  } finally {
    fs.close(fd);
  }
}

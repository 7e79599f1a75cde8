import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import type { HighWatermark } from "./high-watermark.ts";
import type { LeaderEpochCache } from "./leader-epoch-cache.ts";
import type { LogReads } from "./log-reads.ts";
import type { LogSegments } from "./log-segments.ts";
import type { AppendResult } from "./log-types.ts";
import type { LogWriter } from "./log-writer.ts";

/** The parts of a partition log a truncation changes. */
export interface TruncatedParts {
  readonly segments: LogSegments;
  readonly fs: FileSystem;
  readonly reads: LogReads;
  readonly writer: LogWriter<AppendResult>;
  readonly watermark: HighWatermark;
  readonly leaderEpochs: LeaderEpochCache;
}

/**
 * Cuts a partition's log back to `offset` (a batch boundary, at or above the
 * log start, below the log end), for PartitionLog.truncateTo once in-flight
 * writes have settled: the segments wholly past it are deleted with their
 * indexes, the one holding it is cut and fdatasync'ed (with its directory),
 * and the writer, the high watermark and the leader epochs forget what lay
 * past it. Durable when it returns.
 */
export function cutLogAt(parts: TruncatedParts, where: { dir: string; name: string; indexIntervalBytes: number; logger: Logger }, offset: number): void {
  const { segments, fs, reads, writer } = parts;
  let keep = segments.indexOf(offset);
  if (keep > 0 && segments.at(keep)!.baseOffset === offset) keep--;
  for (const segment of segments.removeAfter(keep)) {
    segment.close();
    fs.removeRecursive(segment.logPath);
    fs.removeRecursive(segment.indexPath);
    fs.removeRecursive(segment.timeIndexPath);
  }
  const segment = segments.active;
  const position = offset === segment.nextOffset ? segment.sizeBytes : reads.batchStartPosition(segment, offset);
  fs.truncate(segment.fd, position);
  fs.fdatasyncSync(segment.fd);
  fs.syncDirectorySync(where.dir);
  where.logger.warn(`partition ${where.name}: truncated from offset ${offset} (file ${segment.logPath} cut at position ${position})`);
  segment.truncated(position, offset, where.indexIntervalBytes);
  writer.durablePosition = position;
  writer.intervalSyncedOffset = Math.min(writer.intervalSyncedOffset, offset);
  segments.recount();
  parts.watermark.truncateTo(offset);
  parts.leaderEpochs.truncateFromEnd(offset);
}

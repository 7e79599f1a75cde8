import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { DescriptorPool } from "./descriptor-pool.ts";
import type { FileSystem } from "./file-system.ts";
import type { FsyncPolicy } from "./fsync-policy.ts";
import type { JournalLink } from "./commit-journal.ts";
import type { JournalOp } from "./journal-record.ts";
import type { SegmentFiles } from "./segment-loader.ts";

/** How a PartitionLog (src/storage/partition-log.ts) is opened: its directory, its seams and its policies. */
export interface PartitionLogOptions {
  /** The partition's directory; created when missing. */
  dir: string;
  /** For messages, e.g. "orders-3". */
  name: string;
  fs: FileSystem;
  /**
   * The broker's pool of segment-file descriptors (src/storage/descriptor-pool.ts),
   * over `fs`. Absent: the log keeps a pool of its own.
   */
  descriptorPool?: DescriptorPool;
  clock: Clock;
  logger: Logger;
  fsyncPolicy: FsyncPolicy;
  segmentBytesMax: number;
  indexIntervalBytes?: number;
  /**
   * The data dir held the clean-shutdown marker (src/storage/clean-shutdown-marker.ts):
   * every log was closed and fdatasync'ed, so a damaged last frame is
   * corruption and the log is refused rather than cut. Opening only; a
   * reopen after a failed write or fsync allows a torn tail again.
   */
  afterCleanShutdown?: boolean;
  /**
   * The shared commit journal (src/storage/commit-journal.ts), under `always`:
   * commits go through it rather than fdatasync'ing the segment each time.
   */
  journal?: JournalLink;
  /** The journal's records for this partition from the last run, replayed into its files before it loads (src/storage/journal-replay.ts). */
  journalOps?: readonly JournalOp[];
  /** The leader epoch stamped into each batch append() writes; -1 (no epoch) when absent. */
  leaderEpoch?: () => number;
  /**
   * Called after every successful fdatasync of appended records (group commit
   * and the interval sync): how long it took, and how many records and bytes
   * it made durable. For metrics; must not throw.
   */
  onFsync?: (durationSeconds: number, records: number, bytes: number) => void;
  /** Called after the active segment rolled (a new one begins): delete retention looks at the partition then. Must not throw. */
  onRoll?: () => void;
  /**
   * Called when the partition holds retention.bytes without its oldest
   * segment (src/storage/retention-check.ts): delete retention should make a
   * pass. Called from an append, so it only schedules one; must not throw.
   */
  onRetentionDue?: () => void;
}

/** What opening and creating a log's segment files needs (src/storage/segment-loader.ts). */
export function segmentFilesOf(
  options: PartitionLogOptions,
  pooled: { pool: DescriptorPool; onSyncFailed: (filePath: string, error: unknown) => void },
  indexIntervalBytes: number,
  afterCleanShutdown: boolean,
): SegmentFiles {
  const { logger, dir, name } = options;
  return { fs: pooled.pool.fs, pool: pooled.pool, onSyncFailed: pooled.onSyncFailed, logger, dir, name, indexIntervalBytes, afterCleanShutdown };
}

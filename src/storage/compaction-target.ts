import type { LogSegments } from "./log-segments.ts";
import type { OffsetIndex } from "./offset-index.ts";
import { Segment } from "./segment.ts";
import { pooledSegmentFile, type SegmentFiles, writeIndexFile } from "./segment-loader.ts";
import { swapCleanedSegment } from "./segment-swap.ts";

/** What a partition log lends its cleaner (PartitionLog.compactionTarget). */
export interface CompactionTargetContext {
  files(): SegmentFiles;
  segments: LogSegments;
  highWatermark(): number;
  /** Open, online, not closed: a swap may go ahead. */
  serving(): boolean;
}

/**
 * The log cleaner's view of one partition log (src/storage/log-compactor.ts):
 * the sealed segments it may read, and the swap of one of them for its
 * cleaned copy, on disk (src/storage/segment-swap.ts) and in the segment list
 * at once. The swap is synchronous from its check to the list's change, so
 * no read runs in between: a read before it reads the old segment's file
 * (its descriptor is open until the swap), a read after it the new one; both
 * hold the same offsets with the same live records.
 */
export class CompactionTarget {
  constructor(private readonly context: CompactionTargetContext) {}

  get files(): SegmentFiles {
    return this.context.files();
  }

  /**
   * Sealed segments, oldest first, up to the first that reaches past the high
   * watermark: a pass never touches the active segment, nor records not yet
   * acknowledged (a follower may still cut those back).
   */
  sealedSegments(): Segment[] {
    if (!this.context.serving()) return [];
    const all = this.context.segments.all;
    const highWatermark = this.context.highWatermark();
    const sealed: Segment[] = [];
    for (let index = 0; index < all.length - 1; index++) {
      const segment = all[index]!;
      if (segment.nextOffset > highWatermark) break;
      sealed.push(segment);
    }
    return sealed;
  }

  /**
   * For a pass the leader decided (src/broker/replicated-passes.ts): the
   * sealed segments below `endOffset`, oldest first, whatever this log's high
   * watermark (the leader's pass covered only acknowledged offsets).
   * Undefined while this log has not yet sealed a segment ending exactly
   * there; empty when its log starts at or past it.
   */
  segmentsBelow(endOffset: number): Segment[] | undefined {
    if (!this.context.serving()) return undefined;
    const all = this.context.segments.all;
    const below: Segment[] = [];
    for (let index = 0; index < all.length - 1; index++) {
      const segment = all[index]!;
      if (segment.nextOffset > endOffset) break;
      below.push(segment);
    }
    if (below.length === 0) return all[0] !== undefined && all[0].baseOffset >= endOffset ? below : undefined;
    return below[below.length - 1]!.nextOffset === endOffset ? below : undefined;
  }

  /** Whether `segment` is still one of the log's sealed segments (the log was not reopened, truncated or trimmed meanwhile). */
  holds(segment: Segment): boolean {
    const all = this.context.segments.all;
    return this.context.serving() && all.includes(segment) && segment !== all[all.length - 1];
  }

  /**
   * Puts the cleaned copy written to `<base>.log.cleaned` (open as `cleanedFd`,
   * `sizeBytes` long, indexed by `index`) in place of `old`: the rename steps
   * of the swap, then the segment list, then the descriptors are closed (the
   * copy is opened again through the pool) and the new index written. False, with nothing done, when the log no longer
   * holds `old`; throws when a file step fails (the `.swap` file, if there is
   * one by then, is finished by the next start).
   */
  swap(old: Segment, cleanedFd: number, sizeBytes: number, index: OffsetIndex): boolean {
    if (!this.holds(old)) return false;
    const files = this.context.files();
    swapCleanedSegment(files, old.baseOffset);
    const replacement = new Segment(old.baseOffset, old.logPath, old.indexPath, pooledSegmentFile(files, old.logPath), sizeBytes, old.nextOffset, index, files.indexIntervalBytes);
    this.context.segments.swap(old, replacement);
    // The copy is opened again through the pool when used (it was fdatasync'ed: nothing to sync before this close).
    closeQuietly(files, cleanedFd);
    // The old file is deleted already; its descriptor goes.
    old.close();
    writeIndexFile(files, replacement);
    return true;
  }
}

function closeQuietly(files: SegmentFiles, fd: number): void {
  try {
    files.fs.close(fd);
  } catch {
    // The descriptor is gone either way.
  }
}

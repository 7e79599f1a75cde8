import * as path from "node:path";
import { assert } from "../core/assert.ts";
import type { PooledFile } from "./descriptor-pool.ts";
import type { OffsetIndex } from "./offset-index.ts";
import { TimeIndex } from "./time-index.ts";

/**
 * One file of a partition's log: `<baseOffset, 20 digits>.log`, a sequence of
 * frames (src/storage/frame.ts) holding offsets [baseOffset, nextOffset).
 * Its sparse indexes sit beside it as `<baseOffset>.index` and
 * `<baseOffset>.timeindex` once sealed.
 *
 * The file is opened through the broker's descriptor pool
 * (src/storage/descriptor-pool.ts) when it is used, not for the segment's
 * life. A sealed segment found at start is not read then: its indexes are
 * read and checked against the log on their first use (`deferIndexes`).
 */
export class Segment {
  /** Bytes written since the last index entry; an entry is added past the interval. */
  bytesSinceIndexEntry = 0;
  private offsetIndex: OffsetIndex;
  /**
   * Beside the offset index, one entry for each of its entries (src/storage/time-index.ts).
   * Derived from the file; replaced with the offset index (replaceIndex) or on load.
   */
  private timeIndexOf = new TimeIndex();
  /**
   * The largest batch maxTimestamp in the segment, -1 when empty: exact once
   * loaded and as batches are appended; after a truncation (only ever of the
   * active segment) it may stay above what is left, an upper bound, which a
   * lookup by time tolerates (it goes on to the next segment).
   */
  private largestTimestampMs = -1;
  /** Reads and checks the indexes on their first use; undefined once they are in memory. */
  private loadIndexes: ((segment: Segment) => void) | undefined;

  constructor(
    readonly baseOffset: number,
    readonly logPath: string,
    readonly indexPath: string,
    /** The log file, opened through the descriptor pool while it is used. */
    readonly file: PooledFile,
    /** Bytes of whole frames in the file (the write position). */
    public sizeBytes: number,
    /** One past the last offset held. */
    public nextOffset: number,
    /** Derived from the file; replaced when found out of step with it (replaceIndex). */
    index: OffsetIndex,
    indexIntervalBytes: number,
  ) {
    this.offsetIndex = index;
    this.countSinceIndexEntry(indexIntervalBytes);
  }

  /** The log file's descriptor, opened (through the pool) if it is not open: use it at once. */
  get fd(): number {
    return this.file.fd;
  }

  /**
   * The indexes are not read now but by `load` on their first use (it sets
   * them with replaceIndex, or throws GafkaError log_corrupt when the log is
   * damaged, and then runs again on the next use).
   */
  deferIndexes(load: (segment: Segment) => void): void {
    this.loadIndexes = load;
  }

  /** Whether the indexes are in memory (a sealed segment's are read on their first use). */
  get indexesLoaded(): boolean {
    return this.loadIndexes === undefined;
  }

  get index(): OffsetIndex {
    this.ensureIndexes();
    return this.offsetIndex;
  }

  get timeIndex(): TimeIndex {
    this.ensureIndexes();
    return this.timeIndexOf;
  }

  set timeIndex(timeIndex: TimeIndex) {
    this.timeIndexOf = timeIndex;
  }

  get maxTimestampMs(): number {
    this.ensureIndexes();
    return this.largestTimestampMs;
  }

  set maxTimestampMs(timestampMs: number) {
    this.largestTimestampMs = timestampMs;
  }

  /** The time index's file: `<baseOffset>.timeindex` beside the offset index. */
  get timeIndexPath(): string {
    return timeIndexPathOf(this.indexPath);
  }

  /** Closes the file's descriptor for good (the segment left the log, or the log closes). */
  close(): void {
    this.file.close();
  }

  private ensureIndexes(): void {
    const load = this.loadIndexes;
    if (load === undefined) return;
    this.loadIndexes = undefined;
    try {
      load(this);
    } catch (error) {
      this.loadIndexes = load;
      throw error;
    }
  }

  private countSinceIndexEntry(indexIntervalBytes: number): void {
    const last = this.offsetIndex.lastPosition;
    this.bytesSinceIndexEntry = last < 0 ? indexIntervalBytes : this.sizeBytes - last;
  }

  /**
   * Records that the frame of `frameBytes` at the end of the file holds
   * [baseOffset, nextOffset) in a batch whose maxTimestamp is `maxTimestampMs`.
   */
  appended(baseOffset: number, nextOffset: number, frameBytes: number, indexIntervalBytes: number, maxTimestampMs: number): void {
    assert(baseOffset >= this.nextOffset && nextOffset > baseOffset, `offsets grow on append: [${baseOffset}, ${nextOffset}) after ${this.nextOffset}`);
    assert(frameBytes > 0, "a frame has bytes");
    if (maxTimestampMs > this.maxTimestampMs) this.maxTimestampMs = maxTimestampMs;
    if (this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.index.append(baseOffset - this.baseOffset, this.sizeBytes);
      this.timeIndex.append(this.maxTimestampMs, baseOffset - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    this.sizeBytes += frameBytes;
    this.bytesSinceIndexEntry += frameBytes;
    this.nextOffset = nextOffset;
  }

  /**
   * Takes the indexes rebuilt from a scan of the file in place of the ones
   * found wrong. The largest timestamp only grows: a scan of an active
   * segment sees only what is written, not the frames still waiting for the
   * turn's write.
   */
  replaceIndex(index: OffsetIndex, indexIntervalBytes: number, timeIndex: TimeIndex, maxTimestampMs: number): void {
    this.offsetIndex = index;
    this.timeIndexOf = timeIndex;
    this.largestTimestampMs = Math.max(this.largestTimestampMs, maxTimestampMs);
    this.countSinceIndexEntry(indexIntervalBytes);
  }

  /** Records that the file was cut at `position`, which now ends at offset `nextOffset`. */
  truncated(position: number, nextOffset: number, indexIntervalBytes: number): void {
    this.index.truncateToPosition(position);
    // In step with the offset index; the segment's largest timestamp stays as an upper bound.
    this.timeIndex.truncateTo(this.index.length);
    this.sizeBytes = position;
    this.nextOffset = nextOffset;
    this.countSinceIndexEntry(indexIntervalBytes);
  }
}

const SEGMENT_NAME = /^(\d{20})\.log$/;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, "0")}.log`;
}

export function segmentPaths(dir: string, baseOffset: number): { logPath: string; indexPath: string } {
  const name = segmentFileName(baseOffset);
  return { logPath: path.join(dir, name), indexPath: path.join(dir, name.replace(/\.log$/, ".index")) };
}

/** `<baseOffset>.timeindex` for the offset index file `<baseOffset>.index`. */
export function timeIndexPathOf(indexPath: string): string {
  return indexPath.replace(/\.index$/, ".timeindex");
}

/** Base offsets of the segment files among `fileNames`, ascending. */
export function segmentBaseOffsets(fileNames: string[]): number[] {
  const offsets: number[] = [];
  for (const name of fileNames) {
    const match = SEGMENT_NAME.exec(name);
    if (match) offsets.push(Number(match[1]));
  }
  return offsets.sort((a, b) => a - b);
}

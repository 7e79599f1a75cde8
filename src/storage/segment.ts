import * as path from "node:path";
import { assert } from "../core/assert.ts";
import type { OffsetIndex } from "./offset-index.ts";

/**
 * One file of a partition's log: `<baseOffset, 20 digits>.log`, a sequence of
 * frames (src/storage/frame.ts) holding offsets [baseOffset, nextOffset).
 * Its sparse index sits beside it as `<baseOffset>.index` once sealed.
 */
export class Segment {
  /** Bytes written since the last index entry; an entry is added past the interval. */
  bytesSinceIndexEntry: number;

  constructor(
    readonly baseOffset: number,
    readonly logPath: string,
    readonly indexPath: string,
    /** Open read-write for the segment's life. */
    readonly fd: number,
    /** Bytes of whole frames in the file (the write position). */
    public sizeBytes: number,
    /** One past the last offset held. */
    public nextOffset: number,
    /** Derived from the file; replaced when found out of step with it (replaceIndex). */
    public index: OffsetIndex,
    indexIntervalBytes: number,
  ) {
    const last = index.lastPosition;
    this.bytesSinceIndexEntry = last < 0 ? indexIntervalBytes : sizeBytes - last;
  }

  /** Records that the frame of `frameBytes` at the end of the file holds [baseOffset, nextOffset). */
  appended(baseOffset: number, nextOffset: number, frameBytes: number, indexIntervalBytes: number): void {
    assert(baseOffset >= this.nextOffset && nextOffset > baseOffset, `offsets grow on append: [${baseOffset}, ${nextOffset}) after ${this.nextOffset}`);
    assert(frameBytes > 0, "a frame has bytes");
    if (this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.index.append(baseOffset - this.baseOffset, this.sizeBytes);
      this.bytesSinceIndexEntry = 0;
    }
    this.sizeBytes += frameBytes;
    this.bytesSinceIndexEntry += frameBytes;
    this.nextOffset = nextOffset;
  }

  /** Takes `index`, rebuilt from a scan of the file, in place of the one found wrong. */
  replaceIndex(index: OffsetIndex, indexIntervalBytes: number): void {
    this.index = index;
    const last = index.lastPosition;
    this.bytesSinceIndexEntry = last < 0 ? indexIntervalBytes : this.sizeBytes - last;
  }

  /** Records that the file was cut at `position`, which now ends at offset `nextOffset`. */
  truncated(position: number, nextOffset: number, indexIntervalBytes: number): void {
    this.index.truncateToPosition(position);
    this.sizeBytes = position;
    this.nextOffset = nextOffset;
    const last = this.index.lastPosition;
    this.bytesSinceIndexEntry = last < 0 ? indexIntervalBytes : position - last;
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

/** Base offsets of the segment files among `fileNames`, ascending. */
export function segmentBaseOffsets(fileNames: string[]): number[] {
  const offsets: number[] = [];
  for (const name of fileNames) {
    const match = SEGMENT_NAME.exec(name);
    if (match) offsets.push(Number(match[1]));
  }
  return offsets.sort((a, b) => a - b);
}

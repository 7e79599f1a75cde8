import { assert } from "../core/assert.ts";
import type { Segment } from "./segment.ts";

/**
 * A partition's segments in offset order (as Kafka's LogSegments): the last
 * is the active one, the only one appended to. Each segment's base offset is
 * the previous one's next offset (the loader refuses a gap), so a binary
 * search on base offsets finds the segment holding an offset.
 */
export class LogSegments {
  private list: Segment[] = [];
  /** Bytes of all segment files, counting appends not yet written. */
  totalBytes = 0;

  get length(): number {
    return this.list.length;
  }

  get all(): readonly Segment[] {
    return this.list;
  }

  at(index: number): Segment | undefined {
    return this.list[index];
  }

  /** The segment appended to; only while the log is open (there is always one then). */
  get active(): Segment {
    return this.list[this.list.length - 1]!;
  }

  get earliestOffset(): number {
    return this.list.length === 0 ? 0 : this.list[0]!.baseOffset;
  }

  /** Takes the segments found by loading; totalBytes is recounted. */
  replace(segments: Segment[]): void {
    this.list = segments;
    this.recount();
  }

  /** A new active segment, starting where the last one ends. */
  push(segment: Segment): void {
    const last = this.list[this.list.length - 1];
    assert(last === undefined || segment.baseOffset === last.nextOffset, "a new segment starts where the last one ends");
    this.list.push(segment);
  }

  /** Puts `replacement` (a compacted copy: same base and next offset) in place of `old`, in one step. */
  swap(old: Segment, replacement: Segment): void {
    const index = this.list.indexOf(old);
    assert(index >= 0 && index < this.list.length - 1, "only a sealed segment the log holds is swapped");
    assert(replacement.baseOffset === old.baseOffset && replacement.nextOffset === old.nextOffset, "a compacted segment covers the same offsets");
    this.list[index] = replacement;
    this.totalBytes += replacement.sizeBytes - old.sizeBytes;
  }

  /** Removes and returns the segments after index `keep`. */
  removeAfter(keep: number): Segment[] {
    return this.list.splice(keep + 1);
  }

  /** Removes and returns the first `count` segments (deleted from the front); never the active one. */
  removeFirst(count: number): Segment[] {
    assert(count < this.list.length, "the active segment is never deleted from the front");
    const removed = this.list.splice(0, count);
    this.recount();
    return removed;
  }

  recount(): void {
    this.totalBytes = this.list.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  }

  /** Index of the segment holding `offset` (the last one whose base is <= offset). */
  indexOf(offset: number): number {
    let low = 0;
    let high = this.list.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.list[middle]!.baseOffset <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** Closes every segment's file (best effort: the pool ignores a failed close) and forgets them. */
  closeAll(): void {
    for (const segment of this.list) segment.close();
    this.list = [];
  }
}

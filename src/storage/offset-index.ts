import { assert } from "../core/assert.ts";

/**
 * A segment's sparse offset index: one entry per `indexIntervalBytes` of log,
 * mapping a record batch's offset (relative to the segment's base offset) to
 * the byte position of its frame. A lookup finds the last entry at or before
 * an offset by binary search, and the reader scans forward from there: at
 * most one interval of frames.
 *
 * The index is derived, not a source of truth (as Kafka's OffsetIndex): the
 * active segment's index lives in memory and is rebuilt by the recovery scan;
 * a sealed segment's index is written to `<baseOffset>.index` when the segment
 * is sealed, without fsync, and is checked on load and rebuilt when it does
 * not make sense. On disk: entries of 8 bytes, relativeOffset uint32 BE then
 * position uint32 BE, both strictly increasing.
 */
export const INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private relativeOffsets: Uint32Array;
  private positions: Uint32Array;
  private entryCount = 0;

  constructor(capacity = 64) {
    this.relativeOffsets = new Uint32Array(capacity);
    this.positions = new Uint32Array(capacity);
  }

  get length(): number {
    return this.entryCount;
  }

  get lastPosition(): number {
    return this.entryCount === 0 ? -1 : this.positions[this.entryCount - 1]!;
  }

  /** Offset (relative to the segment's base) of the last entry; -1 when empty. */
  get lastRelativeOffset(): number {
    return this.entryCount === 0 ? -1 : this.relativeOffsets[this.entryCount - 1]!;
  }

  relativeOffsetAt(entry: number): number {
    return this.relativeOffsets[entry]!;
  }

  /** Adds an entry; both fields must grow (the log only appends). */
  append(relativeOffset: number, position: number): void {
    const last = this.entryCount - 1;
    assert(
      last < 0 || (relativeOffset > this.relativeOffsets[last]! && position > this.positions[last]!),
      `index entries must grow: (${relativeOffset}, ${position}) after entry ${last}`,
    );
    assert(relativeOffset >= 0 && position >= 0, `index entries are not negative: (${relativeOffset}, ${position})`);
    if (this.entryCount === this.relativeOffsets.length) this.grow();
    this.relativeOffsets[this.entryCount] = relativeOffset;
    this.positions[this.entryCount] = position;
    this.entryCount++;
  }

  /** Position of the last indexed frame whose offset is <= relativeOffset, or 0. */
  lookup(relativeOffset: number): number {
    return this.entryAtOrBefore(relativeOffset)?.position ?? 0;
  }

  /** The last entry whose offset is <= relativeOffset; undefined when there is none. */
  entryAtOrBefore(relativeOffset: number): { relativeOffset: number; position: number } | undefined {
    let low = 0;
    let high = this.entryCount - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.relativeOffsets[middle]! <= relativeOffset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? undefined : { relativeOffset: this.relativeOffsets[found]!, position: this.positions[found]! };
  }

  /** Drops entries at or past a byte position (after a truncation). */
  truncateToPosition(position: number): void {
    while (this.entryCount > 0 && this.positions[this.entryCount - 1]! >= position) this.entryCount--;
  }

  serialize(): Uint8Array {
    const bytes = new Uint8Array(this.entryCount * INDEX_ENTRY_BYTES);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.entryCount; i++) {
      view.setUint32(i * INDEX_ENTRY_BYTES, this.relativeOffsets[i]!);
      view.setUint32(i * INDEX_ENTRY_BYTES + 4, this.positions[i]!);
    }
    return bytes;
  }

  /**
   * Parses an index file; returns undefined when it does not make sense for a
   * segment of `segmentBytes` (torn, not increasing, pointing past the end).
   */
  static parse(bytes: Uint8Array, segmentBytes: number): OffsetIndex | undefined {
    if (bytes.length % INDEX_ENTRY_BYTES !== 0) return undefined;
    const count = bytes.length / INDEX_ENTRY_BYTES;
    const index = new OffsetIndex(Math.max(count, 64));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < count; i++) {
      const relativeOffset = view.getUint32(i * INDEX_ENTRY_BYTES);
      const position = view.getUint32(i * INDEX_ENTRY_BYTES + 4);
      if (position >= segmentBytes) return undefined;
      if (i > 0 && (relativeOffset <= index.relativeOffsets[i - 1]! || position <= index.positions[i - 1]!)) {
        return undefined;
      }
      index.relativeOffsets[i] = relativeOffset;
      index.positions[i] = position;
      index.entryCount++;
    }
    return index;
  }

  private grow(): void {
    const capacity = this.relativeOffsets.length * 2;
    const offsets = new Uint32Array(capacity);
    const positions = new Uint32Array(capacity);
    offsets.set(this.relativeOffsets);
    positions.set(this.positions);
    this.relativeOffsets = offsets;
    this.positions = positions;
  }
}

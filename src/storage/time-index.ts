import { assert } from "../core/assert.ts";

/**
 * A segment's sparse time index (Kafka's `.timeindex`): one entry beside
 * each entry of the offset index (src/storage/offset-index.ts, the same
 * frames, one per `indexIntervalBytes` of log), holding the largest batch
 * maxTimestamp of the segment up to and including the batch the entry names,
 * and that batch's offset relative to the segment's base. The timestamp is a
 * running maximum, so it never decreases even when producers' clocks go
 * backwards between batches, and a binary search on it finds where the first
 * batch with maxTimestamp >= t can be: after the last entry whose running
 * maximum is < t (every batch up to that entry is older), and no later than
 * the entry after it.
 *
 * Derived, never a source of truth: the active segment's time index lives in
 * memory and is rebuilt by the recovery scan; a sealed segment's is written
 * to `<baseOffset>.timeindex` when the segment is sealed, without fsync, and
 * is checked on load (against the offset index and the frames) and rebuilt
 * from the frames when it is missing, short or does not make sense. On disk:
 * entries of 12 bytes, maxTimestampMs int64 BE (non-decreasing) then
 * relativeOffset uint32 BE (strictly increasing).
 */
export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private timestampsMs: Float64Array;
  private relativeOffsets: Uint32Array;
  private entryCount = 0;

  constructor(capacity = 64) {
    this.timestampsMs = new Float64Array(capacity);
    this.relativeOffsets = new Uint32Array(capacity);
  }

  get length(): number {
    return this.entryCount;
  }

  /** The running maximum at the last entry; -1 when empty. */
  get lastTimestampMs(): number {
    return this.entryCount === 0 ? -1 : this.timestampsMs[this.entryCount - 1]!;
  }

  relativeOffsetAt(entry: number): number {
    return this.relativeOffsets[entry]!;
  }

  timestampMsAt(entry: number): number {
    return this.timestampsMs[entry]!;
  }

  /** Adds an entry: the offset grows, the running maximum does not fall (the log only appends). */
  append(maxTimestampMs: number, relativeOffset: number): void {
    const last = this.entryCount - 1;
    const grows = relativeOffset >= 0 && (last < 0 || (relativeOffset > this.relativeOffsets[last]! && maxTimestampMs >= this.timestampsMs[last]!));
    // The message is built only on failure: this runs on the append path.
    if (!grows) assert(false, `time index entries must grow from 0: (${maxTimestampMs}, ${relativeOffset}) after entry ${last}`);
    if (this.entryCount === this.relativeOffsets.length) this.grow();
    this.timestampsMs[this.entryCount] = maxTimestampMs;
    this.relativeOffsets[this.entryCount] = relativeOffset;
    this.entryCount++;
  }

  /** The last entry whose running maximum is < timestampMs: -1 when there is none (start at the segment's first frame). */
  lastEntryBefore(timestampMs: number): number {
    let low = 0;
    let high = this.entryCount - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.timestampsMs[middle]! < timestampMs) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Keeps the first `count` entries (after a truncation, in step with the offset index). */
  truncateTo(count: number): void {
    this.entryCount = Math.min(this.entryCount, count);
  }

  /** True when its entries name exactly the offsets of `offsetsOf` (the offset index's entries), in order. */
  sameOffsetsAs(count: number, offsetAt: (entry: number) => number): boolean {
    if (count !== this.entryCount) return false;
    for (let i = 0; i < count; i++) if (offsetAt(i) !== this.relativeOffsets[i]) return false;
    return true;
  }

  serialize(): Uint8Array {
    const bytes = new Uint8Array(this.entryCount * TIME_INDEX_ENTRY_BYTES);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.entryCount; i++) {
      view.setBigInt64(i * TIME_INDEX_ENTRY_BYTES, BigInt(this.timestampsMs[i]!));
      view.setUint32(i * TIME_INDEX_ENTRY_BYTES + 8, this.relativeOffsets[i]!);
    }
    return bytes;
  }

  /**
   * Parses a time index file; undefined when it does not make sense for a
   * segment holding `offsetCount` offsets (torn, a timestamp outside
   * 0..2^53-1 or falling, an offset not growing or past the segment).
   */
  static parse(bytes: Uint8Array, offsetCount: number): TimeIndex | undefined {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return undefined;
    const count = bytes.length / TIME_INDEX_ENTRY_BYTES;
    const index = new TimeIndex(Math.max(count, 64));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < count; i++) {
      const timestamp = view.getBigInt64(i * TIME_INDEX_ENTRY_BYTES);
      const relativeOffset = view.getUint32(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (timestamp < 0n || timestamp > BigInt(Number.MAX_SAFE_INTEGER) || relativeOffset >= offsetCount) return undefined;
      const timestampMs = Number(timestamp);
      if (i > 0 && (relativeOffset <= index.relativeOffsets[i - 1]! || timestampMs < index.timestampsMs[i - 1]!)) return undefined;
      index.timestampsMs[i] = timestampMs;
      index.relativeOffsets[i] = relativeOffset;
      index.entryCount++;
    }
    return index;
  }

  private grow(): void {
    const capacity = this.relativeOffsets.length * 2;
    const timestamps = new Float64Array(capacity);
    const offsets = new Uint32Array(capacity);
    timestamps.set(this.timestampsMs);
    offsets.set(this.relativeOffsets);
    this.timestampsMs = timestamps;
    this.relativeOffsets = offsets;
  }
}

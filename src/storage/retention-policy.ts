import type { FileSystem } from "./file-system.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";
import { BATCH_HEADER_BYTES, readBatchHeader } from "../protocol/record-batch.ts";
import type { Segment } from "./segment.ts";
import { SegmentReader } from "./segment-reader.ts";

/** What delete retention keeps (a topic's retention.ms and retention.bytes; -1: no limit). */
export interface RetentionPolicy {
  retentionMs: number;
  retentionBytes: number;
}

/**
 * How many segments at the front of `segments` delete retention removes
 * (Kafka's deleteRetentionMsBreachedSegments and
 * deleteRetentionSizeBreachedSegments): each oldest sealed segment goes
 * while its newest record (its batches' largest max timestamp) is older than
 * retentionMs at `nowMs`, or while the partition would still hold at least
 * retentionBytes without it. So a partition stays below retention.bytes plus
 * one segment. The active (last) segment never goes, nor any after the first
 * that is kept: only a prefix is deleted, so the log stays contiguous.
 */
export function segmentsPastRetention(
  segments: readonly Segment[],
  totalBytes: number,
  policy: RetentionPolicy,
  nowMs: number,
  maxTimestampOf: (segment: Segment) => number,
): number {
  let count = 0;
  let remainingBytes = totalBytes;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    const overSize = policy.retentionBytes >= 0 && remainingBytes - segment.sizeBytes >= policy.retentionBytes;
    const tooOld = policy.retentionMs >= 0 && nowMs - maxTimestampOf(segment) > policy.retentionMs;
    if (!overSize && !tooOld) break;
    remainingBytes -= segment.sizeBytes;
    count++;
  }
  return count;
}

/**
 * The newest timestamp in a sealed segment: the largest maxTimestamp of its
 * batch headers, found by walking the frames (each header read, no batch
 * decoded) and remembered, since a sealed segment never changes. -1 when
 * it holds no batch.
 */
export class SegmentTimestamps {
  private readonly known = new WeakMap<Segment, number>();
  private readonly reader: SegmentReader;

  constructor(fs: FileSystem) {
    this.reader = new SegmentReader(fs, -1, 0);
  }

  maxTimestampOf(segment: Segment): number {
    const known = this.known.get(segment);
    if (known !== undefined) return known;
    this.reader.reset(segment.fd, segment.sizeBytes);
    let newest = -1;
    let position = 0;
    while (position < segment.sizeBytes) {
      const head = this.reader.peek(position, FRAME_HEADER_BYTES + BATCH_HEADER_BYTES);
      if (!head) break;
      const batchBytes = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
      newest = Math.max(newest, readBatchHeader(head, FRAME_HEADER_BYTES).maxTimestampMs);
      position += FRAME_HEADER_BYTES + batchBytes;
    }
    this.known.set(segment, newest);
    return newest;
  }
}

import { decodeRecordBatch } from "../protocol/record-batch.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";
import type { FrameStart } from "./index-lookup.ts";
import type { Segment } from "./segment.ts";
import type { SegmentReader } from "./segment-reader.ts";
import { corruptFrame, frameStepAt } from "./segment-read.ts";

/**
 * Finding the first offset by time in one segment (Kafka's ListOffsets by
 * timestamp): the first batch whose maxTimestamp is >= the time asked for,
 * then the first of its records at or after it. The time index
 * (src/storage/time-index.ts) says where to begin; the walk checks what the
 * index claims against the frames it passes, so a wrong index is found out
 * (and rebuilt by the caller) instead of trusted.
 */
export type TimeLookup =
  | { kind: "found"; offset: number }
  /** No batch of the segment reaches the time (below the high watermark): look in the next one. */
  | { kind: "none" }
  /** The index disagrees with the frames (why): rebuild it and look again. */
  | { kind: "inconsistent"; reason: string };

/** What the time index said: the entry a walk begins at or before, and the entry after it (which it must not walk past). */
export interface TimeIndexBounds {
  /** Offset of the last entry whose running maximum is < the time (-1: none, the walk begins at the segment's start). */
  entryOffset: number;
  entryMaxTimestampMs: number;
  /** Offset of the next entry (whose running maximum is >= the time); Infinity when there is none. */
  nextEntryOffset: number;
}

/**
 * Walks `segment`'s frames from `start` (a checked offset index entry at or
 * before `bounds.entryOffset`; the reader pointed at the segment's written
 * bytes). Every batch up to the entry's must be older than `timestampMs` and
 * the entry's batch must begin at its offset with a maxTimestamp no greater
 * than the entry's; the walk must find the batch by the next entry. Reading a
 * batch past the high watermark answers the high watermark. Damaged frames
 * throw `log_corrupt`, as a read of them does.
 */
export function lookUpTime(
  reader: SegmentReader,
  segment: Segment,
  partitionName: string,
  timestampMs: number,
  highWatermark: number,
  start: FrameStart,
  bounds: TimeIndexBounds,
): TimeLookup {
  let position = start.position;
  let expectedOffset = start.baseOffset;
  for (;;) {
    const step = frameStepAt(reader, position, expectedOffset);
    if (step.kind === "end") return { kind: "none" };
    if (step.kind === "damaged") throw corruptFrame(partitionName, segment, position, expectedOffset, step.reason);
    const { header, batchBytes } = step;
    if (header.baseOffset >= highWatermark) return { kind: "found", offset: highWatermark };
    if (header.baseOffset <= bounds.entryOffset) {
      if (header.maxTimestampMs >= timestampMs || header.maxTimestampMs > bounds.entryMaxTimestampMs) {
        return inconsistent(`the batch at offset ${header.baseOffset} has maxTimestamp ${header.maxTimestampMs}, above the entry's ${bounds.entryMaxTimestampMs}`);
      }
      const nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
      if (header.baseOffset < bounds.entryOffset && nextOffset > bounds.entryOffset) {
        return inconsistent(`the entry's offset ${bounds.entryOffset} lies inside the batch at ${header.baseOffset}`);
      }
    } else if (header.maxTimestampMs >= timestampMs) {
      const batch = reader.bytes(position + FRAME_HEADER_BYTES, batchBytes)!.slice();
      for (const record of decodeRecordBatch(batch).records) {
        if (record.timestampMs >= timestampMs && record.offset < highWatermark) return { kind: "found", offset: record.offset };
      }
    } else if (header.baseOffset >= bounds.nextEntryOffset) {
      return inconsistent(`no batch up to the entry at offset ${bounds.nextEntryOffset} reaches its running maximum`);
    }
    position += FRAME_HEADER_BYTES + batchBytes;
    expectedOffset = header.baseOffset + header.lastOffsetDelta + 1;
  }
}

function inconsistent(reason: string): TimeLookup {
  return { kind: "inconsistent", reason };
}

import { FRAME_HEADER_BYTES } from "./frame.ts";
import { BATCH_HEADER_BYTES } from "../protocol/record-batch.ts";
import type { Segment } from "./segment.ts";
import type { SegmentReader } from "./segment-reader.ts";
import { frameHeadAt } from "./segment-read.ts";

/**
 * Where a read of one segment starts: a frame boundary at or before the
 * offset asked for, and the offset that frame's batch begins at. Reads walk
 * forward from it frame by frame (src/storage/segment-read.ts).
 */
export interface FrameStart {
  position: number;
  baseOffset: number;
}

/**
 * The sparse index's entry for `offset` in `segment`, trusted only once the
 * log agrees with it: the frame at the entry's position must be whole within
 * what is written and hold a batch that begins at the entry's offset. The
 * index is derived data (src/storage/offset-index.ts) and a wrong entry would
 * skip records or stall a reader, so it is checked against the source of truth
 * on every use (one frame header, usually already in the reader's buffer).
 * Undefined when they disagree: the caller rebuilds the index from a scan.
 * The reader must point at the segment's file, ending at what is written; an
 * entry past that (a frame appended this turn) is nothing a read can reach yet.
 */
export function checkedIndexStart(reader: SegmentReader, segment: Segment, offset: number): FrameStart | undefined {
  const entry = segment.index.entryAtOrBefore(Math.max(0, offset - segment.baseOffset));
  if (entry === undefined) return { position: 0, baseOffset: segment.baseOffset };
  const baseOffset = segment.baseOffset + entry.relativeOffset;
  if (entry.position >= reader.endPosition) return { position: entry.position, baseOffset };
  const head = frameHeadAt(reader, entry.position, true);
  if (head === undefined || head.header.magic !== 2 || head.header.baseOffset !== baseOffset) return undefined;
  if (head.batchBytes < BATCH_HEADER_BYTES || entry.position + FRAME_HEADER_BYTES + head.batchBytes > reader.endPosition) return undefined;
  return { position: entry.position, baseOffset };
}

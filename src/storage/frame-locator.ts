import { GafkaError } from "../core/errors.ts";
import type { FileSystem } from "./file-system.ts";
import { checkFrames } from "./frame-chunk.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";
import { BATCH_HEADER_BYTES, readBatchHeader } from "../protocol/record-batch.ts";
import type { Segment } from "./segment.ts";
import type { SegmentReader } from "./segment-reader.ts";
import type { FrameStart } from "./index-lookup.ts";
import { corruptFrame, frameStepAt } from "./segment-read.ts";

/**
 * Finding and reading whole frames of one segment by offset, for
 * replication: where a batch lies (a follower's start, a truncation point)
 * and a run of stored frames, unchanged, for the leader to ship.
 */

/**
 * The frame of `segment` holding `offset`: its byte position and its batch's
 * base offset (the segment's end when beyond), walking from `start` (a checked
 * index entry; the reader pointed at the segment's written bytes). Frames that
 * do not follow on are `log_corrupt`.
 */
export function locateBatch(
  reader: SegmentReader,
  segment: Segment,
  offset: number,
  start: FrameStart,
  partitionName: string,
): { position: number; baseOffset: number } {
  let position = start.position;
  let expectedOffset = start.baseOffset;
  for (;;) {
    const step = frameStepAt(reader, position, expectedOffset);
    if (step.kind === "end" && expectedOffset >= segment.nextOffset) return { position, baseOffset: expectedOffset };
    if (step.kind !== "frame") {
      const reason = step.kind === "end" ? `the segment ends before offset ${expectedOffset}` : step.reason;
      throw corruptFrame(partitionName, segment, position, expectedOffset, reason);
    }
    const { header, batchBytes } = step;
    if (header.baseOffset + header.lastOffsetDelta >= offset) return { position, baseOffset: header.baseOffset };
    position += FRAME_HEADER_BYTES + batchBytes;
    expectedOffset = header.baseOffset + header.lastOffsetDelta + 1;
  }
}

/** The byte position of the frame whose batch begins at `offset`; invalid_request when `offset` lies inside a batch. */
export function batchStartPosition(reader: SegmentReader, segment: Segment, offset: number, start: FrameStart, partitionName: string): number {
  const found = locateBatch(reader, segment, offset, start, partitionName);
  if (found.baseOffset !== offset) {
    throw new GafkaError("invalid_request", `offset ${offset} is inside the batch at ${found.baseOffset} of partition ${partitionName}`);
  }
  return found.position;
}

/**
 * Whole frames of `segment` from the batch that begins at `offset`, below
 * `endOffset`, about `maxBytes` (at least one frame), read into a new buffer
 * and checked (CRC32, CRC-32C, offsets run on): log_corrupt when they fail.
 */
export function readFrameRun(
  fs: FileSystem,
  reader: SegmentReader,
  segment: Segment,
  offset: number,
  indexStart: FrameStart,
  endOffset: number,
  maxBytes: number,
  partitionName: string,
): { frames: Uint8Array; nextOffset: number; startsSegment: boolean } {
  const start = batchStartPosition(reader, segment, offset, indexStart, partitionName);
  let position = start;
  let nextOffset = offset;
  while (position < segment.sizeBytes && nextOffset < endOffset) {
    const head = reader.bytes(position, FRAME_HEADER_BYTES + BATCH_HEADER_BYTES);
    if (!head) break;
    const frameBytes = FRAME_HEADER_BYTES + new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
    if (position > start && position - start + frameBytes > maxBytes) break;
    const header = readBatchHeader(head, FRAME_HEADER_BYTES);
    nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    position += frameBytes;
  }
  const frames = new Uint8Array(position - start);
  for (let got = 0; got < frames.length; ) {
    const read = fs.read(segment.fd, frames, got, frames.length - got, start + got);
    if (read === 0) break;
    got += read;
  }
  try {
    checkFrames(frames, offset, partitionName);
  } catch (error) {
    throw new GafkaError("log_corrupt", `partition ${partitionName}: ${segment.logPath} at position ${start}: ${error instanceof Error ? error.message : error}`, {
      details: { file: segment.logPath, position: start, offset },
    });
  }
  return { frames, nextOffset, startsSegment: start === 0 };
}

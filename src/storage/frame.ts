/**
 * How a record batch sits in a segment file:
 *
 *   offset  size  field
 *   0       4     batchBytes  uint32 BE — length of the batch that follows
 *   4       4     checksum    uint32 BE — CRC32 (Bun.hash.crc32, IEEE) of the batch bytes
 *   8       n     batch       a Kafka RecordBatch v2, unchanged (src/protocol/record-batch.ts)
 *
 * The frame checksum covers the whole batch, including baseOffset and
 * partitionLeaderEpoch, which Kafka's own CRC-32C leaves out: a batch copied to
 * the wrong place or stamped with a stale epoch is caught too. Because the
 * batch bytes are Kafka's, a follower or a Kafka-protocol listener can ship
 * them without re-encoding.
 */
import { assert } from "../core/assert.ts";
import { readInt64 } from "../protocol/big-endian.ts";
import { type EncodeBatchOptions, encodeRecordBatch } from "../protocol/record-batch.ts";
import { MAX_TIMESTAMP_POSITION } from "../protocol/record-batch-header.ts";

export const FRAME_HEADER_BYTES = 8;

export function frameChecksum(batch: Uint8Array): number {
  return Bun.hash.crc32(batch) >>> 0;
}

/**
 * Encodes the records as one batch straight into its frame: the batch is
 * written once, after room left for the header (encodeRecordBatch's
 * prefixBytes), and the header is filled in place, so no byte of the batch
 * is copied. Same bytes as encodeFrame(encodeRecordBatch(options)).
 */
export function encodeBatchFrame(options: Omit<EncodeBatchOptions, "prefixBytes">): Uint8Array {
  const frame = encodeRecordBatch({
    baseOffset: options.baseOffset,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    records: options.records,
    prefixBytes: FRAME_HEADER_BYTES,
  });
  const batchBytes = frame.length - FRAME_HEADER_BYTES;
  writeUint32(frame, 0, batchBytes);
  writeUint32(frame, 4, frameChecksum(frame.subarray(FRAME_HEADER_BYTES)));
  return frame;
}

/** The maxTimestamp of the batch in `frame` (what the time index keeps), read from its header. */
export function frameMaxTimestampMs(frame: Uint8Array): number {
  return readInt64(frame, FRAME_HEADER_BYTES + MAX_TIMESTAMP_POSITION);
}

/** Builds header + batch in one buffer (a copy of `batch`), so the append is a single write. */
export function encodeFrame(batch: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + batch.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, batch.length);
  view.setUint32(4, frameChecksum(batch));
  frame.set(batch, FRAME_HEADER_BYTES);
  return frame;
}

export interface FrameHeader {
  batchBytes: number;
  checksum: number;
}

export function readFrameHeader(bytes: Uint8Array, position: number): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, FRAME_HEADER_BYTES);
  return { batchBytes: view.getUint32(0), checksum: view.getUint32(4) };
}

/** Big-endian, byte by byte: no DataView, so no ArrayBuffer is made for a fresh array. */
function writeUint32(bytes: Uint8Array, position: number, value: number): void {
  bytes[position] = value >>> 24;
  bytes[position + 1] = value >>> 16;
  bytes[position + 2] = value >>> 8;
  bytes[position + 3] = value;
}

/**
 * Asserts that `chunks` (`bytes` in all) are whole frames whose checksums
 * match their batches: a frame may sit in one chunk with others, or its
 * header may be a chunk of its own followed by its batch as the next chunk
 * (a client's batch written in place). Called just before a write, as the
 * pair of the check made just after every read; a mismatch is a bug (the
 * bytes changed between encoding and writing), never bad input.
 */
export function assertFramesWhole(chunks: readonly Uint8Array[], bytes: number): void {
  let total = 0;
  for (let index = 0; index < chunks.length; index++) {
    const chunk = chunks[index]!;
    total += chunk.length;
    if (chunk.length === FRAME_HEADER_BYTES && index + 1 < chunks.length) {
      const batch = chunks[++index]!;
      total += batch.length;
      assertFrame(chunk, 0, batch);
      continue;
    }
    let position = 0;
    while (position < chunk.length) {
      assert(position + FRAME_HEADER_BYTES <= chunk.length, "a frame header is never split across chunks");
      const batchBytes = readUint32(chunk, position);
      const batch = chunk.subarray(position + FRAME_HEADER_BYTES, position + FRAME_HEADER_BYTES + batchBytes);
      assertFrame(chunk, position, batch);
      position += FRAME_HEADER_BYTES + batchBytes;
    }
  }
  assert(total === bytes, `the chunks hold ${total} bytes, counted as ${bytes}`);
}

function assertFrame(header: Uint8Array, position: number, batch: Uint8Array): void {
  const batchBytes = readUint32(header, position);
  assert(batchBytes > 0 && batch.length === batchBytes, `a frame says ${batchBytes} batch bytes and holds ${batch.length}`);
  assert(frameChecksum(batch) === readUint32(header, position + 4), "a frame's CRC32 matches its batch just before it is written");
}

function readUint32(bytes: Uint8Array, position: number): number {
  return ((bytes[position]! << 24) | (bytes[position + 1]! << 16) | (bytes[position + 2]! << 8) | bytes[position + 3]!) >>> 0;
}

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
import { type EncodeBatchOptions, encodeRecordBatch } from "../protocol/record-batch.ts";

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

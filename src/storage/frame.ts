/**
 * How a record batch sits in a segment file:
 *
 *   offset  size  field
 *   0       4     batchBytes  uint32 BE — length of the batch that follows
 *   4       4     checksum    uint32 BE — CRC32 (Bun.hash.crc32, IEEE) of the batch bytes
 *   8       n     batch       a Kafka RecordBatch v2, unchanged (src/storage/record-batch.ts)
 *
 * The frame checksum covers the whole batch, including baseOffset and
 * partitionLeaderEpoch, which Kafka's own CRC-32C leaves out: a batch copied to
 * the wrong place or stamped with a stale epoch is caught too. Because the
 * batch bytes are Kafka's, a follower or a Kafka-protocol listener can ship
 * them without re-encoding.
 */
export const FRAME_HEADER_BYTES = 8;

export function frameChecksum(batch: Uint8Array): number {
  return Bun.hash.crc32(batch) >>> 0;
}

/** Builds header + batch in one buffer, so the append is a single write. */
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

/**
 * A record of the commit journal (src/storage/commit-journal.ts), as it sits
 * in a journal file:
 *
 *   offset  size  field
 *   0       4     recordBytes  uint32 BE — bytes after these first 8
 *   4       4     checksum     uint32 BE — CRC32 of bytes [8, 36 + keyBytes): the header and key
 *   8       1     kind         1 append, 2 truncate, 3 restart, 4 forget
 *   9       1     flags        bit 0: the append starts a new segment
 *   10      2     keyBytes     uint16 BE
 *   12      8     offset       int64 BE — append: its first offset; truncate/restart: the new log end
 *   20      8     nextOffset   int64 BE — append: one past its last offset; otherwise = offset
 *   28      8     payloadBytes int64 BE — bytes of frames after the key (appends; 0 otherwise)
 *   36      k     key          UTF-8, the partition's name ("orders-3")
 *   36+k    n     frames       the appended frames exactly as the segment holds them (src/storage/frame.ts)
 *
 * The checksum covers the header and key only: the frames carry their own
 * CRC32 each (and Kafka's CRC-32C inside), which the scan checks, so the
 * appended bytes are hashed once when written and not again for the journal.
 */
import { FRAME_HEADER_BYTES, frameChecksum } from "./frame.ts";

export const JOURNAL_HEADER_BYTES = 36;
const KEY_BYTES_MAX = 0xffff;

export type JournalOp =
  | { kind: "append"; key: string; offset: number; nextOffset: number; startsSegment: boolean; frames: Uint8Array }
  | { kind: "truncate"; key: string; offset: number }
  | { kind: "restart"; key: string; offset: number }
  | { kind: "forget"; key: string };

const KIND_CODES = { append: 1, truncate: 2, restart: 3, forget: 4 } as const;
const STARTS_SEGMENT = 1;

/**
 * The header (and key) of a record whose payload is `payloadBytes` of frames
 * written right after it (appends), or of a record with none.
 */
export function encodeJournalHeader(
  kind: JournalOp["kind"],
  key: string,
  offset: number,
  nextOffset: number,
  payloadBytes: number,
  startsSegment = false,
): Uint8Array {
  const keyBytes = new TextEncoder().encode(key);
  if (keyBytes.length > KEY_BYTES_MAX) throw new Error(`journal key of ${keyBytes.length} bytes is too long`);
  const header = new Uint8Array(JOURNAL_HEADER_BYTES + keyBytes.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, header.length - 8 + payloadBytes);
  view.setUint8(8, KIND_CODES[kind]);
  view.setUint8(9, startsSegment ? STARTS_SEGMENT : 0);
  view.setUint16(10, keyBytes.length);
  view.setBigInt64(12, BigInt(offset));
  view.setBigInt64(20, BigInt(nextOffset));
  view.setBigInt64(28, BigInt(payloadBytes));
  header.set(keyBytes, JOURNAL_HEADER_BYTES);
  view.setUint32(4, frameChecksum(header.subarray(8)));
  return header;
}

/** What reading one record at a position found. */
export type JournalRead =
  | { ok: true; op: JournalOp; recordBytes: number }
  | { ok: false; reason: string };

/** Reads the record at `position` of `bytes` (a whole journal file) and checks it: header checksum, then every frame. */
export function readJournalRecord(bytes: Uint8Array, position: number): JournalRead {
  if (position + JOURNAL_HEADER_BYTES > bytes.length) return { ok: false, reason: "record header runs past the end of the file" };
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, JOURNAL_HEADER_BYTES);
  const recordBytes = view.getUint32(0) + 8;
  const keyBytes = view.getUint16(10);
  const headerEnd = position + JOURNAL_HEADER_BYTES + keyBytes;
  if (recordBytes < JOURNAL_HEADER_BYTES + keyBytes) return { ok: false, reason: `implausible record length ${recordBytes}` };
  if (headerEnd > bytes.length) return { ok: false, reason: "record key runs past the end of the file" };
  const stored = view.getUint32(4);
  const actual = frameChecksum(bytes.subarray(position + 8, headerEnd));
  if (stored !== actual) return { ok: false, reason: `header checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})` };
  const payloadBytes = Number(view.getBigInt64(28));
  if (recordBytes !== JOURNAL_HEADER_BYTES + keyBytes + payloadBytes) return { ok: false, reason: "record length disagrees with its payload" };
  if (position + recordBytes > bytes.length) return { ok: false, reason: `record of ${recordBytes} bytes runs past the end of the file` };
  const key = new TextDecoder().decode(bytes.subarray(position + JOURNAL_HEADER_BYTES, headerEnd));
  const offset = Number(view.getBigInt64(12));
  const nextOffset = Number(view.getBigInt64(20));
  const kind = view.getUint8(8);
  if (kind === KIND_CODES.append) {
    const frames = bytes.subarray(headerEnd, position + recordBytes);
    const problem = checkAppendedFrames(frames, offset, nextOffset);
    if (problem !== undefined) return { ok: false, reason: problem };
    const startsSegment = (view.getUint8(9) & STARTS_SEGMENT) !== 0;
    return { ok: true, recordBytes, op: { kind: "append", key, offset, nextOffset, startsSegment, frames } };
  }
  if (payloadBytes !== 0) return { ok: false, reason: "a record other than an append carries frames" };
  if (kind === KIND_CODES.truncate) return { ok: true, recordBytes, op: { kind: "truncate", key, offset } };
  if (kind === KIND_CODES.restart) return { ok: true, recordBytes, op: { kind: "restart", key, offset } };
  if (kind === KIND_CODES.forget) return { ok: true, recordBytes, op: { kind: "forget", key } };
  return { ok: false, reason: `unknown record kind ${kind}` };
}

/**
 * The frames fill the payload exactly, each with a good CRC32, the first
 * beginning at `offset` and the offsets running on to `nextOffset`. Returns
 * what is wrong, or undefined.
 */
function checkAppendedFrames(frames: Uint8Array, offset: number, nextOffset: number): string | undefined {
  let position = 0;
  let expected = offset;
  const view = new DataView(frames.buffer, frames.byteOffset, frames.length);
  while (position < frames.length) {
    if (position + FRAME_HEADER_BYTES + 27 > frames.length) return "a frame header runs past the record";
    const batchBytes = view.getUint32(position);
    const end = position + FRAME_HEADER_BYTES + batchBytes;
    if (end > frames.length) return "a frame runs past the record";
    const batch = frames.subarray(position + FRAME_HEADER_BYTES, end);
    if (frameChecksum(batch) !== view.getUint32(position + 4)) return `frame checksum mismatch at payload position ${position}`;
    const baseOffset = Number(view.getBigInt64(position + FRAME_HEADER_BYTES));
    const lastOffsetDelta = view.getInt32(position + FRAME_HEADER_BYTES + 23);
    if (baseOffset !== expected) return `a frame begins at offset ${baseOffset}, expected ${expected}`;
    expected = baseOffset + lastOffsetDelta + 1;
    position = end;
  }
  return expected === nextOffset ? undefined : `the frames end at offset ${expected}, the record says ${nextOffset}`;
}

/**
 * Kafka's signed variable-length integers (the protobuf encoding): a value is
 * zigzag-mapped to unsigned (0, -1, 1, -2, ... become 0, 1, 2, 3, ...) and
 * written seven bits at a time, least significant group first, with the high
 * bit of each byte set when another byte follows.
 *
 * varint: a signed 32-bit value, 1..5 bytes. varlong: a signed 64-bit value,
 * 1..10 bytes; here limited to JS safe integers (|n| <= 2^53 - 1), which is
 * all a record's timestamp delta can be in gafka.
 *
 * Writers take a position and return the position after what they wrote.
 * Readers advance a caller-owned Cursor, so decoding a batch allocates one
 * cursor rather than one result object per field.
 */

/** A read position into a byte array, advanced by the read functions. */
export interface Cursor {
  position: number;
}

/** Bytes that writeVarint(value) takes. `value` must be an int32. */
export function sizeOfVarint(value: number): number {
  const zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  if (zigzag < 0x80) return 1;
  if (zigzag < 0x4000) return 2;
  if (zigzag < 0x200000) return 3;
  if (zigzag < 0x10000000) return 4;
  return 5;
}

/** Bytes that writeVarlong(value) takes. `value` must be a safe integer. */
export function sizeOfVarlong(value: number): number {
  if ((value | 0) === value) return sizeOfVarint(value);
  // Beyond int32 the zigzag value is at least 2^32, so at least 5 bytes; the
  // first five carry the sign bit and 34 magnitude bits.
  let rest = Math.floor(zigzagMagnitude(value) / 2 ** 34);
  let size = 5;
  while (rest > 0) {
    rest = Math.floor(rest / 0x80);
    size++;
  }
  return size;
}

/** Writes `value` (an int32) as a zigzag varint at `position`; returns the next position. */
export function writeVarint(bytes: Uint8Array, position: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    bytes[position++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  bytes[position++] = zigzag;
  return position;
}

/** Writes `value` (a safe integer) as a zigzag varlong at `position`; returns the next position. */
export function writeVarlong(bytes: Uint8Array, position: number, value: number): number {
  if ((value | 0) === value) return writeVarint(bytes, position, value);
  // The zigzag value 2|n| - (n < 0) can exceed 2^53, where doubles lose the
  // low bit, so the sign bit is written into the first group by hand.
  const negative = value < 0;
  let magnitude = zigzagMagnitude(value);
  bytes[position++] = (((magnitude % 0x40) * 2) | (negative ? 1 : 0)) | 0x80;
  magnitude = Math.floor(magnitude / 0x40);
  while (magnitude >= 0x80) {
    bytes[position++] = (magnitude % 0x80) | 0x80;
    magnitude = Math.floor(magnitude / 0x80);
  }
  bytes[position++] = magnitude;
  return position;
}

/** Reads a zigzag varint at cursor.position and advances the cursor past it. */
export function readVarint(bytes: Uint8Array, cursor: Cursor): number {
  let position = cursor.position;
  let zigzag = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (position >= bytes.length) throw truncated(cursor.position, "varint");
    const byte = bytes[position++];
    zigzag |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      if (shift === 28 && byte > 0x0f) break;
      cursor.position = position;
      return (zigzag >>> 1) ^ -(zigzag & 1);
    }
  }
  throw new Error(`malformed varint at position ${cursor.position}: more than 32 bits`);
}

/** Reads a zigzag varlong at cursor.position and advances the cursor past it. */
export function readVarlong(bytes: Uint8Array, cursor: Cursor): number {
  const start = cursor.position;
  if (start >= bytes.length) throw truncated(start, "varlong");
  const first = bytes[start];
  if (first < 0x80) {
    cursor.position = start + 1;
    return (first >>> 1) ^ -(first & 1);
  }
  // The first group holds the sign bit and six magnitude bits; every later
  // group adds seven more, scaled by multiplication to stay exact past 2^32.
  let magnitude = (first & 0x7f) >>> 1;
  let scale = 0x40;
  let position = start + 1;
  for (;;) {
    if (position >= bytes.length) throw truncated(start, "varlong");
    const byte = bytes[position++];
    magnitude += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 0x80;
    if (scale > 2 ** 63) {
      throw new Error(`malformed varlong at position ${start}: more than 64 bits`);
    }
  }
  if (magnitude > Number.MAX_SAFE_INTEGER) {
    throw new Error(`varlong at position ${start} is outside the safe integer range`);
  }
  cursor.position = position;
  return first & 1 ? -magnitude - 1 : magnitude;
}

/** The zigzag value's magnitude without the sign bit: |n| for n >= 0, |n| - 1 for n < 0. */
function zigzagMagnitude(value: number): number {
  return value < 0 ? -value - 1 : value;
}

function truncated(position: number, kind: string): Error {
  return new Error(`truncated ${kind} at position ${position}`);
}

// Big-endian integers, read and written byte by byte: asking a fresh Uint8Array
// for its .buffer (to make a DataView) makes the engine allocate an ArrayBuffer
// for it, which costs more than encoding a small batch.

const TWO_POW_32 = 2 ** 32;

export function writeInt16(bytes: Uint8Array, position: number, value: number): void {
  bytes[position] = value >> 8;
  bytes[position + 1] = value;
}

/** Also writes a uint32: a Uint8Array element keeps the low eight bits of what it is given. */
export function writeInt32(bytes: Uint8Array, position: number, value: number): void {
  bytes[position] = value >>> 24;
  bytes[position + 1] = value >>> 16;
  bytes[position + 2] = value >>> 8;
  bytes[position + 3] = value;
}

/** Writes a safe integer as an int64, in two 32-bit halves. */
export function writeInt64(bytes: Uint8Array, position: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  writeInt32(bytes, position, high);
  writeInt32(bytes, position + 4, value - high * TWO_POW_32);
}

export function readInt16(bytes: Uint8Array, position: number): number {
  return ((bytes[position] << 24) | (bytes[position + 1] << 16)) >> 16;
}

export function readInt32(bytes: Uint8Array, position: number): number {
  return (
    (bytes[position] << 24) | (bytes[position + 1] << 16) | (bytes[position + 2] << 8) | bytes[position + 3]
  );
}

/** Reads an int64 as a number; exact while it is a safe integer. */
export function readInt64(bytes: Uint8Array, position: number): number {
  return readInt32(bytes, position) * TWO_POW_32 + (readInt32(bytes, position + 4) >>> 0);
}

/** Reads an int64 exactly, as a bigint. */
export function readBigInt64(bytes: Uint8Array, position: number): bigint {
  const high = readInt32(bytes, position);
  const low = readInt32(bytes, position + 4) >>> 0;
  if (high === -1 && low === 0xffffffff) return -1n; // no producer id: skip the bigint arithmetic
  return (BigInt(high) << 32n) | BigInt(low);
}

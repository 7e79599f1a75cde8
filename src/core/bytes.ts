/**
 * A plain Uint8Array of `length` bytes over memory that is not zeroed: Bun's
 * allocator, unpooled, so the array starts at offset 0 of its own
 * ArrayBuffer. Zeroing a fresh array makes the kernel fault in every page
 * of it before any byte is written; on the test host those faults made
 * copying large answers a large part of a consumer's work (bench/RESULTS.md).
 * Only for arrays whose every byte is written before anything reads them.
 * Not a Buffer: Buffer.slice() shares the bytes where Uint8Array.slice()
 * copies them.
 */
export function unzeroedBytes(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}

/**
 * The parts one after another in one array; the part itself when there is
 * only one (no copy), an empty array when there are none.
 */
export function joinBytes(parts: readonly Uint8Array[], totalBytes?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = totalBytes ?? 0;
  if (totalBytes === undefined) for (const part of parts) length += part.length;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

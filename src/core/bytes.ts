/**
 * A plain Uint8Array of `length` bytes over memory that is not zeroed: Bun's
 * allocator, unpooled, so the array starts at offset 0 of its own
 * ArrayBuffer. Zeroing a fresh array makes the kernel fault in every page
 * of it, and on this project's test host a page fault is dear (the SDK's
 * 10 MB answers in P4, bench/RESULTS.md, session 5). Only for arrays whose every byte is written
 * before anything reads them. Not a Buffer: Buffer.slice() shares the
 * bytes where Uint8Array.slice() copies them.
 */
export function unzeroedBytes(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}

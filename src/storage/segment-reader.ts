import type { FileSystem } from "./file-system.ts";

/**
 * Buffered positional reads over one segment file, so a sequential scan of
 * many small frames costs one read per megabyte rather than two per frame.
 * The returned views are valid until the next call.
 */
export class SegmentReader {
  private buffer: Uint8Array;
  private bufferStart = 0;
  private bufferEnd = 0;

  constructor(
    private readonly fs: FileSystem,
    private fd: number,
    /** Bytes of the file that may be read. */
    public endPosition: number,
    chunkBytes = 1024 * 1024,
  ) {
    this.buffer = new Uint8Array(chunkBytes);
  }

  /** Points the reader at another file (or the same one, grown); drops the buffer. */
  reset(fd: number, endPosition: number): void {
    this.fd = fd;
    this.endPosition = endPosition;
    this.bufferStart = 0;
    this.bufferEnd = 0;
  }

  /** `length` bytes at `position`, or undefined when they run past endPosition. */
  bytes(position: number, length: number): Uint8Array | undefined {
    if (position < 0 || position + length > this.endPosition) return undefined;
    if (position < this.bufferStart || position + length > this.bufferEnd) this.fill(position, length);
    const start = position - this.bufferStart;
    return this.buffer.subarray(start, start + length);
  }

  private fill(position: number, length: number): void {
    if (length > this.buffer.length) this.buffer = new Uint8Array(length);
    const want = Math.min(this.buffer.length, this.endPosition - position);
    let got = 0;
    while (got < want) {
      const read = this.fs.read(this.fd, this.buffer, got, want - got, position + got);
      if (read === 0) break;
      got += read;
    }
    this.bufferStart = position;
    this.bufferEnd = position + got;
  }
}

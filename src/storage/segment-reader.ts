import type { FileSystem } from "./file-system.ts";

/** How far a header peek reads ahead: about sixty 1 KB frames, or the head of one large one. */
const PEEK_BYTES = 64 * 1024;

/** The smallest buffer a reader allocates: a few frames' headers. */
const FIRST_BUFFER_BYTES = 4 * 1024;

const NO_BYTES = new Uint8Array(0);

/**
 * Buffered positional reads over one segment file, so a sequential scan of
 * many small frames costs one read per megabyte rather than two per frame.
 * The returned views are valid until the next call.
 *
 * The buffer is allocated on the first read and grows (doubling) only as far
 * as reads need, up to `chunkBytes`: every partition log holds readers, and
 * a reader that never reads, or reads a small file, must not hold a whole
 * chunk. (A chunk allocated up front and dropped, as the start-up scan of
 * every partition did, is memory the allocator recycles, dirty, into the next
 * partition's readers: thousands of empty partitions then cost a chunk each.)
 */
export class SegmentReader {
  private buffer: Uint8Array = NO_BYTES;
  private bufferStart = 0;
  private bufferEnd = 0;

  constructor(
    private readonly fs: FileSystem,
    private fd: number,
    /** Bytes of the file that may be read. */
    public endPosition: number,
    /** The most a miss reads ahead (and the buffer's size, unless one read asks for more). */
    private chunkBytes = 1024 * 1024,
  ) {}

  /** Bytes the reader's buffer holds allocated now (0 until its first read). */
  get bufferBytes(): number {
    return this.buffer.length;
  }

  /** Points the reader at another file (or the same one, grown); drops the buffer. */
  reset(fd: number, endPosition: number): void {
    this.fd = fd;
    this.endPosition = endPosition;
    this.bufferStart = 0;
    this.bufferEnd = 0;
  }

  /** `length` bytes at `position`, or undefined when they run past endPosition or the end of the file. */
  bytes(position: number, length: number): Uint8Array | undefined {
    return this.view(position, length, this.chunkBytes);
  }

  /**
   * As bytes(), but a miss reads only PEEK_BYTES ahead: for a frame header
   * whose (possibly large) batch will be read elsewhere, so the batch is not
   * pulled through this buffer for nothing. Small frames still come many to
   * a read.
   */
  peek(position: number, length: number): Uint8Array | undefined {
    return this.view(position, length, PEEK_BYTES);
  }

  /**
   * Copies `length` bytes at `position` into target[targetOffset…]: from the
   * buffer when they are in it, else straight from the file, with no copy
   * through the buffer. False when they run past endPosition or the file
   * ends early.
   */
  readInto(position: number, length: number, target: Uint8Array, targetOffset: number): boolean {
    if (position < 0 || position + length > this.endPosition) return false;
    if (position >= this.bufferStart && position + length <= this.bufferEnd) {
      const start = position - this.bufferStart;
      target.set(this.buffer.subarray(start, start + length), targetOffset);
      return true;
    }
    let got = 0;
    while (got < length) {
      const read = this.fs.read(this.fd, target, targetOffset + got, length - got, position + got);
      if (read === 0) return false;
      got += read;
    }
    return true;
  }

  private view(position: number, length: number, fillBytes: number): Uint8Array | undefined {
    if (position < 0 || position + length > this.endPosition) return undefined;
    if (position < this.bufferStart || position + length > this.bufferEnd) {
      this.fill(position, length, fillBytes);
      // The file ended early (cut short under us): what is not there is not returned.
      if (position + length > this.bufferEnd) return undefined;
    }
    const start = position - this.bufferStart;
    return this.buffer.subarray(start, start + length);
  }

  private fill(position: number, length: number, fillBytes: number): void {
    if (length > this.chunkBytes) this.chunkBytes = length;
    const want = Math.min(Math.max(length, fillBytes), this.chunkBytes, this.endPosition - position);
    if (want > this.buffer.length) this.grow(want);
    let got = 0;
    while (got < want) {
      const read = this.fs.read(this.fd, this.buffer, got, want - got, position + got);
      if (read === 0) break;
      got += read;
    }
    this.bufferStart = position;
    this.bufferEnd = position + got;
  }

  /** A buffer of at least `bytes` (at most chunkBytes): doubling, so a scan that reads further and further allocates a few times, not on each read. */
  private grow(bytes: number): void {
    const doubled = Math.max(FIRST_BUFFER_BYTES, this.buffer.length * 2);
    this.buffer = new Uint8Array(Math.min(this.chunkBytes, Math.max(bytes, doubled)));
  }
}

import { readInt32 } from "../protocol/big-endian.ts";

/**
 * Splits a Kafka connection's byte stream into requests: each is an int32
 * size then that many bytes. TCP hands over chunks that may hold part of a
 * request, or several; a request's bytes are copied once, into a buffer of
 * its size allocated when its size prefix is read.
 */
export class FrameReader {
  private readonly sizePrefix = new Uint8Array(4);
  private sizePrefixFilled = 0;
  private frame: Uint8Array | undefined;
  private frameFilled = 0;

  /** `frameBytesMax`: a size prefix above it (or below 0) makes the stream unreadable. */
  constructor(private readonly frameBytesMax: number) {}

  /**
   * Takes a chunk and returns every request it completes, without their size
   * prefixes, in order; "oversize" when a size prefix is out of bounds (the
   * connection must close: nothing after it can be framed).
   */
  push(chunk: Uint8Array): Uint8Array[] | "oversize" {
    const frames: Uint8Array[] = [];
    let position = 0;
    while (position < chunk.length) {
      if (this.frame === undefined) {
        const taken = Math.min(4 - this.sizePrefixFilled, chunk.length - position);
        this.sizePrefix.set(chunk.subarray(position, position + taken), this.sizePrefixFilled);
        this.sizePrefixFilled += taken;
        position += taken;
        if (this.sizePrefixFilled < 4) break;
        const size = readInt32(this.sizePrefix, 0);
        if (size < 0 || size > this.frameBytesMax) return "oversize";
        this.sizePrefixFilled = 0;
        this.frame = new Uint8Array(size);
        this.frameFilled = 0;
      }
      const taken = Math.min(this.frame.length - this.frameFilled, chunk.length - position);
      // A copy: the chunk's memory is the socket's to reuse once the callback returns.
      this.frame.set(chunk.subarray(position, position + taken), this.frameFilled);
      this.frameFilled += taken;
      position += taken;
      if (this.frameFilled === this.frame.length) {
        frames.push(this.frame);
        this.frame = undefined;
      }
    }
    return frames;
  }

  /** Bytes of a request received in part (its size prefix included). */
  get pendingBytes(): number {
    return this.sizePrefixFilled + (this.frame === undefined ? 0 : 4 + this.frameFilled);
  }
}

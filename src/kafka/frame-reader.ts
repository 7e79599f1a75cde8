import { readInt32 } from "../protocol/big-endian.ts";
import type { RequestBufferPool } from "./request-buffer-pool.ts";

/**
 * Small requests are carved out of shared slabs of this many bytes rather
 * than given an array each: a view made from an ArrayBuffer has its buffer
 * already, so the views the decoder takes of it (a produce's records) cost no
 * copy, where a fresh small Uint8Array is moved out of the engine's heap the
 * first time one is taken. Slabs are never reused: a slab is freed by the
 * garbage collector once no request in it is referenced, so no request's
 * memory is ever handed out again while it is in use.
 */
export const FRAME_SLAB_BYTES = 64 * 1024;
/** Requests up to this size share slabs; a larger one gets an ArrayBuffer of its own (a slab would waste too much of itself). */
export const SLAB_FRAME_BYTES_MAX = 8 * 1024;

/**
 * Splits a Kafka connection's byte stream into requests: each is an int32
 * size then that many bytes. TCP hands over chunks that may hold part of a
 * request, or several; a request's bytes are copied once, into memory of its
 * size taken when its size prefix is read: a slab's, a pooled buffer (large
 * requests, when a pool is given), or a buffer of its own.
 */
export class FrameReader {
  private readonly sizePrefix = new Uint8Array(4);
  private sizePrefixFilled = 0;
  private frame: Uint8Array | undefined;
  private frameFilled = 0;
  private slab: ArrayBuffer | undefined;
  private slabUsed = 0;

  /**
   * `frameBytesMax`: a size prefix above it (or below 0) makes the stream
   * unreadable. `pool`: where large requests' memory comes from (see
   * RequestBufferPool for when it may go back).
   */
  constructor(
    private readonly frameBytesMax: number,
    private readonly pool?: RequestBufferPool,
  ) {}

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
        for (let index = 0; index < taken; index++) this.sizePrefix[this.sizePrefixFilled + index] = chunk[position + index]!;
        this.sizePrefixFilled += taken;
        position += taken;
        if (this.sizePrefixFilled < 4) break;
        const size = readInt32(this.sizePrefix, 0);
        if (size < 0 || size > this.frameBytesMax) return "oversize";
        this.sizePrefixFilled = 0;
        this.frame = this.allocate(size);
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

  /** Memory no one else uses for a request of `size` bytes: the next unused part of the slab, a pooled buffer, or a buffer of its own. */
  private allocate(size: number): Uint8Array {
    if (this.pool?.pools(size)) return this.pool.take(size);
    if (size > SLAB_FRAME_BYTES_MAX) return new Uint8Array(new ArrayBuffer(size));
    if (this.slab === undefined || this.slabUsed + size > FRAME_SLAB_BYTES) {
      this.slab = new ArrayBuffer(FRAME_SLAB_BYTES);
      this.slabUsed = 0;
    }
    const frame = new Uint8Array(this.slab, this.slabUsed, size);
    this.slabUsed += size;
    return frame;
  }

  /** Bytes of a request received in part (its size prefix included). */
  get pendingBytes(): number {
    return this.sizePrefixFilled + (this.frame === undefined ? 0 : 4 + this.frameFilled);
  }
}

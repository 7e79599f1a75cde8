import { assert } from "../core/assert.ts";

/** Requests this large or larger are given pooled memory: below it a fresh buffer costs little (and small ones share slabs, frame-reader.ts). */
export const POOLED_REQUEST_BYTES_MIN = 64 * 1024;
/**
 * Requests larger than this get memory of their own, never pooled: a buffer
 * rounded up to a power of two that size would waste too much, and such
 * requests are rare (Kafka clients send batches of 1 MiB by default).
 */
export const POOLED_REQUEST_BYTES_MAX = 8 * 1024 * 1024;

/**
 * Memory for large Kafka requests, reused instead of allocated for each:
 * copying a ~1 MiB produce out of the socket's chunks into fresh memory
 * costs several times the copy itself (the pages are faulted in and zeroed,
 * and the garbage collector churns), and a batched producer sends thousands
 * of them a second.
 *
 * Reuse is only ever safe once nothing refers to a request's bytes: a
 * produce's batches are written to the log from the request's own memory,
 * and decoded requests keep views of it. So a buffer comes back only through
 * `give`, which the listener calls when the request's handler said its work
 * is done with those bytes (RequestHandler's `release`), and never otherwise:
 * a buffer not given back is simply left to the garbage collector. Buffers
 * are kept by size class (powers of two), at most `bytesMax` of them free.
 */
export class RequestBufferPool {
  /** Free buffers by size class (byteLength). */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;
  /** Buffers handed out and not given back: only these may be given back, once each. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(private readonly bytesMax: number) {}

  /** Whether a request of `size` bytes is given pooled memory. */
  pools(size: number): boolean {
    return size >= POOLED_REQUEST_BYTES_MIN && size <= POOLED_REQUEST_BYTES_MAX;
  }

  /**
   * A view of `size` bytes at the start of a free buffer of its size class
   * (a fresh one when none is free). The bytes are stale: the caller fills
   * every one of them before anyone reads it.
   */
  take(size: number): Uint8Array {
    assert(this.pools(size), `a request of ${size} bytes is not pooled`);
    const classBytes = sizeClassOf(size);
    let buffer = this.free.get(classBytes)?.pop();
    if (buffer === undefined) buffer = new ArrayBuffer(classBytes);
    else this.freeBytes -= classBytes;
    assert(!this.lent.has(buffer), "a buffer is free and lent at once");
    this.lent.add(buffer);
    return new Uint8Array(buffer, 0, size);
  }

  /**
   * Takes back a request's memory (a view `take` returned) for later
   * requests. The caller vouches that nothing refers to any byte of it any
   * more. Kept only while the free buffers stay within `bytesMax`.
   */
  give(request: Uint8Array): void {
    const buffer = request.buffer as ArrayBuffer;
    assert(this.lent.has(buffer), "a request buffer is given back that was not lent, or twice");
    this.lent.delete(buffer);
    if (this.freeBytes + buffer.byteLength > this.bytesMax) return;
    let list = this.free.get(buffer.byteLength);
    if (list === undefined) {
      list = [];
      this.free.set(buffer.byteLength, list);
    }
    list.push(buffer);
    this.freeBytes += buffer.byteLength;
  }

  /** Bytes of the free buffers kept. */
  get freeBytesHeld(): number {
    return this.freeBytes;
  }
}

function sizeClassOf(size: number): number {
  return 2 ** Math.ceil(Math.log2(size));
}

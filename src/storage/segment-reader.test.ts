import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { type FileSystem, nodeFileSystem } from "./file-system.ts";
import { SegmentReader } from "./segment-reader.ts";

const FILE_BYTES = 300 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A file whose byte i is i % 251, and a file system that counts the bytes each read asks for. */
function fixture(): { reader: SegmentReader; reads: number[]; expected: Uint8Array; fd: number } {
  const temp = makeTempDir("gafka-reader-");
  const file = path.join(temp.dir, "segment.log");
  const expected = Uint8Array.from({ length: FILE_BYTES }, (_, index) => index % 251);
  writeFileSync(file, expected);
  const fd = openSync(file, "r");
  cleanups.push(() => closeSync(fd), temp.remove);
  const reads: number[] = [];
  const fs: FileSystem = {
    ...nodeFileSystem,
    read: (descriptor, buffer, offset, length, position) => {
      reads.push(length);
      return nodeFileSystem.read(descriptor, buffer, offset, length, position);
    },
  };
  return { reader: new SegmentReader(fs, fd, FILE_BYTES, 128 * 1024), reads, expected: expected as Uint8Array, fd };
}

describe("SegmentReader", () => {
  test("bytes() fills a whole buffer on a miss; peek() reads only 64 KiB ahead", () => {
    const { reader, reads, expected } = fixture();
    expect(reader.peek(1000, 69)).toEqual(expected.subarray(1000, 1069));
    expect(reads).toEqual([64 * 1024]);
    expect(reader.bytes(100_000, 10)).toEqual(expected.subarray(100_000, 100_010));
    expect(reads).toEqual([64 * 1024, 128 * 1024]);
    // A hit reads nothing.
    expect(reader.peek(100_005, 69)).toEqual(expected.subarray(100_005, 100_074));
    expect(reads).toHaveLength(2);
    expect(reader.peek(FILE_BYTES - 10, 11)).toBeUndefined();
  });

  test("readInto copies from the buffer on a hit and reads straight into the target on a miss", () => {
    const { reader, reads, expected } = fixture();
    const target: Uint8Array = new Uint8Array(150 * 1024 + 7);
    reader.bytes(0, 10);
    expect(reads).toEqual([128 * 1024]);
    expect(reader.readInto(100, 5000, target, 3)).toBe(true);
    expect(reads).toHaveLength(1);
    expect(target.subarray(3, 5003)).toEqual(expected.subarray(100, 5100));
    // Larger than the buffer, outside it: one read into the target.
    expect(reader.readInto(140_000, 150 * 1024, target, 7)).toBe(true);
    expect(reads).toEqual([128 * 1024, 150 * 1024]);
    expect(target.subarray(7)).toEqual(expected.subarray(140_000, 140_000 + 150 * 1024));
    expect(reader.readInto(FILE_BYTES - 100, 101, target, 0)).toBe(false);
  });

  test("holds no buffer until it reads, then one no larger than the reads need, never past its chunk", () => {
    const { reader, expected, fd } = fixture();
    // Every partition log holds readers: an idle one must not hold a chunk.
    expect(reader.bufferBytes).toBe(0);
    reader.reset(fd, 100);
    expect(reader.bytes(0, 20)).toEqual(expected.subarray(0, 20));
    expect(reader.bufferBytes).toBeLessThanOrEqual(4 * 1024);
    reader.reset(fd, FILE_BYTES);
    expect(reader.bytes(1000, 10)).toEqual(expected.subarray(1000, 1010));
    expect(reader.bufferBytes).toBe(128 * 1024);
    // A read longer than the chunk gets a buffer of its own size.
    expect(reader.bytes(0, 200 * 1024)).toEqual(expected.subarray(0, 200 * 1024));
    expect(reader.bufferBytes).toBe(200 * 1024);
  });
});

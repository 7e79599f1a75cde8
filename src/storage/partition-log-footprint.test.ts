import { afterEach, describe, expect, test } from "bun:test";
import * as path from "node:path";
import { systemClock } from "../core/clock.ts";
import { silentLogger } from "../core/logger.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { type FileSystem, nodeFileSystem } from "./file-system.ts";
import { PartitionLog } from "./partition-log.ts";

/**
 * What loading a partition's log holds in memory: a restart must cost what
 * creation costs. Every read buffer the load and the reads hand to the file
 * system is observed; none may be a whole read chunk for a file of a few
 * hundred bytes (each partition's start-up scan used to allocate a 1 MiB
 * buffer, which the allocator then recycled, dirty, into every partition's
 * read buffers: several times the RSS of creation after a restart).
 */
const encoder = new TextEncoder();
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** The node file system, noting the size of each buffer a read fills. */
function recordingFileSystem(): { fs: FileSystem; readBufferBytes: number[] } {
  const readBufferBytes: number[] = [];
  const fs: FileSystem = {
    ...nodeFileSystem,
    read: (descriptor, buffer, offset, length, position) => {
      readBufferBytes.push(buffer.byteLength);
      return nodeFileSystem.read(descriptor, buffer, offset, length, position);
    },
  };
  return { fs, readBufferBytes };
}

function openLog(dir: string, fs: FileSystem): PartitionLog {
  const log = PartitionLog.open({
    dir,
    name: "t-0",
    fs,
    clock: systemClock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: 1024,
    indexIntervalBytes: 256,
  });
  cleanups.push(() => log.close());
  return log;
}

describe("a partition log's footprint after a restart", () => {
  test("loading and reading a small log reads into buffers sized to its files, not whole chunks", async () => {
    const temp = makeTempDir();
    cleanups.unshift(temp.remove);
    const dir = path.join(temp.dir, "t-0");
    const log = openLog(dir, nodeFileSystem);
    for (let i = 0; i < 12; i++) {
      await log.append([{ key: null, value: encoder.encode(`value-${i}-${"x".repeat(100)}`), headers: [], timestampMs: 1_764_000_000_000 + i }]);
    }
    await log.close();

    // Without the clean-shutdown marker: the active segment is scanned in full; sealed ones are checked from their index.
    const { fs, readBufferBytes } = recordingFileSystem();
    const reopened = openLog(dir, fs);
    expect(reopened.highWatermark).toBe(12);
    expect(reopened.read(0, 100, 1 << 20).records).toHaveLength(12);
    expect(reopened.offsetForTimestamp(1_764_000_000_005)).toBe(5);
    expect(readBufferBytes.length).toBeGreaterThan(0);
    // Segments of about 1 KiB: a buffer of 64 KiB or more is a chunk allocated regardless of the file.
    expect(Math.max(...readBufferBytes)).toBeLessThan(64 * 1024);
  });
});

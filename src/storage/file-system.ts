import * as nodeFs from "node:fs";
import * as path from "node:path";

/**
 * The one seam through which gafka touches the disk. Production uses
 * `nodeFileSystem`; tests wrap it to fail on purpose (ENOSPC on write, EIO on
 * fsync) — see test/helpers/faulty-fs.ts.
 *
 * Writes and reads are synchronous (page-cache speed, and an error is raised
 * where the write happened); fdatasync is asynchronous so the event loop keeps
 * accepting requests that will share the next fsync (group commit).
 */
export interface FileSystem {
  /** Opens for reading and appending; creates when missing. Returns a descriptor. */
  openReadWrite(filePath: string): number;
  openReadOnly(filePath: string): number;
  close(fd: number): void;
  /** Writes all of `data` at `position`; returns bytes written (may be short on error). */
  write(fd: number, data: Uint8Array, position: number): number;
  /**
   * Writes the chunks one after another from `position` as one gathered write
   * (pwritev), so many frames cost one system call and no copy; returns the
   * bytes written. On an error part of them may be on disk.
   */
  writeChunks(fd: number, chunks: Uint8Array[], position: number): number;
  /** Reads up to `length` bytes at `position` into `buffer` at `bufferOffset`; returns bytes read. */
  read(fd: number, buffer: Uint8Array, bufferOffset: number, length: number, position: number): number;
  truncate(fd: number, length: number): void;
  /** fdatasync: resolves when the file's data is on stable storage. */
  fdatasync(fd: number): Promise<void>;
  /** Blocking fdatasync, for the rare moments that must not interleave (segment roll). */
  fdatasyncSync(fd: number): void;
  /** fsync on a directory, so that created/renamed entries are durable. */
  syncDirectory(dirPath: string): Promise<void>;
  syncDirectorySync(dirPath: string): void;
  sizeOf(fd: number): number;
  /** The size of the file at `filePath` (stat), without opening it. */
  sizeOfPath(filePath: string): number;
  exists(filePath: string): boolean;
  mkdirp(dirPath: string): void;
  readdir(dirPath: string): string[];
  readFile(filePath: string): Uint8Array;
  /**
   * Writes a whole file durably: temp file, fsync, rename, fsync of the
   * directory. `mode` (default 0o644) is the file's from its creation on, so
   * a secret is never readable by others, not even for a moment.
   */
  writeFileAtomic(filePath: string, data: Uint8Array, options?: { mode?: number }): Promise<void>;
  rename(from: string, to: string): void;
  removeRecursive(filePath: string): void;
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => nodeFs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => nodeFs.fsync(fd, (error) => (error ? reject(error) : resolve())));
}

export const nodeFileSystem: FileSystem = {
  openReadWrite: (filePath) => nodeFs.openSync(filePath, nodeFs.constants.O_RDWR | nodeFs.constants.O_CREAT, 0o644),
  openReadOnly: (filePath) => nodeFs.openSync(filePath, "r"),
  close: (fd) => nodeFs.closeSync(fd),
  write(fd, data, position) {
    let written = 0;
    while (written < data.length) {
      written += nodeFs.writeSync(fd, data, written, data.length - written, position + written);
    }
    return written;
  },
  writeChunks(fd, chunks, position) {
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    const written = nodeFs.writevSync(fd, chunks, position);
    if (written === total) return written;
    // A short pwritev (rare): finish chunk by chunk from where it stopped.
    let skipped = 0;
    for (const chunk of chunks) {
      const from = Math.max(0, written - skipped);
      if (from < chunk.length) nodeFileSystem.write(fd, chunk.subarray(from), position + skipped + from);
      skipped += chunk.length;
    }
    return total;
  },
  read: (fd, buffer, bufferOffset, length, position) => nodeFs.readSync(fd, buffer, bufferOffset, length, position),
  truncate: (fd, length) => nodeFs.ftruncateSync(fd, length),
  fdatasync: fdatasyncAsync,
  fdatasyncSync: (fd) => nodeFs.fdatasyncSync(fd),
  async syncDirectory(dirPath) {
    const fd = nodeFs.openSync(dirPath, "r");
    try {
      await fsyncAsync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
  },
  syncDirectorySync(dirPath) {
    const fd = nodeFs.openSync(dirPath, "r");
    try {
      nodeFs.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
  },
  sizeOf: (fd) => nodeFs.fstatSync(fd).size,
  sizeOfPath: (filePath) => nodeFs.statSync(filePath).size,
  exists: (filePath) => nodeFs.existsSync(filePath),
  mkdirp: (dirPath) => void nodeFs.mkdirSync(dirPath, { recursive: true }),
  readdir: (dirPath) => nodeFs.readdirSync(dirPath),
  readFile: (filePath) => new Uint8Array(nodeFs.readFileSync(filePath)),
  async writeFileAtomic(filePath, data, options) {
    const temporaryPath = `${filePath}.tmp`;
    const mode = options?.mode ?? 0o644;
    // A stale temp file keeps its old mode through open("w"): remove it first.
    if (options?.mode !== undefined) nodeFs.rmSync(temporaryPath, { force: true });
    const fd = nodeFs.openSync(temporaryPath, "w", mode);
    try {
      nodeFileSystem.write(fd, data, 0);
      await fsyncAsync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
    nodeFs.renameSync(temporaryPath, filePath);
    await nodeFileSystem.syncDirectory(path.dirname(filePath));
  },
  rename: (from, to) => nodeFs.renameSync(from, to),
  removeRecursive: (filePath) => nodeFs.rmSync(filePath, { recursive: true, force: true }),
};

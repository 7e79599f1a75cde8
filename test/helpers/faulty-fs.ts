import type { FileSystem } from "../../src/storage/file-system.ts";
import { nodeFileSystem } from "../../src/storage/file-system.ts";

/**
 * The real file system behind the FileSystem seam, with faults armed on
 * purpose: the next N writes (write or writeChunks; `writes` counts both) fail with ENOSPC (after writing part of their
 * bytes, as a full disk does), or the next N fdatasyncs fail with EIO, or
 * any call on a path that `pathFault` picks fails with the code it names.
 */
export class FaultyFileSystem implements FileSystem {
  failWrites = 0;
  failSyncs = 0;
  /** Bytes a failing write still puts down before it fails. */
  partialWriteBytes = 5;
  writes = 0;
  syncs = 0;
  /**
   * Consulted before every call that creates, opens for writing, removes or
   * syncs a path (mkdirp, openReadWrite, removeRecursive, rename,
   * writeFileAtomic, syncDirectory): an errno code it returns (e.g. "ENOSPC")
   * fails that call, as a full or failing disk would; undefined lets it
   * through. Tests also use it to see which calls were made, in order.
   */
  pathFault: ((operation: PathOperation, filePath: string) => string | undefined) | undefined;
  /**
   * A nearly full disk: when set, writes use it up, and a write larger than
   * what is left puts down what fits and fails with ENOSPC (using up nothing:
   * gafka cuts a failed write off at once), so small writes succeed where
   * large ones fail. Undefined (the default): no such limit.
   */
  spaceLeftBytes: number | undefined;

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

  private systemError(code: string, syscall: string): Error {
    return Object.assign(new Error(`${code}: injected fault, ${syscall}`), { code, syscall });
  }

  private checkPath(operation: PathOperation, filePath: string): void {
    const code = this.pathFault?.(operation, filePath);
    if (code !== undefined) throw Object.assign(this.systemError(code, operation), { path: filePath });
  }

  openReadWrite = (filePath: string) => {
    this.checkPath("openReadWrite", filePath);
    return this.inner.openReadWrite(filePath);
  };
  openReadOnly = (filePath: string) => this.inner.openReadOnly(filePath);
  close = (fd: number) => this.inner.close(fd);
  /** Takes `bytes` from spaceLeftBytes; when they do not fit, writes what does and throws ENOSPC. */
  private useSpace(fd: number, chunks: Uint8Array[], position: number, syscall: string): void {
    if (this.spaceLeftBytes === undefined) return;
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    if (bytes <= this.spaceLeftBytes) {
      this.spaceLeftBytes -= bytes;
      return;
    }
    let fits = this.spaceLeftBytes;
    for (const chunk of chunks) {
      if (fits === 0) break;
      const part = chunk.subarray(0, Math.min(fits, chunk.length));
      this.inner.write(fd, part, position);
      position += part.length;
      fits -= part.length;
    }
    throw this.systemError("ENOSPC", syscall);
  }

  write = (fd: number, data: Uint8Array, position: number): number => {
    this.writes++;
    this.useSpace(fd, [data], position, "write");
    if (this.failWrites > 0) {
      this.failWrites--;
      this.inner.write(fd, data.subarray(0, Math.min(this.partialWriteBytes, data.length)), position);
      throw this.systemError("ENOSPC", "write");
    }
    return this.inner.write(fd, data, position);
  };
  writeChunks = (fd: number, chunks: Uint8Array[], position: number): number => {
    this.writes++;
    this.useSpace(fd, chunks, position, "pwritev");
    if (this.failWrites > 0) {
      this.failWrites--;
      const first = chunks[0] ?? new Uint8Array(0);
      this.inner.write(fd, first.subarray(0, Math.min(this.partialWriteBytes, first.length)), position);
      throw this.systemError("ENOSPC", "pwritev");
    }
    return this.inner.writeChunks(fd, chunks, position);
  };
  read = (fd: number, buffer: Uint8Array, bufferOffset: number, length: number, position: number) =>
    this.inner.read(fd, buffer, bufferOffset, length, position);
  truncate = (fd: number, length: number) => this.inner.truncate(fd, length);
  fdatasync = async (fd: number): Promise<void> => {
    this.syncs++;
    if (this.failSyncs > 0) {
      this.failSyncs--;
      throw this.systemError("EIO", "fdatasync");
    }
    return this.inner.fdatasync(fd);
  };
  fdatasyncSync = (fd: number): void => {
    this.syncs++;
    if (this.failSyncs > 0) {
      this.failSyncs--;
      throw this.systemError("EIO", "fdatasync");
    }
    this.inner.fdatasyncSync(fd);
  };
  syncDirectory = (dirPath: string) => {
    this.checkPath("syncDirectory", dirPath);
    return this.inner.syncDirectory(dirPath);
  };
  syncDirectorySync = (dirPath: string) => {
    this.checkPath("syncDirectorySync", dirPath);
    return this.inner.syncDirectorySync(dirPath);
  };
  sizeOf = (fd: number) => this.inner.sizeOf(fd);
  exists = (filePath: string) => this.inner.exists(filePath);
  mkdirp = (dirPath: string) => {
    this.checkPath("mkdirp", dirPath);
    return this.inner.mkdirp(dirPath);
  };
  readdir = (dirPath: string) => this.inner.readdir(dirPath);
  readFile = (filePath: string) => this.inner.readFile(filePath);
  writeFileAtomic = async (filePath: string, data: Uint8Array) => {
    this.checkPath("writeFileAtomic", filePath);
    return this.inner.writeFileAtomic(filePath, data);
  };
  rename = (from: string, to: string) => {
    this.checkPath("rename", to);
    return this.inner.rename(from, to);
  };
  removeRecursive = (filePath: string) => {
    this.checkPath("removeRecursive", filePath);
    return this.inner.removeRecursive(filePath);
  };
}

export type PathOperation =
  | "openReadWrite"
  | "mkdirp"
  | "removeRecursive"
  | "rename"
  | "writeFileAtomic"
  | "syncDirectory"
  | "syncDirectorySync";

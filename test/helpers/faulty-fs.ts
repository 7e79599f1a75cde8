import type { FileSystem } from "../../src/storage/file-system.ts";
import { nodeFileSystem } from "../../src/storage/file-system.ts";

/**
 * The real file system behind the FileSystem seam, with faults armed on
 * purpose: the next N writes (write or writeChunks; `writes` counts both) fail with ENOSPC (after writing part of their
 * bytes, as a full disk does), or the next N fdatasyncs fail with EIO.
 */
export class FaultyFileSystem implements FileSystem {
  failWrites = 0;
  failSyncs = 0;
  /** Bytes a failing write still puts down before it fails. */
  partialWriteBytes = 5;
  writes = 0;
  syncs = 0;

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

  private systemError(code: string, syscall: string): Error {
    return Object.assign(new Error(`${code}: injected fault, ${syscall}`), { code, syscall });
  }

  openReadWrite = (filePath: string) => this.inner.openReadWrite(filePath);
  openReadOnly = (filePath: string) => this.inner.openReadOnly(filePath);
  close = (fd: number) => this.inner.close(fd);
  write = (fd: number, data: Uint8Array, position: number): number => {
    this.writes++;
    if (this.failWrites > 0) {
      this.failWrites--;
      this.inner.write(fd, data.subarray(0, Math.min(this.partialWriteBytes, data.length)), position);
      throw this.systemError("ENOSPC", "write");
    }
    return this.inner.write(fd, data, position);
  };
  writeChunks = (fd: number, chunks: Uint8Array[], position: number): number => {
    this.writes++;
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
  syncDirectory = (dirPath: string) => this.inner.syncDirectory(dirPath);
  syncDirectorySync = (dirPath: string) => this.inner.syncDirectorySync(dirPath);
  sizeOf = (fd: number) => this.inner.sizeOf(fd);
  exists = (filePath: string) => this.inner.exists(filePath);
  mkdirp = (dirPath: string) => this.inner.mkdirp(dirPath);
  readdir = (dirPath: string) => this.inner.readdir(dirPath);
  readFile = (filePath: string) => this.inner.readFile(filePath);
  writeFileAtomic = (filePath: string, data: Uint8Array) => this.inner.writeFileAtomic(filePath, data);
  rename = (from: string, to: string) => this.inner.rename(from, to);
  removeRecursive = (filePath: string) => this.inner.removeRecursive(filePath);
}

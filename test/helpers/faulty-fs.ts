import type { FileSystem } from "../../src/storage/file-system.ts";
import { nodeFileSystem } from "../../src/storage/file-system.ts";

/**
 * The real file system behind the FileSystem seam, with faults armed on
 * purpose: the next N writes (write or writeChunks; `writes` counts both) fail with ENOSPC (after writing part of their
 * bytes, as a full disk does), or the next N fdatasyncs fail with EIO, or
 * any call on a path that `pathFault` picks fails with the code it names. While
 * `diskFailing` is set, every call that touches the disk (open, read, write,
 * truncate, sync, readdir, ...) fails with EIO, as a disk gone bad does; close
 * and exists still work.
 */
export class FaultyFileSystem implements FileSystem {
  failWrites = 0;
  failSyncs = 0;
  /** Bytes a failing write still puts down before it fails. */
  partialWriteBytes = 5;
  diskFailing = false;
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

  /** Throws EIO while the disk is failing. */
  private checkDisk(syscall: string): void {
    if (this.diskFailing) throw this.systemError("EIO", syscall);
  }

  openReadWrite = (filePath: string) => {
    this.checkDisk("open");
    this.checkPath("openReadWrite", filePath);
    return this.inner.openReadWrite(filePath);
  };
  openReadOnly = (filePath: string) => {
    this.checkDisk("open");
    return this.inner.openReadOnly(filePath);
  };
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
    this.checkDisk("write");
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
    this.checkDisk("pwritev");
    this.useSpace(fd, chunks, position, "pwritev");
    if (this.failWrites > 0) {
      this.failWrites--;
      const first = chunks[0] ?? new Uint8Array(0);
      this.inner.write(fd, first.subarray(0, Math.min(this.partialWriteBytes, first.length)), position);
      throw this.systemError("ENOSPC", "pwritev");
    }
    return this.inner.writeChunks(fd, chunks, position);
  };
  read = (fd: number, buffer: Uint8Array, bufferOffset: number, length: number, position: number) => {
    this.checkDisk("read");
    return this.inner.read(fd, buffer, bufferOffset, length, position);
  };
  truncate = (fd: number, length: number) => {
    this.checkDisk("ftruncate");
    this.inner.truncate(fd, length);
  };
  fdatasync = async (fd: number): Promise<void> => {
    this.syncs++;
    this.checkDisk("fdatasync");
    if (this.failSyncs > 0) {
      this.failSyncs--;
      throw this.systemError("EIO", "fdatasync");
    }
    return this.inner.fdatasync(fd);
  };
  fdatasyncSync = (fd: number): void => {
    this.syncs++;
    this.checkDisk("fdatasync");
    if (this.failSyncs > 0) {
      this.failSyncs--;
      throw this.systemError("EIO", "fdatasync");
    }
    this.inner.fdatasyncSync(fd);
  };
  syncDirectory = async (dirPath: string) => {
    this.checkDisk("fsync");
    this.checkPath("syncDirectory", dirPath);
    return this.inner.syncDirectory(dirPath);
  };
  syncDirectorySync = (dirPath: string) => {
    this.checkDisk("fsync");
    this.checkPath("syncDirectorySync", dirPath);
    this.inner.syncDirectorySync(dirPath);
  };
  sizeOf = (fd: number) => {
    this.checkDisk("fstat");
    return this.inner.sizeOf(fd);
  };
  sizeOfPath = (filePath: string) => {
    this.checkDisk("stat");
    return this.inner.sizeOfPath(filePath);
  };
  exists = (filePath: string) => this.inner.exists(filePath);
  mkdirp = (dirPath: string) => {
    this.checkDisk("mkdir");
    this.checkPath("mkdirp", dirPath);
    this.inner.mkdirp(dirPath);
  };
  readdir = (dirPath: string) => {
    this.checkDisk("scandir");
    return this.inner.readdir(dirPath);
  };
  readFile = (filePath: string) => {
    this.checkDisk("read");
    return this.inner.readFile(filePath);
  };
  writeFileAtomic = async (filePath: string, data: Uint8Array, options?: { mode?: number }) => {
    this.checkDisk("write");
    this.checkPath("writeFileAtomic", filePath);
    return this.inner.writeFileAtomic(filePath, data, options);
  };
  rename = (from: string, to: string) => {
    this.checkDisk("rename");
    this.checkPath("rename", to);
    this.inner.rename(from, to);
  };
  removeRecursive = (filePath: string) => {
    this.checkDisk("unlink");
    this.checkPath("removeRecursive", filePath);
    this.inner.removeRecursive(filePath);
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

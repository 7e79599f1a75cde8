import { assert } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import type { FileSystem } from "./file-system.ts";

/**
 * A bounded set of open descriptors for many files (one pool per broker,
 * shared by every partition's segment files), so that a partition costs what
 * it holds, not what it is: a file is opened on its first use, kept open
 * while it is used, and closed, least recently used first, when another file
 * needs the slot. An idle partition holds no descriptor.
 *
 * A descriptor is never closed under its user:
 * - synchronous uses (a read, a write, a truncation) take `PooledFile.fd`
 *   and use it before anything else is opened: the file is then the most
 *   recently used, and the pool never holds fewer than POOL_CAPACITY_MIN
 *   files, so it is not the one closed next;
 * - an fdatasync (the only asynchronous use) holds the file pinned from the
 *   moment the call starts until it returns.
 * When every open file is pinned, an open goes past the capacity (counted in
 * `overshoots`) and the pool closes files again as they are unpinned; at most
 * half the capacity in fdatasyncs run at once (the rest wait their turn,
 * holding no descriptor), so that does not happen under load.
 *
 * Durability: the pool sees every write, truncation and fdatasync made
 * through its `fs`, so it knows which files were written since their last
 * fdatasync. Such a file is fdatasync'ed before its descriptor is closed: an
 * error of the write-back is reported only to descriptors open when it
 * happens (Linux's errseq), so a close before the sync could hide it from the
 * next fdatasync, made through a new descriptor. A failed fdatasync there is
 * handed to the file's owner (`onSyncFailed`: the partition goes offline and
 * through recovery, never retried-and-continued), and every later fdatasync
 * of that file fails with it.
 */
export class DescriptorPool {
  /** The file system seen through the pool: what owners of pooled files write and sync through. */
  readonly fs: FileSystem;
  /** Open files, least recently used first (a Set keeps insertion order; a use moves a file to the end). */
  private readonly open = new Set<PooledFile>();
  private readonly byDescriptor = new Map<number, PooledFile>();
  private syncsRunning = 0;
  private readonly syncsWaiting: (() => void)[] = [];
  /** Descriptors opened and closed by the pool since it began (for tests and the operations doc). */
  opens = 0;
  evictions = 0;
  /** Evictions that had to fdatasync a written file first. */
  evictionSyncs = 0;
  /** Opens that went past the capacity because every open file was pinned. */
  overshoots = 0;
  /** The most descriptors the pool held at once. */
  peakOpen = 0;

  constructor(
    readonly inner: FileSystem,
    /** Descriptors the pool keeps open at most (limits.openFilesMax…, src/broker/open-files.ts). */
    readonly capacity: number,
  ) {
    assert(Number.isInteger(capacity) && capacity >= POOL_CAPACITY_MIN, `a descriptor pool holds at least ${POOL_CAPACITY_MIN} files, not ${capacity}`);
    this.fs = pooledFileSystem(this);
  }

  /** Descriptors open now. */
  get openCount(): number {
    return this.open.size;
  }

  /**
   * A file of the pool, not opened yet (opened read-write, created when
   * missing, on first use). `onSyncFailed` is told when the fdatasync before
   * an eviction fails.
   */
  file(filePath: string, onSyncFailed?: (error: unknown) => void): PooledFile {
    return new PooledFile(this, filePath, onSyncFailed);
  }

  /** The pooled file behind an open descriptor, if it is one of the pool's. */
  fileOf(fd: number): PooledFile | undefined {
    return this.byDescriptor.get(fd);
  }

  /** @internal Opens `file`, first closing the least recently used file when the pool is full. */
  openDescriptor(file: PooledFile): number {
    if (this.open.size >= this.capacity && !this.evictOne()) this.overshoots++;
    let fd: number;
    try {
      fd = this.inner.openReadWrite(file.path);
    } catch (error) {
      // A disk fault, not a bug: the read or write that needed the file is answered 503 and may be retried.
      const reason = error instanceof Error ? error.message : String(error);
      throw new GafkaError("storage_failed", `cannot open ${file.path}: ${reason}`, { retriable: true, cause: error });
    }
    this.opens++;
    this.open.add(file);
    this.byDescriptor.set(fd, file);
    if (this.open.size > this.peakOpen) this.peakOpen = this.open.size;
    return fd;
  }

  /** @internal `file` was used: it becomes the most recently used. */
  touch(file: PooledFile): void {
    this.open.delete(file);
    this.open.add(file);
  }

  /** @internal `file`'s descriptor was closed. */
  forget(file: PooledFile, fd: number): void {
    this.open.delete(file);
    this.byDescriptor.delete(fd);
  }

  /** @internal A pin was dropped: close what went past the capacity meanwhile. */
  unpinned(): void {
    while (this.open.size > this.capacity && this.evictOne()) {
      // One file closed per turn of the loop.
    }
  }

  /** Closes the least recently used unpinned file; false when every open file is pinned. */
  private evictOne(): boolean {
    for (const file of this.open) {
      if (file.pinned) continue;
      if (file.dirty) this.evictionSyncs++;
      file.closeDescriptor(true);
      this.evictions++;
      return true;
    }
    return false;
  }

  /** @internal Waits for a turn to run an fdatasync (at most half the capacity run at once). */
  async syncTurn(): Promise<void> {
    if (this.syncsRunning < Math.max(1, this.capacity >> 1)) {
      this.syncsRunning++;
      return;
    }
    await new Promise<void>((resolve) => this.syncsWaiting.push(resolve));
  }

  /** @internal An fdatasync finished: the next waiting one runs. */
  syncDone(): void {
    const next = this.syncsWaiting.shift();
    if (next) next();
    else this.syncsRunning--;
  }
}

/** Below this a synchronous use of two files at once could see the first closed under it. */
export const POOL_CAPACITY_MIN = 4;

/**
 * One file of a DescriptorPool: a path, and a descriptor while the pool
 * holds it open. Writes and fdatasyncs go through the pool's `fs`, so it
 * knows what is not yet synced.
 */
export class PooledFile {
  private descriptor = -1;
  private pins = 0;
  /** Writes (and truncations) made through the pool, and how many of them the last good fdatasync covered. */
  private writes = 0;
  private syncedWrites = 0;
  /** A failed fdatasync at eviction: every later fdatasync of the file fails with it. */
  private syncFailure: unknown;
  private closed = false;

  constructor(
    private readonly pool: DescriptorPool,
    readonly path: string,
    private readonly onSyncFailed: ((error: unknown) => void) | undefined,
  ) {}

  /**
   * The open descriptor, opening the file when the pool closed it (or never
   * opened it); the file becomes the most recently used. Use it at once, in
   * the same synchronous stretch: it may be closed once other files are opened.
   */
  get fd(): number {
    assert(!this.closed, `${this.path} was closed for good`);
    if (this.descriptor < 0) this.descriptor = this.pool.openDescriptor(this);
    else this.pool.touch(this);
    return this.descriptor;
  }

  get isOpen(): boolean {
    return this.descriptor >= 0;
  }

  get pinned(): boolean {
    return this.pins > 0;
  }

  /** Written since its last good fdatasync. */
  get dirty(): boolean {
    return this.writes > this.syncedWrites;
  }

  /** @internal A write or truncation is about to change the file. */
  written(): void {
    this.writes++;
  }

  /** @internal A synchronous fdatasync of the open descriptor. */
  syncNow(): void {
    const covered = this.writes;
    this.pool.inner.fdatasyncSync(this.descriptor);
    this.syncedWrites = Math.max(this.syncedWrites, covered);
  }

  /**
   * fdatasync of everything written before the call: waits its turn holding
   * no descriptor (an eviction meanwhile syncs it, and then there is nothing
   * left to do), then pins the file while the fdatasync runs.
   */
  async sync(): Promise<void> {
    const wanted = this.writes;
    await this.pool.syncTurn();
    try {
      if (this.syncFailure !== undefined) throw this.syncFailure;
      // Nothing written since a good fdatasync (an eviction's, say): nothing to do.
      if (this.syncedWrites >= wanted) return;
      if (this.closed) throw new Error(`${this.path} was closed before its fdatasync`);
      const fd = this.fd;
      const covered = this.writes;
      this.pins++;
      try {
        await this.pool.inner.fdatasync(fd);
      } finally {
        this.pins--;
      }
      this.syncedWrites = Math.max(this.syncedWrites, covered);
    } finally {
      if (this.closed && this.pins === 0) this.closeDescriptor(false);
      this.pool.syncDone();
      this.pool.unpinned();
    }
  }

  /**
   * Closes the descriptor for good, without an fdatasync (the owner synced
   * what it must, or the file is deleted or given up for recovery); when an
   * fdatasync runs on it, once that returns.
   */
  close(): void {
    this.closed = true;
    if (this.pins === 0) this.closeDescriptor(false);
  }

  /**
   * @internal Closes the descriptor; `syncFirst` (an eviction): a written
   * file is fdatasync'ed first, and a failure there goes to the owner.
   */
  closeDescriptor(syncFirst: boolean): void {
    const fd = this.descriptor;
    if (fd < 0) return;
    if (syncFirst && this.dirty) {
      try {
        this.syncNow();
      } catch (error) {
        this.syncFailure = error;
        this.onSyncFailed?.(error);
      }
    }
    this.descriptor = -1;
    this.pool.forget(this, fd);
    try {
      this.pool.inner.close(fd);
    } catch {
      // Closing is best effort; the descriptor is gone either way.
    }
  }
}

/** The pool's view of the file system: the same calls, noting writes and syncs of pooled descriptors. */
function pooledFileSystem(pool: DescriptorPool): FileSystem {
  const inner = pool.inner;
  return {
    openReadWrite: (filePath) => inner.openReadWrite(filePath),
    openReadOnly: (filePath) => inner.openReadOnly(filePath),
    close(fd) {
      const file = pool.fileOf(fd);
      if (file) file.close();
      else inner.close(fd);
    },
    write(fd, data, position) {
      pool.fileOf(fd)?.written();
      return inner.write(fd, data, position);
    },
    writeChunks(fd, chunks, position) {
      pool.fileOf(fd)?.written();
      return inner.writeChunks(fd, chunks, position);
    },
    read: (fd, buffer, bufferOffset, length, position) => inner.read(fd, buffer, bufferOffset, length, position),
    truncate(fd, length) {
      pool.fileOf(fd)?.written();
      inner.truncate(fd, length);
    },
    fdatasync(fd) {
      const file = pool.fileOf(fd);
      return file ? file.sync() : inner.fdatasync(fd);
    },
    fdatasyncSync(fd) {
      const file = pool.fileOf(fd);
      if (file) file.syncNow();
      else inner.fdatasyncSync(fd);
    },
    syncDirectory: (dirPath) => inner.syncDirectory(dirPath),
    syncDirectorySync: (dirPath) => inner.syncDirectorySync(dirPath),
    sizeOf: (fd) => inner.sizeOf(fd),
    sizeOfPath: (filePath) => inner.sizeOfPath(filePath),
    exists: (filePath) => inner.exists(filePath),
    mkdirp: (dirPath) => inner.mkdirp(dirPath),
    readdir: (dirPath) => inner.readdir(dirPath),
    readFile: (filePath) => inner.readFile(filePath),
    writeFileAtomic: (filePath, data, options) => inner.writeFileAtomic(filePath, data, options),
    rename: (from, to) => inner.rename(from, to),
    removeRecursive: (filePath) => inner.removeRecursive(filePath),
  };
}

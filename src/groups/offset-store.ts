import { type Clock, systemClock } from "../core/clock.ts";
import * as path from "node:path";
import { assert } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "../storage/file-system.ts";
import { encodeFrame, FRAME_HEADER_BYTES, frameChecksum, readFrameHeader } from "../storage/frame.ts";
import { cutFile } from "../storage/log-loader.ts";
import { describe, LogWriter } from "../storage/log-writer.ts";

/**
 * Committed consumer-group offsets, durable: a commit resolves only after it
 * is fdatasync'ed (concurrent commits share one fdatasync).
 *
 * On disk, `<dataDir>/consumer-offsets.log` is a sequence of frames in the
 * segment frame format (src/storage/frame.ts: length, CRC32, payload) whose
 * payload is one UTF-8 JSON commit entry: {"g":group,"t":topic,"p":partition,
 * "o":offset,"ts":ms}; an offset of -1 is a tombstone (group deleted). Replay
 * keeps the last entry per (group, topic, partition). When the file holds many
 * more entries than live offsets it is compacted: the live entries are written
 * to a new file, fsynced, and renamed over the old one.
 *
 * Recovery: a torn last frame is cut off (it was never acknowledged); a bad
 * frame followed by more data is corruption and refuses to open.
 *
 * Writes go through the log writer the partitions use
 * (src/storage/log-writer.ts), with its fsync-failure policy: a failed
 * fdatasync is never retried-and-continued. The commits it covered, and
 * every commit written after them, are rejected and dropped (the file is
 * cut back to the last good fdatasync and the written view is replayed from
 * it); meanwhile the store is offline and refuses commits (503
 * storage_failed, retriable); it reopens through recovery at once and then
 * every second until the disk answers. Sequences are never reused: those of
 * dropped writes are skipped.
 *
 * Two views. Every write gets a sequence number (in memory, counting from 1
 * each time the store opens; replication names its position in the offsets
 * stream by it). The *written* view (get, offsetsOf) holds every write at
 * once, durable or not: where a member reads on from, and what replication
 * ships. The *acknowledged* view (acknowledged, acknowledgedOf) holds the
 * writes through the sequence the store's user has acknowledged
 * (acknowledge): with min.insync.replicas >= 2, only what enough replicas
 * hold; it is what the group's status reports as committed, so a commit that
 * was refused for want of copies is never shown as committed. What the file
 * holds when the store opens is acknowledged: it was durable.
 */
export interface CommittedOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  committedAtMs: number;
}

export interface OffsetStoreOptions {
  dataDir: string;
  fs: FileSystem;
  logger: Logger;
  /** Drives the reopen retry after a failed fsync; the system clock when absent. */
  clock?: Clock;
  /** Compact when entries exceed this many and four times the live offsets. */
  compactAfterEntries?: number;
}

const FILE_NAME = "consumer-offsets.log";
const TOMBSTONE = -1;

interface Entry {
  g: string;
  t: string;
  p: number;
  o: number;
  ts: number;
}

/** `sequence`: the write's number, for replication's offsets stream. */
type CommitListener = (entries: readonly CommittedOffset[], sequence: number) => void;

function keyOf(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}

export class OffsetStore {
  private readonly offsets = new Map<string, CommittedOffset>();
  /** The acknowledged view: `offsets` as of acknowledgedSequence. */
  private readonly acknowledgedOffsets = new Map<string, CommittedOffset>();
  /** Writes past acknowledgedSequence, oldest first (at most limits.offsetWritesUnacknowledgedMax). */
  private unacknowledged: { sequence: number; entries: Entry[] }[] = [];
  private writtenSequence = 0;
  private acknowledgedSequence = 0;
  /** The last write covered by a good fdatasync (what a recovery keeps). */
  private durableSequence = 0;
  private fd = -1;
  /** Bytes of the file, counting a write being made. */
  private sizeBytes = 0;
  private entries = 0;
  private readonly writer: LogWriter<number>;
  private readonly listeners: CommitListener[] = [];
  private readonly filePath: string;
  private readonly compactAfterEntries: number;
  /** While a compaction runs: the frames committed since its snapshot, for the new file. */
  private sinceSnapshot: Uint8Array[] | undefined;

  private constructor(private readonly options: OffsetStoreOptions) {
    this.filePath = path.join(options.dataDir, FILE_NAME);
    this.compactAfterEntries = options.compactAfterEntries ?? 10_000;
    this.writer = new LogWriter<number>({
      subject: "offset store",
      fs: options.fs,
      logger: options.logger,
      clock: options.clock ?? systemClock,
      fsyncPolicy: { kind: "always" },
      offlineCode: "storage_failed",
      host: {
        file: () => ({ fd: this.fd, endPosition: this.sizeBytes, nextOffset: this.writtenSequence + 1 }),
        writeCutOff: (position) => {
          this.sizeBytes = position;
        },
        durable: (nextSequence) => {
          this.durableSequence = Math.max(this.durableSequence, nextSequence - 1);
        },
        afterCommit: () => (this.entries > this.compactAfterEntries && this.entries > 4 * this.offsets.size ? this.compact() : undefined),
        recover: () => this.recover(),
      },
    });
  }

  static open(options: OffsetStoreOptions): OffsetStore {
    const store = new OffsetStore(options);
    store.load();
    store.writer.loaded(store.sizeBytes, 1);
    return store;
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(keyOf(group, topic, partition));
  }

  /** Every group with at least one committed offset. */
  groups(): string[] {
    const groups = new Set<string>();
    for (const committed of this.offsets.values()) groups.add(committed.group);
    return [...groups].sort();
  }

  /** Whether the group has a committed offset (stops at the first). */
  hasGroup(group: string): boolean {
    for (const committed of this.offsets.values()) if (committed.group === group) return true;
    return false;
  }

  offsetsOf(group: string): CommittedOffset[] {
    return sortedOf(this.offsets, group);
  }

  /** The group's offset for the partition as last acknowledged (see the class comment). */
  acknowledged(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.acknowledgedOffsets.get(keyOf(group, topic, partition));
  }

  /** Every acknowledged offset by group, in one pass over the store (acknowledgedOf scans it all for one group). */
  acknowledgedByGroup(): Map<string, CommittedOffset[]> {
    const byGroup = new Map<string, CommittedOffset[]>();
    for (const committed of this.acknowledgedOffsets.values()) {
      const list = byGroup.get(committed.group);
      if (list === undefined) byGroup.set(committed.group, [committed]);
      else list.push(committed);
    }
    return byGroup;
  }

  acknowledgedOf(group: string): CommittedOffset[] {
    return sortedOf(this.acknowledgedOffsets, group);
  }

  /** The sequence of the last write (0 before any since the store opened). */
  get lastSequence(): number {
    return this.writtenSequence;
  }

  /**
   * Called with every durable change and its sequence, in sequence order
   * (replication ships them to followers), before commit() resolves.
   */
  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  /**
   * Writes the entries (the written view has them at once) and resolves
   * with the write's sequence once every entry is fdatasync'ed; then it
   * survives a crash. The acknowledged view has them only after
   * acknowledge(sequence). Resolves with 0 when there is nothing to write.
   * Refused (503 not_enough_replicas) while limits.offsetWritesUnacknowledgedMax
   * writes await their acknowledgement, and (503 storage_failed) while the
   * store is offline after a failed fsync (see the class comment).
   */
  commit(entries: readonly CommittedOffset[]): Promise<number> {
    if (entries.length === 0) return Promise.resolve(0);
    if (this.writer.status !== "online") return Promise.reject(this.writer.offlineError());
    if (this.unacknowledged.length >= limits.offsetWritesUnacknowledgedMax) {
      return Promise.reject(
        new GafkaError(
          "not_enough_replicas",
          `${this.unacknowledged.length} offset commits await their copies on the followers; commits are refused until the followers catch up`,
          { retriable: true },
        ),
      );
    }
    const frames = entries.map(encodeEntry);
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    const sequence = this.writtenSequence + 1;
    this.sizeBytes += bytes;
    // Written at once, in one gathered write; acknowledged by the writer's group commit.
    const durable = this.writer.append(frames, bytes, sequence, sequence, sequence + 1);
    const failure = this.writer.writeNow();
    if (failure !== undefined) {
      durable.catch(() => {});
      return Promise.reject(this.storageError(failure.cause));
    }
    this.written(sequence, entries, frames);
    return durable.then(() => {
      for (const listener of this.listeners) listener(entries, sequence);
      return sequence;
    });
  }

  /**
   * Every write through `sequence` is acknowledged (enough replicas hold it):
   * the acknowledged view takes it. Acknowledging covers every earlier write
   * too, as replication's positions do.
   */
  acknowledge(sequence: number): void {
    if (sequence <= this.acknowledgedSequence) return;
    this.acknowledgedSequence = Math.min(sequence, this.writtenSequence);
    let taken = 0;
    for (const write of this.unacknowledged) {
      if (write.sequence > this.acknowledgedSequence) break;
      for (const entry of write.entries) applyEntry(this.acknowledgedOffsets, entry);
      taken++;
    }
    this.unacknowledged = this.unacknowledged.slice(taken);
  }

  /** Removes every committed offset of the group, durably; resolves with the write's sequence (0 if there was none). */
  deleteGroup(group: string, nowMs: number): Promise<number> {
    const tombstones = this.offsetsOf(group).map((committed) => ({ ...committed, offset: TOMBSTONE, committedAtMs: nowMs }));
    return this.commit(tombstones);
  }

  async close(): Promise<void> {
    await this.writer.close();
    if (this.fd >= 0) this.options.fs.close(this.fd);
    this.fd = -1;
  }

  private storageError(error: unknown): GafkaError {
    const message = error instanceof Error ? error.message : String(error);
    return new GafkaError("storage_failed", `committing offsets failed: ${message}`, { retriable: true, cause: error });
  }

  /** The write `sequence` of `committed` (as `frames`) is in the file: the written view takes it. */
  private written(sequence: number, committed: readonly CommittedOffset[], frames: Uint8Array[]): void {
    assert(sequence === this.writtenSequence + 1, "write sequences grow by one");
    this.sinceSnapshot?.push(...frames);
    const written = committed.map(entryOf);
    for (const entry of written) {
      this.entries++;
      applyEntry(this.offsets, entry);
    }
    this.writtenSequence = sequence;
    this.unacknowledged.push({ sequence, entries: written });
  }

  /**
   * Rewrites the file with only the live offsets: temp file, fsync, rename,
   * directory fsync. Its fsyncs run off the event loop (they are slow, and
   * every request would wait behind them); commits made meanwhile go to the
   * old file as usual and are also kept in `sinceSnapshot`, then written to
   * the new file just before the swap, so it holds everything. The directory
   * fsync ends before the group commit's next round, so nothing that exists
   * only in the new file is acknowledged before its name is durable.
   */
  private async compact(): Promise<void> {
    const fs = this.options.fs;
    const temporaryPath = `${this.filePath}.compact`;
    const snapshot = [...this.offsets.values()].map(encodeEntry);
    const sinceSnapshot: Uint8Array[] = [];
    this.sinceSnapshot = sinceSnapshot;
    let fd = -1;
    let position = 0;
    let snapshotBytes = 0;
    try {
      fd = fs.openReadWrite(temporaryPath);
      fs.truncate(fd, 0);
      if (snapshot.length > 0) position = fs.writeChunks(fd, snapshot, 0);
      await fs.fdatasync(fd);
      snapshotBytes = position;
      // No await from here to the swap: nothing can be committed in between.
      if (sinceSnapshot.length > 0) position += fs.writeChunks(fd, sinceSnapshot, position);
      fs.rename(temporaryPath, this.filePath);
    } catch (error) {
      this.sinceSnapshot = undefined;
      if (fd >= 0) fs.close(fd);
      this.options.logger.warn(`offset store: compaction skipped: ${error instanceof Error ? error.message : error}`);
      return;
    }
    this.sinceSnapshot = undefined;
    fs.close(this.fd);
    this.fd = fd;
    // Only the snapshot was fdatasync'ed; what was committed meanwhile waits for the next round.
    this.writer.durablePosition = snapshotBytes;
    this.sizeBytes = position;
    this.entries = snapshot.length + sinceSnapshot.length;
    try {
      await fs.syncDirectory(this.options.dataDir);
    } catch (error) {
      // The rename may not be durable, so neither are commits that are only in the new file: the fsync-failure policy.
      this.writer.fail(`directory fsync after compaction failed: ${describe(error)}`);
    }
  }

  /** Opens the file and replays it into both views: what it holds was durable, so it is acknowledged. */
  private load(): void {
    this.options.fs.mkdirp(this.options.dataDir);
    this.replay((entry) => {
      applyEntry(this.offsets, entry);
      applyEntry(this.acknowledgedOffsets, entry);
    });
  }

  /**
   * The writer's reopen after a failed fsync: cuts the file back to the last
   * good fdatasync and replays the written view from it. The acknowledged
   * view stays as it was (all of it is durable), and writes dropped by the
   * cut no longer await acknowledgement.
   */
  private recover(): void {
    const fs = this.options.fs;
    if (this.fd >= 0) {
      try {
        fs.close(this.fd);
      } catch {
        // Best effort; the file is opened again below.
      }
      this.fd = -1;
    }
    cutFile(fs, this.filePath, this.writer.durablePosition);
    this.offsets.clear();
    this.entries = 0;
    this.replay((entry) => applyEntry(this.offsets, entry));
    this.unacknowledged = this.unacknowledged.filter((write) => write.sequence <= this.durableSequence);
    this.writer.loaded(this.sizeBytes, this.writtenSequence + 1);
  }

  /** Opens the file and hands each whole entry to `apply`, cutting a torn tail; sets fd, sizeBytes, entries. */
  private replay(apply: (entry: Entry) => void): void {
    const fs = this.options.fs;
    this.fd = fs.openReadWrite(this.filePath);
    const bytes = fs.readFile(this.filePath);
    let position = 0;
    while (position < bytes.length) {
      const problem = this.frameProblem(bytes, position);
      if (problem === undefined) {
        const { batchBytes } = readFrameHeader(bytes, position);
        const payload = bytes.subarray(position + FRAME_HEADER_BYTES, position + FRAME_HEADER_BYTES + batchBytes);
        apply(JSON.parse(new TextDecoder().decode(payload)) as Entry);
        this.entries++;
        position += FRAME_HEADER_BYTES + batchBytes;
        continue;
      }
      if (this.validFrameAfter(bytes, position)) {
        fs.close(this.fd);
        this.fd = -1;
        throw new GafkaError(
          "log_corrupt",
          `${this.filePath} is corrupt at position ${position} (${problem}) and valid entries follow; refusing to guess committed offsets`,
          { details: { file: this.filePath, position } },
        );
      }
      this.options.logger.warn(`offset store: cut a torn tail of ${bytes.length - position} bytes from ${this.filePath} at position ${position}`);
      fs.truncate(this.fd, position);
      fs.fdatasyncSync(this.fd);
      break;
    }
    this.sizeBytes = position;
  }

  private frameProblem(bytes: Uint8Array, position: number): string | undefined {
    if (position + FRAME_HEADER_BYTES > bytes.length) return "partial frame header";
    const { batchBytes, checksum } = readFrameHeader(bytes, position);
    const end = position + FRAME_HEADER_BYTES + batchBytes;
    if (batchBytes === 0 || end > bytes.length) return "partial frame";
    if (frameChecksum(bytes.subarray(position + FRAME_HEADER_BYTES, end)) !== checksum) return "checksum mismatch";
    return undefined;
  }

  private validFrameAfter(bytes: Uint8Array, position: number): boolean {
    for (let candidate = position + 1; candidate + FRAME_HEADER_BYTES < bytes.length; candidate++) {
      if (this.frameProblem(bytes, candidate) === undefined) return true;
    }
    return false;
  }
}

function applyEntry(offsets: Map<string, CommittedOffset>, entry: Entry): void {
  const key = keyOf(entry.g, entry.t, entry.p);
  if (entry.o === TOMBSTONE) offsets.delete(key);
  else offsets.set(key, { group: entry.g, topic: entry.t, partition: entry.p, offset: entry.o, committedAtMs: entry.ts });
}

function sortedOf(offsets: Map<string, CommittedOffset>, group: string): CommittedOffset[] {
  return [...offsets.values()]
    .filter((committed) => committed.group === group)
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

function entryOf(committed: CommittedOffset): Entry {
  return { g: committed.group, t: committed.topic, p: committed.partition, o: committed.offset, ts: committed.committedAtMs };
}

const entryEncoder = new TextEncoder();

function encodeEntry(committed: CommittedOffset): Uint8Array {
  return encodeFrame(entryEncoder.encode(JSON.stringify(entryOf(committed))));
}

import { assert } from "../core/assert.ts";
import type { Clock, Timer } from "../core/clock.ts";
import { GafkaError, systemErrorCode } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { assertFramesWhole } from "./frame.ts";
import type { FsyncPolicy } from "./fsync-policy.ts";
import type { JournalAppend } from "./commit-journal.ts";
import type { PartitionStatus } from "./log-types.ts";

/**
 * The file a LogWriter appends to, as its owner sees it now: for a partition
 * the active segment, for the offset store its one file.
 */
export interface WriterFile {
  /** Its descriptor (a pooled file is opened when this is read: read it only to use it). */
  readonly fd: number;
  /**
   * What stays the same while the file does (the segment), when its
   * descriptor may be closed and another opened (a pooled file): the
   * descriptor's number then says nothing. Absent: the descriptor.
   */
  readonly identity?: unknown;
  /** Written since its last fdatasync, when the owner knows (a pooled file); undefined: unknown. */
  readonly dirty?: boolean;
  /** Bytes of the file once every held write is written: held bytes are already counted. */
  endPosition: number;
  /** One past the last offset the file holds once the held writes are written. */
  nextOffset: number;
}

/** What a LogWriter needs from the log it writes for. Called synchronously; none may throw unless said. */
export interface LogWriterHost {
  /** The file appends go to now. */
  file(): WriterFile;
  /**
   * A write failed and was cut off at `position`: the owner forgets the
   * `bytes` it had counted from `firstOffset` on (that offset is given out again).
   */
  writeCutOff(position: number, firstOffset: number, bytes: number): void;
  /** Everything below `nextOffset` is acknowledged under the fsync policy. */
  durable(nextOffset: number): void;
  /** After each group commit's acknowledgements, before the next round (the offset store compacts here). */
  afterCommit?(): Promise<void> | undefined;
  /**
   * Reopens the log from its files, cutting what lies past the last good
   * fdatasync (LogWriter.durablePosition): the same path as a start. Throws
   * when it cannot: a GafkaError `log_corrupt` ends the retries for good.
   */
  recover(): void;
}

export interface LogWriterOptions {
  /** Who writes, for messages: "partition orders-3", "offset store". */
  subject: string;
  fs: FileSystem;
  logger: Logger;
  /** Times fsyncs and drives the interval fsync and the reopen retry. */
  clock: Clock;
  fsyncPolicy: FsyncPolicy;
  /** The error code of a write refused while offline. */
  offlineCode: "partition_offline" | "storage_failed";
  host: LogWriterHost;
  /**
   * Under `always`, the shared commit journal (src/storage/commit-journal.ts):
   * a group commit is made durable through it (JournalLink.durable: by the
   * file's own fdatasync, or, for a small round while other partitions flush
   * theirs, by the journal's one fdatasync for many partitions).
   */
  journal?: { durable(appends: readonly JournalAppend[], bytes: number, fdatasync: () => Promise<void>): Promise<void> };
  /** After every successful fdatasync of appended data: its duration, records (offsets) and bytes. Must not throw. */
  onFsync?: (durationSeconds: number, records: number, bytes: number) => void;
}

/** A write whose bytes are held (in `unwritten`: about to be written) or written, and whose promise waits. */
interface PendingWrite<T> {
  result: T;
  /** Whole frames, or frame headers and their batches in turn, to write in order. */
  chunks: readonly Uint8Array[];
  /** Bytes of `chunks`. */
  bytes: number;
  /** The first offset (for the offset store: sequence) the chunks hold. */
  firstOffset: number;
  /** One past the last. */
  nextOffset: number;
  /** The first append in a segment begun for it (the journal records it, so a replay rolls there too). */
  startsSegment: boolean;
  resolve: (result: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Under `always`, frames appended while an fdatasync runs are held and
 * written together just before the next one (one write for many small
 * produces); once this many bytes are held they are written at the end of
 * their turn instead, so that copying large batches into the page cache
 * overlaps the running fdatasync rather than delaying the next.
 */
const HELD_WHILE_SYNCING_BYTES_MAX = 64 * 1024;
/** How long an offline log waits before trying its reopen again (docs/operations.md). */
const REOPEN_RETRY_MS = 1000;

/**
 * The one write pipeline of gafka's logs (partition logs and the offset
 * store): gathered writes, group commit, the interval fsync and the
 * fsync-failure policy.
 *
 * Durability contract of append(): the promise resolves when the frames are
 * - fdatasync'ed (policy `always`; every write that arrived while the
 *   previous fdatasync ran shares the next one — group commit), or
 * - written to the OS (policies `interval:<ms>` and `never`).
 *
 * Writes are gathered: every append held in one turn of the event loop
 * (and, under `always`, the small ones appended while the previous
 * fdatasync ran) goes to disk in ONE write (pwritev through the FileSystem
 * seam), at the end of the turn or just before the group commit's
 * fdatasync; writeNow() writes at once. Each frame's CRC32 is checked just
 * before its write (the pair of the check every read makes).
 *
 * Failures: a failed write is cut off and every append in it is rejected
 * (their offsets are given out again); the log goes on. A failed fsync is
 * never retried-and-continued: everything not yet durably acknowledged is
 * rejected and dropped, the log goes offline and is reopened through
 * recovery (host.recover), tried again every REOPEN_RETRY_MS while the disk
 * stays bad.
 */
export class LogWriter<T> {
  status: PartitionStatus = "offline";
  statusMessage: string | undefined = "opening";
  /** Position in the current file covered by the last good fdatasync. */
  durablePosition = 0;
  /** One past the last offset the interval sync covered (what its next fsync reports as records). */
  intervalSyncedOffset = 0;
  /** Appended in this turn (or during the running fdatasync), not yet written: one write takes them all. */
  private unwritten: PendingWrite<T>[] = [];
  /** Bytes of the writes in `unwritten`: the last ones of the current file. */
  private heldBytes = 0;
  private flushScheduled = false;
  /** Written, waiting for the fdatasync that acknowledges them (policy `always`). */
  private pendingAcks: PendingWrite<T>[] = [];
  private syncInFlight: Promise<void> | undefined;
  private intervalTimer: Timer | undefined;
  /** The next reopen attempt, while the log is offline. */
  private reopenTimer: Timer | undefined;
  private closed = false;
  private readonly host: LogWriterHost;

  constructor(private readonly options: LogWriterOptions) {
    this.host = options.host;
  }

  /** Bytes appended but not yet written (readers of the file stop before them). */
  get unwrittenBytes(): number {
    return this.heldBytes;
  }

  get hasUnwritten(): boolean {
    return this.unwritten.length > 0;
  }

  /** Starts the interval policy's timer (nothing under the other policies). */
  startIntervalSync(): void {
    if (this.options.fsyncPolicy.kind === "interval") {
      this.intervalTimer = this.options.clock.setInterval(() => this.syncDirty(), this.options.fsyncPolicy.intervalMs);
    }
  }

  /**
   * Holds `chunks` (`bytes` of frames holding [firstOffset, nextOffset),
   * already counted by the owner in its file's size) until the turn's one
   * write; resolves with `result` once they are durable per the fsync policy.
   */
  append(chunks: readonly Uint8Array[], bytes: number, result: T, firstOffset: number, nextOffset: number, startsSegment = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.unwritten.push({ result, chunks, bytes, firstOffset, nextOffset, startsSegment, resolve, reject });
      this.heldBytes += bytes;
      this.scheduleFlush();
    });
  }

  /** The error for a write refused because the log is not online. */
  offlineError(): GafkaError {
    return new GafkaError(this.options.offlineCode, `${this.options.subject} is offline: ${this.statusMessage}`, { retriable: true });
  }

  /**
   * End of the turn: write what was appended. Under `always` the group
   * commit writes it, just before its fdatasync; while an fdatasync runs the
   * frames wait for it to finish, so they share the next write and fsync.
   */
  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    if (this.status !== "online") return;
    if (this.options.fsyncPolicy.kind !== "always") {
      this.writeUnwritten();
    } else if (!this.syncInFlight) {
      this.writeUnwritten();
      if (this.pendingAcks.length > 0 && this.status === "online") this.syncInFlight = this.groupCommit();
    } else if (this.heldBytes >= HELD_WHILE_SYNCING_BYTES_MAX) {
      // Big frames are written now, while the fsync runs, not on the group commit's critical path.
      this.writeUnwritten();
    }
  };

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flushTurn);
  }

  /**
   * Writes every held append at the end of the file in one gathered write.
   * Under `always` they then wait for the group commit's fdatasync;
   * otherwise they are acknowledged now. A failed write is cut off, handed
   * back to the owner (host.writeCutOff) and rejects every append in it; the
   * error is returned.
   */
  private writeUnwritten(): GafkaError | undefined {
    const appends = this.unwritten;
    if (appends.length === 0) return undefined;
    const bytes = this.heldBytes;
    this.unwritten = [];
    this.heldBytes = 0;
    const file = this.host.file();
    const position = file.endPosition - bytes;
    assert(position >= this.durablePosition || this.options.fsyncPolicy.kind !== "always", "a write never lands before the last good fdatasync");
    const only = appends.length === 1 && appends[0]!.chunks.length === 1 ? appends[0]!.chunks[0] : undefined;
    const chunks = only === undefined ? appends.flatMap((each) => each.chunks) : [only];
    // The pair of the check every read makes: what goes to disk is whole frames with good checksums.
    assertFramesWhole(chunks, bytes);
    try {
      if (only !== undefined) this.options.fs.write(file.fd, only, position);
      else this.options.fs.writeChunks(file.fd, chunks, position);
    } catch (error) {
      return this.cutOff(appends, file.fd, position, bytes, error);
    }
    if (this.options.fsyncPolicy.kind === "always") {
      for (const append of appends) this.pendingAcks.push(append);
      return undefined;
    }
    this.host.durable(appends[appends.length - 1]!.nextOffset);
    for (const append of appends) append.resolve(append.result);
    return undefined;
  }

  private cutOff(appends: PendingWrite<T>[], fd: number, position: number, bytes: number, error: unknown): GafkaError {
    try {
      this.options.fs.truncate(fd, position);
    } catch (truncateError) {
      this.fail(`cannot cut off a failed write: ${describe(truncateError)}`);
    }
    // The next append takes the first offset these would have had.
    this.host.writeCutOff(position, appends[0]!.firstOffset, bytes);
    const full = systemErrorCode(error) === "ENOSPC";
    const failure = new GafkaError(
      full ? "storage_full" : "storage_failed",
      `${this.options.subject}: write failed (${describe(error)}); nothing was acknowledged`,
      { retriable: true, cause: error },
    );
    for (const append of appends) append.reject(failure);
    return failure;
  }

  /** Writes what is held now (not at the end of the turn), making sure a group commit will acknowledge it. */
  writeNow(): GafkaError | undefined {
    const failure = this.writeUnwritten();
    if (this.pendingAcks.length > 0 && !this.syncInFlight) this.scheduleFlush();
    return failure;
  }

  /**
   * One fdatasync for every append written before it started (group
   * commit); appends arriving while it runs wait for the next round and
   * share its write and fdatasync.
   */
  private async groupCommit(): Promise<void> {
    while (this.pendingAcks.length > 0 && this.status === "online") {
      const acks = this.pendingAcks;
      this.pendingAcks = [];
      const file = this.host.file();
      const position = file.endPosition;
      const nextOffset = file.nextOffset;
      const startedMs = this.options.clock.monotonicMs();
      try {
        const journal = this.options.journal;
        const fdatasync = () => this.options.fs.fdatasync(file.fd);
        await (journal === undefined ? fdatasync() : journal.durable(acks, roundBytes(acks), fdatasync));
      } catch (error) {
        const failure = new GafkaError(
          "storage_failed",
          `${this.options.subject}: fsync failed (${describe(error)}); nothing since the last good fsync is acknowledged`,
          { retriable: true, cause: error },
        );
        for (const ack of acks) ack.reject(failure);
        this.fail(`fsync failed: ${describe(error)}`);
        break;
      }
      if (this.status !== "online") {
        // The log failed while this fsync ran; recovery decides what stays.
        const failure = this.offlineError();
        for (const ack of acks) ack.reject(failure);
        break;
      }
      if (sameFile(file, this.host.file())) this.durablePosition = Math.max(this.durablePosition, position);
      this.reportFsync(startedMs, acks);
      this.host.durable(nextOffset);
      for (const ack of acks) ack.resolve(ack.result);
      const after = this.host.afterCommit?.();
      if (after !== undefined) await after;
      // What was appended while the fsync ran: one write now, shared by the next fsync.
      // (A failed write rejects only its own appends.)
      if (this.status === "online") this.writeUnwritten();
    }
    // Anything still pending was appended after a failure: not acknowledged.
    if (this.status !== "online") this.rejectPending();
    this.syncInFlight = undefined;
  }

  private reportFsync(startedMs: number, acks: PendingWrite<T>[]): void {
    const onFsync = this.options.onFsync;
    if (onFsync === undefined) return;
    let records = 0;
    let bytes = 0;
    for (const ack of acks) {
      records += ack.nextOffset - ack.firstOffset;
      bytes += ack.bytes;
    }
    onFsync((this.options.clock.monotonicMs() - startedMs) / 1000, records, bytes);
  }

  /** Policy interval: fsync what was written since the last tick. */
  private syncDirty(): void {
    if (this.status !== "online" || this.syncInFlight) return;
    this.writeUnwritten();
    const file = this.host.file();
    if (file.endPosition === this.durablePosition) return;
    const position = file.endPosition;
    const nextOffset = file.nextOffset;
    const records = nextOffset - this.intervalSyncedOffset;
    const bytes = position - this.durablePosition;
    const startedMs = this.options.clock.monotonicMs();
    this.syncInFlight = this.options.fs.fdatasync(file.fd).then(
      () => {
        if (sameFile(file, this.host.file())) this.durablePosition = Math.max(this.durablePosition, position);
        this.intervalSyncedOffset = Math.max(this.intervalSyncedOffset, nextOffset);
        this.syncInFlight = undefined;
        this.options.onFsync?.((this.options.clock.monotonicMs() - startedMs) / 1000, records, bytes);
      },
      (error) => {
        this.syncInFlight = undefined;
        this.fail(`fsync failed: ${describe(error)}`);
      },
    );
  }

  private rejectPending(): void {
    const acks = [...this.pendingAcks, ...this.unwritten];
    this.pendingAcks = [];
    this.unwritten = [];
    this.heldBytes = 0;
    const failure = this.offlineError();
    for (const ack of acks) ack.reject(failure);
  }

  /**
   * A write path failed in a way that leaves the file's state unknown. Take
   * the log offline, drop what was not durably acknowledged, and reopen it
   * through recovery — the same path as a restart.
   */
  fail(reason: string): void {
    if (this.status !== "online") return;
    this.status = "offline";
    this.statusMessage = reason;
    this.options.logger.error(`${this.options.subject} offline: ${reason}; reopening through recovery`);
    this.rejectPending();
    this.reopenTimer = this.options.clock.setTimeout(() => void this.reopen(), 0);
  }

  /**
   * Reopens the log from its files after a failure (fail()). While the disk
   * is still bad this fails; it is then tried again every REOPEN_RETRY_MS
   * until it succeeds, the log proves corrupt, or it closes.
   */
  private async reopen(): Promise<void> {
    this.reopenTimer = undefined;
    while (this.syncInFlight) await this.syncInFlight;
    if (this.closed) return;
    try {
      this.host.recover();
      this.options.logger.info(`${this.options.subject} recovered and back online`);
    } catch (error) {
      this.status = error instanceof GafkaError && error.code === "log_corrupt" ? "corrupt" : "offline";
      this.statusMessage = describe(error);
      const retry = this.status === "offline" ? `; trying again in ${REOPEN_RETRY_MS} ms` : "";
      this.options.logger.error(`${this.options.subject} could not be reopened: ${this.statusMessage}${retry}`);
      if (this.status === "offline") this.reopenTimer = this.options.clock.setTimeout(() => void this.reopen(), REOPEN_RETRY_MS);
    }
  }

  /** The log was (re)loaded from its files, all of which is durable: online, nothing held. */
  loaded(durablePosition: number, nextOffset: number): void {
    this.durablePosition = durablePosition;
    this.intervalSyncedOffset = nextOffset;
    this.status = "online";
    this.statusMessage = undefined;
  }

  /**
   * Writes (and under `always` fsyncs, acknowledging them) the appends made
   * so far, and waits until no write or fsync is in flight.
   */
  async settle(): Promise<void> {
    for (;;) {
      if (this.status === "online" && (this.unwritten.length > 0 || this.pendingAcks.length > 0)) this.flushTurn();
      if (!this.syncInFlight) return;
      await this.syncInFlight;
    }
  }

  /**
   * Stops the timers, settles the writes and fdatasyncs what is not yet
   * durable. A failed final fsync leaves the log offline (not closed
   * cleanly) and is logged, not thrown.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.intervalTimer?.cancel();
    this.reopenTimer?.cancel();
    await this.settle();
    if (this.status !== "online") return;
    const file = this.host.file();
    // Under the journal, a segment is fdatasync'ed at close when written since its last fdatasync (a pooled file knows).
    const unsynced = this.options.journal === undefined ? file.endPosition !== this.durablePosition : file.dirty !== false;
    if (!unsynced || file.fd < 0) return;
    try {
      await this.options.fs.fdatasync(file.fd);
    } catch (error) {
      // Not closed cleanly: the broker must not write its clean-shutdown marker.
      this.status = "offline";
      this.statusMessage = `final fsync failed: ${describe(error)}`;
      this.options.logger.error(`${this.options.subject}: final fsync failed: ${describe(error)}`);
    }
  }
}

/** Whether two looks at the writer's file see the same file (a roll starts another). */
function sameFile(a: WriterFile, b: WriterFile): boolean {
  return a.identity === undefined ? a.fd === b.fd : a.identity === b.identity;
}

function roundBytes(acks: readonly { bytes: number }[]): number {
  let bytes = 0;
  for (const ack of acks) bytes += ack.bytes;
  return bytes;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import type { Clock, Timer } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "./file-system.ts";
import { encodeJournalHeader, type JournalOp } from "./journal-record.ts";
import { groupJournalOps, journalFilePath, journalGenerations, scanJournalFile } from "./journal-scan.ts";
import { cutFile } from "./log-loader.ts";
import { describe } from "./log-writer.ts";

export interface CommitJournalOptions {
  /** `<data-dir>/journal`. */
  dir: string;
  fs: FileSystem;
  clock: Clock;
  logger: Logger;
  /** Journal bytes after which a checkpoint starts (src/core/limits.ts). */
  checkpointBytes: number;
  /** A round of fewer bytes may go through the journal; a larger one always fdatasyncs its segment (limits.journalRoundBytesMax). */
  roundBytesMax: number;
  /** Partitions' own segment fdatasyncs that may run at once before small rounds go through the journal (limits.journalDirectSyncsMax). */
  directSyncsMax: number;
}

/** One append as the journal records it: whole frames, as the partition's segment holds them. */
export interface JournalAppend {
  chunks: readonly Uint8Array[];
  bytes: number;
  firstOffset: number;
  nextOffset: number;
  /** The append is the first in a segment the partition began for it (a roll). */
  startsSegment: boolean;
}

/** A partition's side of a checkpoint: makes its segment files durable; rejects when it cannot (the partition has failed itself). */
export type SegmentSync = () => Promise<void>;

/** A partition's link to the journal, bound to its name. */
export interface JournalLink {
  /**
   * Makes a commit round durable (its `bytes` of appends already written to
   * the segment): by `fdatasync` of the segment while fewer than
   * `directSyncsMax` partitions run theirs, or when the round is
   * `roundBytesMax` or more (so a few busy partitions keep their own
   * parallel flushes and large rounds are never written twice); otherwise
   * through the journal, sharing its one fdatasync with every other
   * partition's small round.
   */
  durable(appends: readonly JournalAppend[], bytes: number, fdatasync: () => Promise<void>): Promise<void>;
  /**
   * Records durably (blocking; rare): a truncation or restart before the
   * partition's files change; a `forget` once they changed and were
   * fdatasync'ed, so that no replay compares its earlier entries with files
   * that no longer hold them.
   */
  recordNow(op: { kind: "truncate" | "restart"; offset: number } | { kind: "forget" }): void;
  /** The partition takes part in checkpoints from now on, through `sync`. */
  register(sync: SegmentSync): void;
  /** The partition closed (its files fdatasync'ed): checkpoints leave it out. */
  unregister(): void;
}

interface Generation {
  generation: number;
  fd: number;
  bytes: number;
  /** Partitions with records in this file. */
  names: Set<string>;
}

interface RoundEntry {
  chunks: Uint8Array[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const RETRY_AFTER_FAILURE_MS = 1000;
/** Segment fdatasyncs a checkpoint runs at once (syncMembers). */
const CHECKPOINT_SYNCS_AT_ONCE = 2;

/**
 * The commit journal (docs/storage.md, "The commit journal"), under
 * `--fsync always`: a partition's commit round is made durable by its own
 * segment's fdatasync while few partitions run theirs (and always when it is
 * large); past that, small rounds are written to one journal file as well as
 * to their segments, and one fdatasync of the journal acknowledges them all:
 * one flush per round however many partitions it touches (as RocketMQ's
 * CommitLog, or a database's WAL). See `durable()`.
 *
 * The segment files are made durable later, by a checkpoint: once the
 * journal holds `checkpointBytes`, appends go to a new journal file, every
 * partition written in the older files fdatasyncs its segment, and the older
 * files are deleted. A segment roll and a clean close fdatasync the segment
 * too. After a crash the journal's entries are replayed into the partitions
 * before they load (src/storage/journal-replay.ts).
 *
 * A failed journal write or fdatasync is never retried-and-continued: the
 * round is rejected (its partitions fail and reopen through recovery, cutting
 * what was not acknowledged), the file is never used again and commits go
 * on in a new one; a checkpoint a second later lets the failed file go.
 */
export class CommitJournal {
  private readonly generations: Generation[] = [];
  private readonly members = new Map<string, SegmentSync>();
  /** Partitions' own segment fdatasyncs running now (durable()). */
  private directSyncs = 0;
  private recovered: Map<string, JournalOp[]>;
  /** Partitions handed their records to replay (takeRecovered). */
  private readonly replaying = new Set<string>();
  /** Journal files up to this generation stay (a partition holding records in them was refused at start). */
  private pinnedThrough = 0;
  private pending: RoundEntry[] = [];
  private roundScheduled = false;
  private syncing: Promise<void> | undefined;
  private checkpointing: Promise<boolean> | undefined;
  private failure: GafkaError | undefined;
  private retryTimer: Timer | undefined;
  private checkpointTimer: Timer | undefined;
  private closed = false;

  private constructor(
    private readonly options: CommitJournalOptions,
    recovered: Map<string, JournalOp[]>,
    oldGenerations: Generation[],
  ) {
    this.recovered = recovered;
    this.generations.push(...oldGenerations);
  }

  /**
   * Reads the journal left by the last run: each file's records in order (a
   * torn tail is cut and logged; damage in the middle throws `log_corrupt`),
   * grouped by partition, a partition's records before its `forget` dropped.
   * Then begins a fresh journal file for this run's commits.
   */
  static open(options: CommitJournalOptions): CommitJournal {
    const { fs, dir, logger } = options;
    fs.mkdirp(dir);
    const recovered = new Map<string, JournalOp[]>();
    const old: Generation[] = [];
    for (const generation of journalGenerations(fs.readdir(dir))) {
      const filePath = journalFilePath(dir, generation);
      const scan = scanJournalFile(fs, filePath);
      if (scan.tornReason !== undefined) {
        cutFile(fs, filePath, scan.validBytes);
        logger.warn(
          `commit journal: cut a torn tail of ${scan.fileBytes - scan.validBytes} bytes from ${filePath} at position ${scan.validBytes} (${scan.tornReason}); it was never acknowledged`,
        );
      }
      groupJournalOps(recovered, scan.ops);
      const names = new Set(scan.ops.filter((op) => op.kind !== "forget").map((op) => op.key));
      old.push({ generation, fd: -1, bytes: scan.validBytes, names });
    }
    const journal = new CommitJournal(options, recovered, old);
    journal.beginGeneration();
    return journal;
  }

  /** The records the journal holds for partition `name` (to replay before it loads), handed out once. */
  takeRecovered(name: string): JournalOp[] | undefined {
    const ops = this.recovered.get(name);
    this.recovered.delete(name);
    if (ops !== undefined) this.replaying.add(name);
    return ops;
  }

  /**
   * After every partition opened, replaying its records and fdatasync'ing
   * them: the journal files of the last run are deleted. Records for
   * partitions that no longer exist are logged and dropped. When a partition
   * with records was refused at start (`refused`: corrupt), its records are
   * all that holds some acknowledged writes, so those files stay until a
   * start that replays it; every partition replayed now records a `forget`,
   * so that only the refused ones are replayed from them again.
   */
  finishRecovery(refused: ReadonlySet<string>): void {
    for (const name of this.recovered.keys()) {
      this.options.logger.warn(`commit journal: records for partition ${name}, which no longer exists, were dropped`);
    }
    this.recovered = new Map();
    const kept = [...this.replaying].filter((name) => refused.has(name));
    if (kept.length === 0) {
      this.deleteGenerationsBefore(this.current.generation);
    } else {
      this.recordNow([...this.replaying].filter((name) => !refused.has(name)).map((name) => ({ kind: "forget", key: name })));
      this.pinnedThrough = this.current.generation - 1;
      this.options.logger.warn(`commit journal: the last run's journal files are kept for partition(s) refused at start: ${kept.join(", ")}`);
    }
    this.replaying.clear();
  }

  /** The link a partition named `name` writes through. */
  link(name: string): JournalLink {
    return {
      durable: (appends, bytes, fdatasync) => this.durable(name, appends, bytes, fdatasync),
      recordNow: (op) => this.recordNow([{ ...op, key: name }]),
      register: (sync) => this.members.set(name, sync),
      unregister: () => this.members.delete(name),
    };
  }

  /** Records durably (blocking, one fdatasync) that these partitions are deleted: their records are never replayed into a topic of the same name. */
  forget(names: readonly string[]): void {
    if (names.length === 0 || this.closed) return;
    for (const name of names) this.members.delete(name);
    this.recordNow(names.map((name) => ({ kind: "forget", key: name })));
  }

  private get current(): Generation {
    return this.generations[this.generations.length - 1]!;
  }

  private async durable(name: string, appends: readonly JournalAppend[], bytes: number, fdatasync: () => Promise<void>): Promise<void> {
    if (bytes < this.options.roundBytesMax && this.directSyncs >= this.options.directSyncsMax) return this.commit(name, appends);
    this.directSyncs++;
    try {
      await fdatasync();
    } finally {
      this.directSyncs--;
    }
  }

  private commit(name: string, appends: readonly JournalAppend[]): Promise<void> {
    if (this.closed) return Promise.reject(new GafkaError("shutting_down", "the commit journal is closed", { retriable: true }));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for (const append of appends) {
      const header = encodeJournalHeader("append", name, append.firstOffset, append.nextOffset, append.bytes, append.startsSegment);
      chunks.push(header, ...append.chunks);
      bytes += header.length + append.bytes;
    }
    this.current.names.add(name);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ chunks, bytes, resolve, reject });
      if (!this.roundScheduled && this.syncing === undefined) {
        this.roundScheduled = true;
        queueMicrotask(() => {
          this.roundScheduled = false;
          if (this.syncing === undefined) this.syncing = this.rounds();
        });
      }
    });
  }

  /** Commit rounds while commits wait: one gathered write, one fdatasync, then everyone in it is acknowledged. */
  private async rounds(): Promise<void> {
    while (this.pending.length > 0) {
      if (this.failure !== undefined) {
        this.rejectPending(this.failure);
        break;
      }
      const round = this.pending;
      this.pending = [];
      const generation = this.current;
      const position = generation.bytes;
      const chunks = round.flatMap((entry) => entry.chunks);
      let bytes = 0;
      for (const entry of round) bytes += entry.bytes;
      try {
        this.options.fs.writeChunks(generation.fd, chunks, position);
        generation.bytes += bytes;
        await this.options.fs.fdatasync(generation.fd);
      } catch (error) {
        this.fail(error, round, generation, position);
        continue;
      }
      for (const entry of round) entry.resolve();
      if (this.current.bytes >= this.options.checkpointBytes && this.checkpointing === undefined) this.checkpointing = this.checkpoint();
    }
    this.syncing = undefined;
  }

  /**
   * Begins a new journal file for the commits from now on, has every
   * partition written in the older files fdatasync its segment, and deletes
   * those files once all did. A partition whose fdatasync fails has failed
   * itself (and reopens through recovery); the older files then stay, to be
   * replayed after a crash, and the next checkpoint tries again.
   */
  private async checkpoint(): Promise<boolean> {
    try {
      const older = this.current.generation;
      this.beginGeneration();
      const names = new Set<string>();
      for (const generation of this.generations) if (generation.generation <= older) for (const name of generation.names) names.add(name);
      const failed = await this.syncMembers([...names]);
      if (failed > 0) {
        this.options.logger.error(`commit journal: checkpoint incomplete (${failed} partition(s) could not fdatasync); the older journal files are kept`);
        return false;
      }
      this.deleteGenerationsBefore(older + 1);
      return true;
    } catch (error) {
      this.options.logger.error(`commit journal: checkpoint failed: ${describe(error)}`);
      return false;
    } finally {
      this.checkpointing = undefined;
    }
  }

  /**
   * Has each partition fdatasync its segment, CHECKPOINT_SYNCS_AT_ONCE at a
   * time: the runtime's file-system threads are few, and a commit round's
   * fdatasync queued behind a thousand checkpoint flushes would wait for all
   * of them. Returns how many failed.
   */
  private async syncMembers(names: readonly string[]): Promise<number> {
    let next = 0;
    let failed = 0;
    const worker = async () => {
      while (next < names.length) {
        const sync = this.members.get(names[next++]!);
        if (sync === undefined) continue;
        await sync().catch(() => failed++);
      }
    };
    await Promise.all(Array.from({ length: CHECKPOINT_SYNCS_AT_ONCE }, worker));
    return failed;
  }

  /** Opens the next journal file and makes its directory entry durable; commits go there from now on. */
  private beginGeneration(): void {
    const { fs, dir } = this.options;
    const generation = this.generations.length === 0 ? 1 : this.current.generation + 1;
    const fd = fs.openReadWrite(journalFilePath(dir, generation));
    fs.truncate(fd, 0);
    fs.syncDirectorySync(dir);
    this.generations.push({ generation, fd, bytes: 0, names: new Set() });
  }

  private deleteGenerationsBefore(generation: number): void {
    const { fs, dir } = this.options;
    for (const old of this.generations.filter((each) => each.generation < generation && each.generation > this.pinnedThrough)) {
      if (old.fd >= 0) fs.close(old.fd);
      fs.removeRecursive(journalFilePath(dir, old.generation));
      this.generations.splice(this.generations.indexOf(old), 1);
    }
  }

  /**
   * Writes one record and fdatasyncs the journal before returning: a
   * truncation or restart is in the journal before it changes the files, so
   * a replay after a crash repeats it rather than undoing it.
   */
  private recordNow(ops: readonly { kind: "truncate" | "restart" | "forget"; key: string; offset?: number }[]): void {
    if (this.failure !== undefined) throw this.failure;
    if (ops.length === 0) return;
    const generation = this.current;
    const headers = ops.map((op) => encodeJournalHeader(op.kind, op.key, op.offset ?? 0, op.offset ?? 0, 0));
    // A commit round's fdatasync may be in flight: these records go after what it wrote, covered by their own fdatasync.
    const bytes = this.options.fs.writeChunks(generation.fd, headers, generation.bytes);
    generation.bytes += bytes;
    for (const op of ops) if (op.kind !== "forget") generation.names.add(op.key);
    this.options.fs.fdatasyncSync(generation.fd);
  }

  /**
   * A round's write or fdatasync failed: its commits are rejected (their
   * partitions fail and reopen, cutting what was never acknowledged). The
   * file is never written or fdatasync'ed again: commits go on in a new one.
   * The failed file stays, holding acknowledged records, until a checkpoint
   * makes them durable in the segments; should a crash come first, its
   * rejected tail may be replayed too, which at worst keeps records that were
   * never acknowledged. When no new file can be begun, commits are refused
   * and it is tried again every second.
   */
  private fail(error: unknown, round: RoundEntry[], generation: Generation, position: number): void {
    const failure = new GafkaError("storage_failed", `the commit journal could not write or fsync (${describe(error)}); nothing since the last good fsync is acknowledged`, {
      retriable: true,
      cause: error,
    });
    generation.bytes = position;
    this.options.logger.error(`commit journal: file ${journalFilePath(this.options.dir, generation.generation)} failed (${describe(error)}); its round was rejected, commits go on in a new journal file`);
    for (const entry of round) entry.reject(failure);
    this.checkpointSoon();
    this.beginAfterFailure(failure);
  }

  /** Begins a new journal file after a failure; until one can be begun, commits are refused and it is tried again every second. */
  private beginAfterFailure(failure: GafkaError): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    try {
      this.beginGeneration();
      if (this.failure !== undefined) this.options.logger.info("commit journal: a new journal file is begun; accepting commits again");
      this.failure = undefined;
    } catch (error) {
      this.options.logger.error(`commit journal: cannot begin a new journal file (${describe(error)}); refusing commits, trying again in ${RETRY_AFTER_FAILURE_MS} ms`);
      this.failure = failure;
      this.retryTimer = this.options.clock.setTimeout(() => this.beginAfterFailure(failure), RETRY_AFTER_FAILURE_MS);
    }
  }

  /** Makes the records of a failed journal file durable in the segments soon, so that it can go. */
  private checkpointSoon(): void {
    this.checkpointTimer?.cancel();
    this.checkpointTimer = this.options.clock.setTimeout(() => {
      if (!this.closed && this.checkpointing === undefined) this.checkpointing = this.checkpoint();
    }, RETRY_AFTER_FAILURE_MS);
  }

  private rejectPending(error: unknown): void {
    const pending = this.pending;
    this.pending = [];
    for (const entry of pending) entry.reject(error);
  }

  /**
   * At a stop, after every partition closed: waits for the rounds and the
   * checkpoint in flight. When every partition closed cleanly (`clean`: their
   * segments fdatasync'ed) the journal's files are deleted, since they hold
   * nothing the segments lack; otherwise they stay for the next start's replay.
   */
  async close(clean: boolean): Promise<void> {
    this.closed = true;
    this.retryTimer?.cancel();
    this.checkpointTimer?.cancel();
    while (this.syncing !== undefined || this.checkpointing !== undefined) await (this.syncing ?? this.checkpointing);
    const { fs, dir } = this.options;
    for (const generation of this.generations) {
      if (generation.fd >= 0) fs.close(generation.fd);
      generation.fd = -1;
    }
    if (!clean || this.failure !== undefined || this.pinnedThrough > 0) return;
    for (const generation of this.generations) fs.removeRecursive(journalFilePath(dir, generation.generation));
    this.generations.length = 0;
    fs.syncDirectorySync(dir);
  }
}

import * as path from "node:path";
import { assert } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { isLeaderEpoch, LEADER_EPOCH_MAX } from "../core/limits.ts";
import type { FileSystem } from "./file-system.ts";

/**
 * Which leader epoch wrote which part of a partition's log: Kafka's
 * LeaderEpochFileCache, in Kafka's own file layout. `<partition dir>/leader-epoch-checkpoint`
 * is text:
 *
 * ```
 * 0              version
 * 2              number of entries
 * 0 0            epoch startOffset — the first offset written under that epoch
 * 1 5012
 * ```
 *
 * Epochs and start offsets both increase. Records before the first entry were
 * written with no epoch (-1). It is the source of truth for truncation when a
 * deposed leader rejoins as a follower (the batches carry their epoch too, so
 * a lost file only means a coarser truncation point). Changes are rare (one
 * per leader change) and are written durably: temp file, fdatasync, rename,
 * fsync of the directory — when a method that changes it returns, it is on disk.
 */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** What a leader answers for "where did epoch N end?" (Kafka's OffsetsForLeaderEpoch). */
export interface EpochEnd {
  /** The largest epoch <= the one asked for that this log knows; -1 when none. */
  epoch: number;
  /** The first offset after that epoch: where the next epoch starts, or the log end. */
  endOffset: number;
}

export const LEADER_EPOCH_FILE_NAME = "leader-epoch-checkpoint";
const FILE_VERSION = 0;

export class LeaderEpochCache {
  private list: EpochEntry[];

  private constructor(
    private readonly filePath: string,
    private readonly fs: FileSystem,
    entries: EpochEntry[],
  ) {
    this.list = entries;
  }

  /**
   * Reads `<dir>/leader-epoch-checkpoint` (none yet means no entries); a damaged file throws log_corrupt;
   * an epoch above LEADER_EPOCH_MAX throws a plain Error naming the file (the broker does not start).
   */
  static load(dir: string, fs: FileSystem): LeaderEpochCache {
    const filePath = path.join(dir, LEADER_EPOCH_FILE_NAME);
    if (!fs.exists(filePath)) return new LeaderEpochCache(filePath, fs, []);
    return new LeaderEpochCache(filePath, fs, parse(filePath, new TextDecoder().decode(fs.readFile(filePath))));
  }

  entries(): readonly EpochEntry[] {
    return this.list;
  }

  /** The newest epoch that wrote (or began) this log; -1 when none. */
  get latestEpoch(): number {
    return this.list.length === 0 ? -1 : this.list[this.list.length - 1]!.epoch;
  }

  /**
   * Records that `epoch` begins at `startOffset` when it is newer than the
   * latest known; an entry that starts at or after it is dropped first (it
   * described records that are gone). Durable when it returns.
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch <= this.latestEpoch) return;
    // Every epoch is validated where it enters (the network, files) and a promote stops at the maximum.
    assert(epoch <= LEADER_EPOCH_MAX, `leader epoch ${epoch} is above ${LEADER_EPOCH_MAX}`);
    const previous = this.list;
    this.list = [...this.list.filter((entry) => entry.startOffset < startOffset), { epoch, startOffset }];
    try {
      this.persist();
    } catch (error) {
      this.list = previous; // not on disk: the next append of this epoch writes it again
      throw error;
    }
  }

  /** Kafka's OffsetsForLeaderEpoch: where `epoch` (or the largest known epoch below it) ends. */
  endOf(epoch: number, logEndOffset: number): EpochEnd {
    let at = -1;
    for (let i = 0; i < this.list.length; i++) if (this.list[i]!.epoch <= epoch) at = i;
    if (at < 0) return { epoch: -1, endOffset: this.list.length === 0 ? logEndOffset : this.list[0]!.startOffset };
    const next = this.list[at + 1];
    return { epoch: this.list[at]!.epoch, endOffset: next === undefined ? logEndOffset : next.startOffset };
  }

  /** After the log was cut to `offset`: drops the epochs that began at or after it. Durable when it returns. */
  truncateFromEnd(offset: number): void {
    const kept = this.list.filter((entry) => entry.startOffset < offset);
    if (kept.length === this.list.length) return;
    this.list = kept;
    this.persist();
  }

  /**
   * After recovery found the log ending at `logEndOffset`: drops epochs that
   * begin beyond it (an epoch that begins exactly there, with no record yet, stays).
   */
  clampTo(logEndOffset: number): void {
    const kept = this.list.filter((entry) => entry.startOffset <= logEndOffset);
    if (kept.length === this.list.length) return;
    this.list = kept;
    this.persist();
  }

  private persist(): void {
    const text = `${FILE_VERSION}\n${this.list.length}\n${this.list.map((entry) => `${entry.epoch} ${entry.startOffset}\n`).join("")}`;
    const temporaryPath = `${this.filePath}.tmp`;
    const fd = this.fs.openReadWrite(temporaryPath);
    try {
      this.fs.truncate(fd, 0);
      this.fs.write(fd, new TextEncoder().encode(text), 0);
      this.fs.fdatasyncSync(fd);
    } finally {
      this.fs.close(fd);
    }
    this.fs.rename(temporaryPath, this.filePath);
    this.fs.syncDirectorySync(path.dirname(this.filePath));
  }
}

function parse(filePath: string, text: string): EpochEntry[] {
  const damaged = (reason: string) =>
    new GafkaError("log_corrupt", `${filePath} is damaged: ${reason}`, { details: { file: filePath } });
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (lines[0]?.trim() !== String(FILE_VERSION)) throw damaged(`unknown version line '${lines[0] ?? ""}'`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || lines.length !== count + 2) throw damaged(`expected ${lines[1]} entries`);
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const [epochText, startText, extra] = line.trim().split(/\s+/);
    const epoch = Number(epochText);
    const startOffset = Number(startText);
    if (extra !== undefined || !Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset) || epoch < 0 || startOffset < 0) {
      throw damaged(`bad entry '${line}'`);
    }
    // Not damage this partition can be served around: every write would carry an epoch past int32.
    // The broker refuses to start, naming the file, until an operator repairs it.
    if (!isLeaderEpoch(epoch)) throw new Error(`${filePath} holds leader epoch ${epoch}, above the highest gafka accepts (${LEADER_EPOCH_MAX})`);
    const last = entries[entries.length - 1];
    if (last !== undefined && (epoch <= last.epoch || startOffset < last.startOffset)) throw damaged(`entries do not increase at '${line}'`);
    entries.push({ epoch, startOffset });
  }
  return entries;
}

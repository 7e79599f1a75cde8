import * as path from "node:path";
import type { FileSystem } from "./file-system.ts";
import { limits } from "../core/limits.ts";
import { GafkaError, isGafkaError, systemErrorCode } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { hasCleanShutdownMarker } from "./clean-shutdown-marker.ts";
import type { JournalOp } from "./journal-record.ts";
import { planReplay, type ReplayOutcome } from "./journal-replay.ts";
import { segmentBaseOffsets, segmentPaths } from "./segment.ts";
import { SWAP_SUFFIX } from "./segment-swap.ts";
import { scanSegment, type ScanProblem } from "./segment-scanner.ts";
import { type JournalReport, verifyJournal } from "./verify-journal.ts";
import type { VerifyProblem } from "./verify-problem.ts";

export type { VerifyProblem } from "./verify-problem.ts";

/**
 * `gafka admin verify`: reads every segment of every partition under a data
 * directory, checking every frame, and reports every damaged place — not only
 * the first, as recovery does — as the next start will treat it. Read-only:
 * it never repairs anything. When the data dir holds the clean-shutdown
 * marker, a bad last frame is reported as corruption, as recovery will treat
 * it; otherwise as a torn tail (which recovery cuts off).
 *
 * The commit journal (src/storage/commit-journal.ts) is read too: its own
 * damage is reported (src/storage/verify-journal.ts), and for each partition
 * with entries the replay the next start does is planned, read-only
 * (planReplay): damage at or past the place where the files first differ
 * from the entries is written again from the journal at the next start, and
 * is reported as such without failing verify; where the replay would refuse
 * the partition, that is reported as corruption.
 */
export interface PartitionReport {
  dir: string;
  segments: number;
  batches: number;
  records: number;
  problems: VerifyProblem[];
  /** What the next start replays into this partition from the commit journal, when it holds entries for it (refused: it refuses the partition, see problems). */
  journal?: (ReplayOutcome & { refused: false }) | { entries: number; refused: true };
}

export interface VerifyReport {
  partitions: PartitionReport[];
  journal: JournalReport;
  /** Partitions (`<topic>-<partition>`) the journal holds entries for that have no directory here. */
  journalOnly: { name: string; entries: number }[];
  /**
   * True only when nothing was found but damage the commit journal repairs at
   * the next start (a torn tail, which recovery would cut, is a problem too).
   */
  ok: boolean;
}

/**
 * `afterCleanShutdown`: the data dir holds the clean-shutdown marker, so no tail may be torn.
 * `journalOps`: the commit journal's entries for this partition, which the next start replays first.
 */
export function verifyPartitionDir(fs: FileSystem, dir: string, afterCleanShutdown = false, journalOps?: readonly JournalOp[]): PartitionReport {
  const names = fs.readdir(dir);
  // A compaction's swap a crash interrupted: the `.swap` file is the segment, as the next start makes it (src/storage/segment-swap.ts).
  const swapped = new Set(names.filter((name) => name.endsWith(`.log${SWAP_SUFFIX}`)).map((name) => name.slice(0, -SWAP_SUFFIX.length)));
  const baseOffsets = segmentBaseOffsets([...new Set([...names, ...swapped])]);
  const report: PartitionReport = { dir, segments: baseOffsets.length, batches: 0, records: 0, problems: [] };
  const refusal = journalOps === undefined ? undefined : planPartitionReplay(fs, dir, swapped, journalOps, report);
  const rewrite = report.journal?.refused === false ? report.journal.rewrite : undefined;
  for (let i = 0; i < baseOffsets.length; i++) {
    const baseOffset = baseOffsets[i]!;
    const nextBase = baseOffsets[i + 1];
    const segmentPath = segmentPaths(dir, baseOffset).logPath;
    const logPath = swapped.has(path.basename(segmentPath)) ? segmentPath + SWAP_SUFFIX : segmentPath;
    const fd = fs.openReadOnly(logPath);
    try {
      const scan = scanSegment(fs, logPath, fd, baseOffset, {
        isActive: nextBase === undefined && !afterCleanShutdown,
        indexIntervalBytes: limits.indexIntervalBytes,
        continueAfterProblems: true,
      });
      report.batches += scan.batches;
      report.records += scan.records;
      const problems = scan.problems.map(toVerifyProblem);
      if (nextBase !== undefined && scan.problems.length === 0 && scan.nextOffset !== nextBase) {
        problems.push({
          kind: "corrupt",
          file: logPath,
          position: scan.validBytes,
          offset: scan.nextOffset,
          message: `segment ends at offset ${scan.nextOffset} but the next segment starts at ${nextBase}: ` +
            `offsets [${scan.nextOffset}, ${nextBase}) are missing (a segment file cut short or deleted)`,
        });
      }
      for (const problem of problems) {
        // The replay cuts the files where they first differ from the journal and writes the entries again from there.
        const rewritten = rewrite !== undefined && (baseOffset > rewrite.baseOffset || (baseOffset === rewrite.baseOffset && problem.position >= rewrite.position));
        // Where the replay refuses the partition, it says so (below), in place of what the scan saw there.
        if (refusal !== undefined && problem.file === refusal.file && problem.position === refusal.position) continue;
        report.problems.push(rewritten ? { ...problem, repairedByJournal: true } : problem);
      }
    } finally {
      fs.close(fd);
    }
  }
  if (refusal !== undefined) report.problems.push(refusal);
  return report;
}

/**
 * Plans the next start's replay of the journal's entries into this
 * partition (report.journal), read-only. Returns the corruption the replay
 * would refuse the partition for, if any.
 */
function planPartitionReplay(fs: FileSystem, dir: string, swapped: ReadonlySet<string>, ops: readonly JournalOp[], report: PartitionReport): VerifyProblem | undefined {
  const target = { fs: swapped.size === 0 ? fs : swappedView(fs, dir, swapped), logger: silentLogger, dir, name: path.basename(dir) };
  try {
    report.journal = { ...planReplay(target, ops), refused: false };
    return undefined;
  } catch (error) {
    if (!isGafkaError(error) || error.code !== "log_corrupt") throw error;
    const { file, position, offset, reason } = error.details as { file: string; position: number; offset: number; reason: string };
    report.journal = { entries: ops.length, refused: true };
    return { kind: "corrupt", file, position, offset, message: `the next start refuses the partition as it replays the commit journal: ${reason}` };
  }
}

/**
 * The partition's files as the next start sees them when it replays: a
 * compaction's swap a crash interrupted is finished first (finishSwaps), so
 * `<base>.log` is then its `.swap` file. Reads only.
 */
function swappedView(fs: FileSystem, dir: string, swapped: ReadonlySet<string>): FileSystem {
  const actual = (filePath: string) => (path.dirname(filePath) === dir && swapped.has(path.basename(filePath)) ? filePath + SWAP_SUFFIX : filePath);
  const view: FileSystem = Object.create(fs);
  view.readdir = (dirPath) => {
    const names = fs.readdir(dirPath);
    return dirPath === dir ? [...new Set([...names.filter((name) => !name.endsWith(SWAP_SUFFIX)), ...swapped])] : names;
  };
  view.exists = (filePath) => fs.exists(actual(filePath));
  view.openReadOnly = (filePath) => fs.openReadOnly(actual(filePath));
  return view;
}

function toVerifyProblem(problem: ScanProblem): VerifyProblem {
  return { kind: problem.kind, file: problem.file, position: problem.position, offset: problem.offset, message: problem.message };
}

/**
 * Verifies every partition directory (one holding segment files) under
 * dataDir; a data dir that is missing or not a directory is `invalid_request`
 * saying so in one line.
 */
export function verifyDataDir(dataDir: string, fs: FileSystem): VerifyReport {
  const partitions: PartitionReport[] = [];
  const entries = readDataDir(fs, dataDir).sort();
  const afterCleanShutdown = hasCleanShutdownMarker(fs, dataDir);
  const journal = verifyJournal(fs, dataDir);
  const journalOps = new Map(journal.byPartition);
  for (const entry of entries) {
    const dir = path.join(dataDir, entry);
    let names: string[];
    try {
      names = fs.readdir(dir);
    } catch {
      continue; // a file, not a partition directory
    }
    const ops = journalOps.get(entry);
    journalOps.delete(entry);
    if (segmentBaseOffsets(names).length > 0 || ops !== undefined) partitions.push(verifyPartitionDir(fs, dir, afterCleanShutdown, ops));
  }
  const journalOnly = [...journalOps].map(([name, ops]) => ({ name, entries: ops.length }));
  const problems = [...journal.problems, ...partitions.flatMap((partition) => partition.problems)];
  return { partitions, journal, journalOnly, ok: problems.every((problem) => problem.repairedByJournal === true) };
}

function readDataDir(fs: FileSystem, dataDir: string): string[] {
  try {
    return fs.readdir(dataDir);
  } catch (error) {
    const code = systemErrorCode(error);
    const why = code === "ENOENT" ? "does not exist" : code === "ENOTDIR" ? "is not a directory" : `cannot be read (${code ?? String(error)})`;
    throw new GafkaError("invalid_request", `data directory ${dataDir} ${why}`, { cause: error });
  }
}

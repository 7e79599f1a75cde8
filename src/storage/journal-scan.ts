import * as path from "node:path";
import { GafkaError } from "../core/errors.ts";
import type { FileSystem } from "./file-system.ts";
import { type JournalOp, readJournalRecord } from "./journal-record.ts";

const JOURNAL_NAME = /^(\d{20})\.journal$/;

export function journalFileName(generation: number): string {
  return `${String(generation).padStart(20, "0")}.journal`;
}

/** The generations of the journal files among `fileNames`, oldest first. */
export function journalGenerations(fileNames: readonly string[]): number[] {
  const generations: number[] = [];
  for (const name of fileNames) {
    const match = JOURNAL_NAME.exec(name);
    if (match) generations.push(Number(match[1]));
  }
  return generations.sort((a, b) => a - b);
}

/** One journal file read back: its records in order, and where its whole records end. */
export interface JournalFileScan {
  filePath: string;
  ops: JournalOp[];
  /** Bytes of whole, valid records from the start; the file is cut here when a torn tail follows. */
  validBytes: number;
  fileBytes: number;
  /** Why the record at validBytes failed, when the file has a torn tail. */
  tornReason: string | undefined;
}

/**
 * Reads every record of a journal file. A record that fails its checks with
 * no valid record after it is a torn tail: the last commit round was cut
 * short by a crash and none of it was acknowledged, so the scan stops there
 * (the caller cuts and logs it). A damaged record followed by a valid one is
 * corruption in the middle of acknowledged history: GafkaError `log_corrupt`
 * naming the file and position, and nothing is dropped.
 */
export function scanJournalFile(fs: FileSystem, filePath: string): JournalFileScan {
  const bytes = fs.readFile(filePath);
  const ops: JournalOp[] = [];
  let position = 0;
  while (position < bytes.length) {
    const read = readJournalRecord(bytes, position);
    if (read.ok) {
      ops.push(read.op);
      position += read.recordBytes;
      continue;
    }
    const later = nextValidRecord(bytes, position);
    if (later >= 0) {
      throw new GafkaError(
        "log_corrupt",
        `the commit journal ${filePath} is corrupt at position ${position} (${read.reason}), and a valid record follows at position ${later}: ` +
          "records acknowledged after it cannot be told apart from damage. The broker does not start; see docs/operations.md, \"A damaged commit journal\".",
        { details: { file: filePath, position } },
      );
    }
    return { filePath, ops, validBytes: position, fileBytes: bytes.length, tornReason: read.reason };
  }
  return { filePath, ops, validBytes: position, fileBytes: bytes.length, tornReason: undefined };
}

/**
 * Adds one journal file's records (files taken oldest first) to what each
 * partition will replay: its records in journal order, those before its
 * latest `forget` dropped (they describe files that no longer hold them).
 * The grouping the broker's start replays (CommitJournal.open) and
 * `gafka admin verify` reports.
 */
export function groupJournalOps(byPartition: Map<string, JournalOp[]>, ops: readonly JournalOp[]): void {
  for (const op of ops) {
    if (op.kind === "forget") {
      byPartition.delete(op.key);
      continue;
    }
    const partitionOps = byPartition.get(op.key);
    if (partitionOps === undefined) byPartition.set(op.key, [op]);
    else partitionOps.push(op);
  }
}

/** The position of the first record after `position` that checks out, or -1. */
function nextValidRecord(bytes: Uint8Array, position: number): number {
  for (let candidate = position + 1; candidate < bytes.length; candidate++) {
    if (readJournalRecord(bytes, candidate).ok) return candidate;
  }
  return -1;
}

export function journalFilePath(dir: string, generation: number): string {
  return path.join(dir, journalFileName(generation));
}

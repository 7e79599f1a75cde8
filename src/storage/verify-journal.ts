import * as path from "node:path";
import { isGafkaError } from "../core/errors.ts";
import type { FileSystem } from "./file-system.ts";
import type { JournalOp } from "./journal-record.ts";
import { groupJournalOps, journalFilePath, journalGenerations, scanJournalFile } from "./journal-scan.ts";
import type { VerifyProblem } from "./verify-problem.ts";

/** The commit journal as `gafka admin verify` found it (`<data-dir>/journal`). */
export interface JournalReport {
  /** The journal files read, oldest first. */
  files: string[];
  /** Whole entries read from them, up to the first damage. */
  entries: number;
  /** A torn last entry (the next start cuts it: it was never acknowledged), or damage in the middle (the next start refuses to run). */
  problems: VerifyProblem[];
  /**
   * What the next start replays, partition by partition (entries after each
   * partition's last `forget`, as CommitJournal.open groups them); undefined
   * when the journal is damaged in the middle, since the broker then does not
   * start and replays nothing.
   */
  byPartition: Map<string, JournalOp[]> | undefined;
}

/**
 * Reads the journal files read-only, with the scan the broker's start uses
 * (src/storage/journal-scan.ts), and classifies what it finds as the start
 * will: a torn last entry of a file is a torn tail (cut, never acknowledged);
 * a damaged entry followed by a valid one is corruption, naming the file and
 * position, and the broker will not start. Nothing is cut or written.
 */
export function verifyJournal(fs: FileSystem, dataDir: string): JournalReport {
  const dir = path.join(dataDir, "journal");
  const report: JournalReport = { files: [], entries: 0, problems: [], byPartition: new Map() };
  if (!fs.exists(dir)) return report;
  for (const generation of journalGenerations(fs.readdir(dir))) {
    const filePath = journalFilePath(dir, generation);
    report.files.push(filePath);
    try {
      const scan = scanJournalFile(fs, filePath);
      report.entries += scan.ops.length;
      if (report.byPartition !== undefined) groupJournalOps(report.byPartition, scan.ops);
      if (scan.tornReason !== undefined) {
        report.problems.push({
          kind: "torn",
          file: filePath,
          position: scan.validBytes,
          message: `the last ${scan.fileBytes - scan.validBytes} bytes of the commit journal are a torn entry (${scan.tornReason}); the next start cuts them (they were never acknowledged)`,
        });
      }
    } catch (error) {
      if (!isGafkaError(error) || error.code !== "log_corrupt") throw error;
      const position = Number(error.details?.position);
      report.problems.push({ kind: "corrupt", file: filePath, position, message: error.message });
      // The broker refuses to start on it: nothing is replayed, and what the later files hold is not grouped.
      report.byPartition = undefined;
    }
  }
  return report;
}

import * as path from "node:path";
import type { FileSystem } from "./file-system.ts";
import { limits } from "../core/limits.ts";
import { segmentBaseOffsets, segmentPaths } from "./segment.ts";
import { scanSegment, type ScanProblem } from "./segment-scanner.ts";

/**
 * `gafka admin verify`: reads every segment of every partition under a data
 * directory, checking every frame, and reports every damaged place — not only
 * the first, as recovery does. Read-only: it never repairs anything.
 */
export interface VerifyProblem {
  kind: "torn" | "corrupt";
  file: string;
  position: number;
  offset?: number;
  message: string;
}

export interface PartitionReport {
  dir: string;
  segments: number;
  batches: number;
  records: number;
  problems: VerifyProblem[];
}

export interface VerifyReport {
  partitions: PartitionReport[];
  /** False when any partition has corruption (a torn tail alone is repaired on start). */
  ok: boolean;
}

export function verifyPartitionDir(fs: FileSystem, dir: string): PartitionReport {
  const baseOffsets = segmentBaseOffsets(fs.readdir(dir));
  const report: PartitionReport = { dir, segments: baseOffsets.length, batches: 0, records: 0, problems: [] };
  for (let i = 0; i < baseOffsets.length; i++) {
    const baseOffset = baseOffsets[i]!;
    const nextBase = baseOffsets[i + 1];
    const { logPath } = segmentPaths(dir, baseOffset);
    const fd = fs.openReadOnly(logPath);
    try {
      const scan = scanSegment(fs, logPath, fd, baseOffset, {
        isActive: nextBase === undefined,
        indexIntervalBytes: limits.indexIntervalBytes,
        continueAfterProblems: true,
      });
      report.batches += scan.batches;
      report.records += scan.records;
      report.problems.push(...scan.problems.map(toVerifyProblem));
      if (nextBase !== undefined && scan.problems.length === 0 && scan.nextOffset !== nextBase) {
        report.problems.push({
          kind: "corrupt",
          file: logPath,
          position: scan.validBytes,
          offset: scan.nextOffset,
          message: `segment ends at offset ${scan.nextOffset} but the next segment starts at ${nextBase}`,
        });
      }
    } finally {
      fs.close(fd);
    }
  }
  return report;
}

function toVerifyProblem(problem: ScanProblem): VerifyProblem {
  return { kind: problem.kind, file: problem.file, position: problem.position, offset: problem.offset, message: problem.message };
}

/** Verifies every partition directory (one holding segment files) under dataDir. */
export function verifyDataDir(dataDir: string, fs: FileSystem): VerifyReport {
  const partitions: PartitionReport[] = [];
  for (const entry of fs.readdir(dataDir).sort()) {
    const dir = path.join(dataDir, entry);
    let names: string[];
    try {
      names = fs.readdir(dir);
    } catch {
      continue; // a file, not a partition directory
    }
    if (segmentBaseOffsets(names).length > 0) partitions.push(verifyPartitionDir(fs, dir));
  }
  return { partitions, ok: partitions.every((p) => p.problems.every((problem) => problem.kind !== "corrupt")) };
}

import * as path from "node:path";
import type { FileSystem } from "./file-system.ts";
import { limits } from "../core/limits.ts";
import { GafkaError, systemErrorCode } from "../core/errors.ts";
import { hasCleanShutdownMarker } from "./clean-shutdown-marker.ts";
import { segmentBaseOffsets, segmentPaths } from "./segment.ts";
import { SWAP_SUFFIX } from "./segment-swap.ts";
import { scanSegment, type ScanProblem } from "./segment-scanner.ts";

/**
 * `gafka admin verify`: reads every segment of every partition under a data
 * directory, checking every frame, and reports every damaged place — not only
 * the first, as recovery does. Read-only: it never repairs anything. When the
 * data dir holds the clean-shutdown marker, a bad last frame is reported as
 * corruption, as recovery will treat it; otherwise as a torn tail (which
 * recovery cuts off).
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
  /** True only when nothing at all was found (a torn tail, which recovery would cut, is a problem too). */
  ok: boolean;
}

/** `afterCleanShutdown`: the data dir holds the clean-shutdown marker, so no tail may be torn. */
export function verifyPartitionDir(fs: FileSystem, dir: string, afterCleanShutdown = false): PartitionReport {
  const names = fs.readdir(dir);
  // A compaction's swap a crash interrupted: the `.swap` file is the segment, as the next start makes it (src/storage/segment-swap.ts).
  const swapped = new Set(names.filter((name) => name.endsWith(`.log${SWAP_SUFFIX}`)).map((name) => name.slice(0, -SWAP_SUFFIX.length)));
  const baseOffsets = segmentBaseOffsets([...new Set([...names, ...swapped])]);
  const report: PartitionReport = { dir, segments: baseOffsets.length, batches: 0, records: 0, problems: [] };
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
      report.problems.push(...scan.problems.map(toVerifyProblem));
      if (nextBase !== undefined && scan.problems.length === 0 && scan.nextOffset !== nextBase) {
        report.problems.push({
          kind: "corrupt",
          file: logPath,
          position: scan.validBytes,
          offset: scan.nextOffset,
          message: `segment ends at offset ${scan.nextOffset} but the next segment starts at ${nextBase}: ` +
            `offsets [${scan.nextOffset}, ${nextBase}) are missing (a segment file cut short or deleted)`,
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

/**
 * Verifies every partition directory (one holding segment files) under
 * dataDir; a data dir that is missing or not a directory is `invalid_request`
 * saying so in one line.
 */
export function verifyDataDir(dataDir: string, fs: FileSystem): VerifyReport {
  const partitions: PartitionReport[] = [];
  const afterCleanShutdown = hasCleanShutdownMarker(fs, dataDir);
  for (const entry of readDataDir(fs, dataDir).sort()) {
    const dir = path.join(dataDir, entry);
    let names: string[];
    try {
      names = fs.readdir(dir);
    } catch {
      continue; // a file, not a partition directory
    }
    if (segmentBaseOffsets(names).length > 0) partitions.push(verifyPartitionDir(fs, dir, afterCleanShutdown));
  }
  return { partitions, ok: partitions.every((partition) => partition.problems.length === 0) };
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

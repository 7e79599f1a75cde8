import * as path from "node:path";
import { systemClock } from "../../src/core/clock.ts";
import { type Logger, silentLogger } from "../../src/core/logger.ts";
import { CommitJournal } from "../../src/storage/commit-journal.ts";
import { type FileSystem, nodeFileSystem } from "../../src/storage/file-system.ts";
import type { RecordInput } from "../../src/protocol/record.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";

/** Partitions sharing a commit journal, as a broker holds them (src/broker/partition-opener.ts), without the broker. */
export interface JournaledBroker {
  journal: CommitJournal;
  logs: Map<string, PartitionLog>;
}

/**
 * What a broker's start does for its partitions, at the storage level: the
 * journal opened, each partition replayed and loaded, the recovery finished.
 * By default no partition's own fdatasync comes first (`directSyncsMax` 0):
 * every small round goes through the journal.
 */
export function startJournaled(
  dataDir: string,
  names: readonly string[],
  options: { fs?: FileSystem; logger?: Logger; checkpointBytes?: number; directSyncsMax?: number } = {},
): JournaledBroker {
  const fs = options.fs ?? nodeFileSystem;
  const logger = options.logger ?? silentLogger;
  const journal = CommitJournal.open({
    dir: path.join(dataDir, "journal"),
    fs,
    clock: systemClock,
    logger,
    checkpointBytes: options.checkpointBytes ?? 64 << 20,
    roundBytesMax: 64 * 1024,
    directSyncsMax: options.directSyncsMax ?? 0,
  });
  const logs = new Map<string, PartitionLog>();
  for (const name of names) {
    const log = PartitionLog.open({
      dir: path.join(dataDir, name),
      name,
      fs,
      clock: systemClock,
      logger,
      fsyncPolicy: { kind: "always" },
      segmentBytesMax: 64 << 20,
      journal: journal.link(name),
      journalOps: journal.takeRecovered(name),
    });
    logs.set(name, log);
  }
  journal.finishRecovery(new Set());
  return { journal, logs };
}

/** A clean stop: every log closed (and fdatasync'ed), then the journal. */
export async function stopJournaled(broker: JournaledBroker): Promise<void> {
  for (const log of broker.logs.values()) await log.close();
  await broker.journal.close(true);
}

/** The values a log holds from its start, as text. */
export function valuesOf(log: PartitionLog): string[] {
  const decoder = new TextDecoder();
  return log.read(log.earliestOffset, 1_000_000, 1 << 30).records.map((r) => decoder.decode(r.value!));
}

/** A logger that keeps what it is told (warnings, errors, info), for tests of what was logged. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string) => void lines.push(message);
  return { ...silentLogger, lines, warn: keep, error: keep, info: keep };
}

/** A keyless record with `value` as its text and a fixed timestamp. */
export function textRecord(value: string): RecordInput {
  return { key: null, value: new TextEncoder().encode(value), headers: [], timestampMs: 1_764_000_000_000 };
}

import * as path from "node:path";
import type { FileSystem } from "../storage/file-system.ts";

/**
 * Each partition's high watermark and in-sync followers as last known,
 * `<dataDir>/replication-offset-checkpoint` (Kafka keeps the same name):
 *
 * ```json
 * {"version": 1, "partitions": [{"topic": "t", "partition": 0, "high_watermark": 120, "in_sync": [2]}]}
 * ```
 *
 * Derived and allowed to lag: written through writeFileAtomic about once a
 * second while it changes and on a clean stop. On start a replica takes it as
 * a floor it knows is safe: a follower serves reads up to it before its leader
 * says more; a leader with followers that were in sync keeps them in sync
 * (holding the high watermark there) until they catch up or time out, so a
 * restart never shows consumers a record only the leader holds. A missing or
 * damaged file means no floor: a follower shows nothing until its leader
 * speaks, a leader alone shows its whole durable log.
 */
export interface PartitionCheckpoint {
  topic: string;
  partition: number;
  highWatermark: number;
  inSync: number[];
}

export const CHECKPOINT_FILE_NAME = "replication-offset-checkpoint";

export function checkpointKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function readCheckpoint(dataDir: string, fs: FileSystem): Map<string, PartitionCheckpoint> {
  const filePath = path.join(dataDir, CHECKPOINT_FILE_NAME);
  const entries = new Map<string, PartitionCheckpoint>();
  if (!fs.exists(filePath)) return entries;
  try {
    const file = JSON.parse(new TextDecoder().decode(fs.readFile(filePath))) as { version?: unknown; partitions?: unknown };
    if (file.version !== 1 || !Array.isArray(file.partitions)) return entries;
    for (const item of file.partitions as Record<string, unknown>[]) {
      const { topic, partition, high_watermark, in_sync } = item;
      if (typeof topic !== "string" || typeof partition !== "number" || typeof high_watermark !== "number" || !Array.isArray(in_sync)) continue;
      entries.set(checkpointKey(topic, partition), {
        topic,
        partition,
        highWatermark: high_watermark,
        inSync: in_sync.filter((id): id is number => typeof id === "number"),
      });
    }
  } catch {
    // Derived data: a damaged file is the same as none.
  }
  return entries;
}

export async function writeCheckpoint(dataDir: string, fs: FileSystem, partitions: PartitionCheckpoint[]): Promise<void> {
  const file = {
    version: 1,
    partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition, high_watermark: p.highWatermark, in_sync: p.inSync })),
  };
  await fs.writeFileAtomic(path.join(dataDir, CHECKPOINT_FILE_NAME), new TextEncoder().encode(`${JSON.stringify(file)}\n`));
}

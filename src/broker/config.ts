import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "../storage/file-system.ts";
import type { FsyncPolicy } from "../storage/fsync-policy.ts";

/**
 * What a broker needs to run. Everything with a side effect (disk, time,
 * logging) is passed in, so tests can substitute a faulty file system or a
 * fake clock.
 */
export interface BrokerConfig {
  brokerId: number;
  /** Holds `topics.json` and one `<topic>-<partition>/` directory per partition. */
  dataDir: string;
  fs: FileSystem;
  clock: Clock;
  logger: Logger;
  /** When appended bytes reach stable storage before a produce is acknowledged. */
  fsyncPolicy: FsyncPolicy;
  /** Segment size before a roll (`--segment-bytes`). */
  segmentBytesMax: number;
  /** Largest key + value + headers of one record (`--max-message-bytes`). */
  messageBytesMax: number;
  /** Called after each fdatasync of appended records (PartitionLogOptions.onFsync): metrics. */
  onFsync?: (durationSeconds: number, records: number, bytes: number) => void;
}

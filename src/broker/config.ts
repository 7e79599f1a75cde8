import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "../storage/file-system.ts";
import type { FsyncPolicy } from "../storage/fsync-policy.ts";
import type { TopicConfig } from "./topic-config.ts";

/** The broker-wide defaults of a topic's settings that do not come from segmentBytesMax and messageBytesMax. */
export type BrokerTopicDefaults = Omit<TopicConfig, "segmentBytes" | "maxMessageBytes">;

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
  /**
   * Under `always`, partitions commit through the shared commit journal
   * (`--commit-journal`, on by default; src/storage/commit-journal.ts); false
   * fdatasyncs each partition's segment instead.
   */
  commitJournal?: boolean;
  /** A partition's commit round smaller than this goes through the journal (`--journal-round-bytes`); limits.journalRoundBytesMax when absent. */
  journalRoundBytesMax?: number;
  /** Partitions' own fdatasyncs running at once before small rounds go through the journal (`--journal-direct-syncs`); limits.journalDirectSyncsMax when absent. */
  journalDirectSyncsMax?: number;
  /** Journal bytes after which a checkpoint starts; limits.journalCheckpointBytes when absent. */
  journalCheckpointBytes?: number;
  /** Segment size before a roll (`--segment-bytes`): the default of a topic's `segment.bytes`. */
  segmentBytesMax: number;
  /** Largest key + value + headers of one record (`--max-message-bytes`): the default of a topic's `max.message.bytes`. */
  messageBytesMax: number;
  /**
   * The defaults of the other topic settings (src/broker/topic-config.ts),
   * each from its broker flag; Kafka's (KAFKA_TOPIC_DEFAULTS, and 1 for
   * `min.insync.replicas`) when absent. See topicDefaultsOf().
   */
  topicDefaults?: Partial<BrokerTopicDefaults>;
  /** Partitions this broker may hold (409 limit_reached past it); limits.partitionsPerBrokerMaxDefault when absent (src/broker/partitions-max.ts). */
  partitionsMax?: number;
  /**
   * Segment-file descriptors the broker keeps open at most (its descriptor
   * pool, src/storage/descriptor-pool.ts); derived from the open-file limit
   * when absent (src/broker/open-files.ts).
   */
  segmentFilesOpenMax?: number;
  /**
   * Called after a partition's active segment rolled (PartitionLogOptions.onRoll)
   * and when it holds its retention.bytes without its oldest segment
   * (PartitionLogOptions.onRetentionDue): delete retention checks it at once.
   */
  onRetentionDue?: (topic: string, partition: number) => void;
  /** Called after each fdatasync of appended records (PartitionLogOptions.onFsync): metrics. */
  onFsync?: (durationSeconds: number, records: number, bytes: number) => void;
  /**
   * Called once a client's records are acknowledged (under acks=0, once they
   * are handed to the log), per partition: `bytes` are the records' key and
   * value bytes. Every door's produce is counted here alike: metrics.
   */
  onProduced?: (topic: string, partition: number, records: number, bytes: number) => void;
  /**
   * Called once records are handed to a consumer (a partition consume or a
   * group consume), per partition: `bytes` are key + value bytes for decoded
   * records, the stored batches' bytes when the consumer takes batches (the
   * key + value bytes are not known without decoding every record, which the
   * binary form exists to avoid; so they include record framing and headers,
   * and records outside the delivered range in the end batches): metrics.
   */
  onConsumed?: (topic: string, partition: number, records: number, bytes: number) => void;
}

import type { Clock } from "../core/clock.ts";
import type { GafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

/**
 * The broker log's account of produces that failed on the disk
 * (storage_full, storage_failed): the operator learns which partition's
 * disk is full from here (docs/operations.md "The disk is full"). A full
 * disk under load fails every append, so each partition gets at most one
 * line per interval, the first at once; a line says how many more failed
 * since the one before.
 */
export class ProduceFailureLog {
  private readonly partitions = new Map<string, { loggedAtMs: number; unreported: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly intervalMs = 1000,
  ) {}

  /** One failed append to `partitionName` (`topic-partition`); its error's message names the partition. */
  failed(partitionName: string, error: GafkaError): void {
    const nowMs = this.clock.monotonicMs();
    const partition = this.partitions.get(partitionName);
    if (partition !== undefined && nowMs - partition.loggedAtMs < this.intervalMs) {
      partition.unreported++;
      return;
    }
    const unreported = partition?.unreported ?? 0;
    this.partitions.set(partitionName, { loggedAtMs: nowMs, unreported: 0 });
    const more = unreported > 0 ? ` (and ${unreported} more failed produces to ${partitionName} since the last report)` : "";
    this.logger.warn(`produce to ${partitionName} failed, ${error.code}: ${error.message}${more}`);
  }
}

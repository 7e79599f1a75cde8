import type { Timer } from "../core/clock.ts";
import { type PartitionCheckpoint, writeCheckpoint } from "./high-watermark-checkpoint.ts";
import type { ReplicaContext } from "./replica-context.ts";

const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * Writes replication-offset-checkpoint (high-watermark-checkpoint.ts) about
 * once a second while it changes, and once more on a clean stop: a leader's
 * in-sync sets and high watermarks, or a follower's high watermarks.
 */
export class CheckpointSaver {
  private timer: Timer | undefined;
  private lastCheckpoint = "";

  constructor(private readonly context: ReplicaContext) {}

  start(): void {
    this.timer = this.context.options.config.clock.setInterval(() => void this.save(), CHECKPOINT_INTERVAL_MS);
  }

  cancel(): void {
    this.timer?.cancel();
  }

  /** Writes the checkpoint when it changed; a leader that never had followers has none to write. After stop, only the `final` one. */
  async save(final = false): Promise<void> {
    const { context } = this;
    const { options } = context;
    if (context.stopped && !final) return;
    let entries: PartitionCheckpoint[];
    if (context.leader !== undefined) {
      // With N >= 2 the checkpoint is also what a restart may show (never more than N replicas held).
      if (context.state.followers.length === 0 && options.replication.minInsyncReplicas <= 1) return;
      entries = context.leader.checkpoint();
    } else {
      entries = options.broker
        .partitionEntries()
        .filter((entry) => entry.log?.status === "online")
        .map((entry) => ({ topic: entry.topic, partition: entry.partition, highWatermark: entry.log!.highWatermark, inSync: [] }));
    }
    const text = JSON.stringify(entries);
    if (text === this.lastCheckpoint) return;
    try {
      await writeCheckpoint(options.config.dataDir, options.config.fs, entries);
      this.lastCheckpoint = text;
    } catch (error) {
      context.logger.warn(`could not write the high-watermark checkpoint (it is derived; retrying): ${error instanceof Error ? error.message : error}`);
    }
  }
}

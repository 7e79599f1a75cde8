import { type CleanerPass, samePass } from "../storage/cleaner-checkpoint.ts";
import type { ReplayedPass } from "../storage/log-compactor.ts";

/**
 * A follower's queue of the leader's compaction passes, one entry per
 * partition: the newest cleaner checkpoint its leader sent (the stream's
 * `cleaner_passes`, src/replication/stream-codec.ts), which lists every pass
 * the leader has recorded with its inputs. A follower chooses no pass of its
 * own; its cleaner repeats the leader's, one at a time and in order
 * (nextReplayedPass), each once it holds the log up to the pass's clean end
 * (src/broker/log-cleaner.ts). Held in memory only: after a restart the
 * leader sends its checkpoint again when the stream opens, and the
 * follower's own checkpoint says which of its passes are done already.
 */
export class ReplicatedPassQueue {
  private readonly byPartition = new Map<string, { topic: string; partition: number; leaderPasses: CleanerPass[] }>();

  /** The leader's checkpoint after its latest pass: it replaces the one held (it lists every pass that one did, and more). */
  receive(topic: string, partition: number, leaderPasses: CleanerPass[]): void {
    this.byPartition.set(partitionKey(topic, partition), { topic, partition, leaderPasses });
  }

  /** Partitions with a leader checkpoint held, oldest received first. */
  entries(): { topic: string; partition: number; leaderPasses: CleanerPass[] }[] {
    return [...this.byPartition.values()];
  }

  /** Done with: the follower's checkpoint reached the leader's (or the partition is gone). */
  forget(topic: string, partition: number): void {
    this.byPartition.delete(partitionKey(topic, partition));
  }

  clear(): void {
    this.byPartition.clear();
  }

  get size(): number {
    return this.byPartition.size;
  }
}

/**
 * The next of the leader's passes this replica repeats, given its own
 * checkpoint `own` and the leader's `leaderPasses`; undefined when it has
 * them all.
 *
 * - Its last pass is one of the leader's: the one after it, read against
 *   `own` (which is the leader's checkpoint as of that pass: a follower
 *   writes the one it is sent).
 * - It has none: the leader's first, against no pass, and so on in order.
 * - It has the leader's latest already (an older checkpoint): none.
 * - Its last pass is none of the leader's (it compacted on its own before:
 *   an older version, or it led and made a pass no follower heard of; or it
 *   missed more passes than a checkpoint keeps): the leader's last, against
 *   the leader's passes before it, so the checkpoints agree from there (the
 *   segments compacted before may still differ: see docs/storage.md).
 */
export function nextReplayedPass(own: readonly CleanerPass[], leaderPasses: readonly CleanerPass[]): ReplayedPass | undefined {
  if (leaderPasses.length === 0) return undefined;
  const last = own.at(-1);
  if (last === undefined) return { pass: leaderPasses[0]!, priorPasses: [] };
  const index = leaderPasses.findIndex((pass) => samePass(pass, last));
  if (index >= 0) {
    const next = leaderPasses[index + 1];
    return next === undefined ? undefined : { pass: next, priorPasses: own };
  }
  // It has the leader's latest pass already (an older checkpoint of the leader's): nothing to do.
  if (own.some((pass) => samePass(pass, leaderPasses.at(-1)!))) return undefined;
  return { pass: leaderPasses.at(-1)!, priorPasses: leaderPasses.slice(0, -1) };
}

function partitionKey(topic: string, partition: number): string {
  return JSON.stringify([topic, partition]);
}

import type { CommittedOffset, OffsetStore } from "../groups/offset-store.ts";
import type { ReplicatedOffset } from "./stream-codec.ts";

/**
 * Committed group offsets as replication sees them: the leader ships every
 * durable commit (OffsetStore.onCommit) with its sequence, and a snapshot
 * with the sequence it covers when a stream starts; the follower commits
 * them into its own store, durably, and only then reports the sequence
 * (what lets the leader acknowledge a commit under min.insync.replicas).
 * A follower's store holds only what it was sent and made durable, and all
 * of it counts as acknowledged there: a promoted follower reports exactly
 * what it holds, and a deposed leader that rejoins takes its new leader's
 * offsets whole (its own unreplicated commits were never acknowledged).
 */
export interface OffsetsReplica {
  /** Every offset the store has written, and the sequence of the last write it includes. */
  snapshot(): { sequence: number; entries: ReplicatedOffset[] };
  /** Applies shipped entries durably; a snapshot also deletes (tombstones) whatever it does not list. */
  apply(snapshot: boolean, entries: readonly ReplicatedOffset[]): Promise<void>;
  onCommit(listener: (entries: ReplicatedOffset[], sequence: number) => void): void;
}

type Store = Pick<OffsetStore, "groups" | "offsetsOf" | "get" | "commit" | "onCommit" | "acknowledge" | "lastSequence">;

const TOMBSTONE = -1;

export function offsetsReplica(store: Store): OffsetsReplica {
  const all = (): CommittedOffset[] => store.groups().flatMap((group) => store.offsetsOf(group));
  return {
    snapshot: () => ({ sequence: store.lastSequence, entries: all() }),
    async apply(snapshot, entries) {
      const changed: CommittedOffset[] = entries.filter((entry) => {
        const mine = store.get(entry.group, entry.topic, entry.partition);
        return entry.offset === TOMBSTONE ? mine !== undefined : mine?.offset !== entry.offset;
      });
      if (snapshot) {
        const listed = new Set(entries.map((entry) => `${entry.group}\u0000${entry.topic}\u0000${entry.partition}`));
        for (const mine of all()) {
          if (!listed.has(`${mine.group}\u0000${mine.topic}\u0000${mine.partition}`)) changed.push({ ...mine, offset: TOMBSTONE });
        }
      }
      await store.commit(changed);
      // The store now holds its leader's offsets (every earlier write is durable: fsyncs run in order),
      // including what a deposed leader wrote and the leader overwrote just now.
      store.acknowledge(store.lastSequence);
    },
    onCommit(listener) {
      store.onCommit((entries, sequence) => listener(entries.map((entry) => ({ ...entry })), sequence));
    },
  };
}

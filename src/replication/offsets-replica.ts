import type { CommittedOffset, OffsetStore } from "../groups/offset-store.ts";
import type { ReplicatedOffset } from "./stream-codec.ts";

/**
 * Committed group offsets as replication sees them: the leader ships every
 * durable commit (OffsetStore.onCommit) and a snapshot when a stream starts;
 * the follower commits them into its own store, durably, so that a promoted
 * follower's groups resume where they were.
 */
export interface OffsetsReplica {
  snapshot(): ReplicatedOffset[];
  /** Applies shipped entries; a snapshot also deletes (tombstones) whatever it does not list. */
  apply(snapshot: boolean, entries: readonly ReplicatedOffset[]): Promise<void>;
  onCommit(listener: (entries: ReplicatedOffset[]) => void): void;
}

type Store = Pick<OffsetStore, "groups" | "offsetsOf" | "get" | "commit" | "onCommit">;

const TOMBSTONE = -1;

export function offsetsReplica(store: Store): OffsetsReplica {
  const all = (): CommittedOffset[] => store.groups().flatMap((group) => store.offsetsOf(group));
  return {
    snapshot: all,
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
    },
    onCommit(listener) {
      store.onCommit((entries) => listener(entries.map((entry) => ({ ...entry }))));
    },
  };
}

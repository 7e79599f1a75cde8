import { expect, test } from "bun:test";
import type { CommittedOffset } from "../groups/offset-store.ts";
import { offsetsReplica } from "./offsets-replica.ts";

/** Enough of OffsetStore, in memory, recording what was committed and acknowledged. */
function memoryStore(initial: CommittedOffset[]) {
  const offsets = new Map(initial.map((o) => [`${o.group}/${o.topic}/${o.partition}`, o]));
  const commits: CommittedOffset[][] = [];
  const acknowledged: number[] = [];
  let lastSequence = 0;
  return {
    commits,
    acknowledged,
    get lastSequence() {
      return lastSequence;
    },
    groups: () => [...new Set([...offsets.values()].map((o) => o.group))].sort(),
    offsetsOf: (group: string) => [...offsets.values()].filter((o) => o.group === group),
    get: (group: string, topic: string, partition: number) => offsets.get(`${group}/${topic}/${partition}`),
    async commit(entries: readonly CommittedOffset[]) {
      if (entries.length === 0) return 0;
      commits.push([...entries]);
      for (const entry of entries) {
        const key = `${entry.group}/${entry.topic}/${entry.partition}`;
        if (entry.offset === -1) offsets.delete(key);
        else offsets.set(key, entry);
      }
      return ++lastSequence;
    },
    acknowledge(sequence: number) {
      acknowledged.push(sequence);
    },
    onCommit() {},
  };
}

const at = (group: string, partition: number, offset: number): CommittedOffset => ({ group, topic: "t", partition, offset, committedAtMs: 1 });

test("a snapshot commits only what changed and deletes what the leader no longer has", async () => {
  const store = memoryStore([at("a", 0, 5), at("a", 1, 7), at("gone", 0, 3)]);
  await offsetsReplica(store).apply(true, [at("a", 0, 5), at("a", 1, 9), at("new", 0, 1)]);
  expect(store.commits).toEqual([[at("a", 1, 9), at("new", 0, 1), { ...at("gone", 0, 3), offset: -1 }]]);
  expect(store.groups()).toEqual(["a", "new"]);
});

test("a live update applies tombstones and skips what is already there", async () => {
  const store = memoryStore([at("a", 0, 5)]);
  const replica = offsetsReplica(store);
  await replica.apply(false, [at("a", 0, 5), { ...at("a", 0, 0), offset: -1 }, { ...at("b", 0, 0), offset: -1 }]);
  expect(store.commits).toEqual([[{ ...at("a", 0, 0), offset: -1 }]]);
  expect(replica.snapshot()).toEqual({ sequence: 1, entries: [] });
});

test("what a follower applied is acknowledged in its store: it is what it holds, even when nothing changed", async () => {
  const store = memoryStore([at("a", 0, 5)]);
  const replica = offsetsReplica(store);
  await replica.apply(true, [at("a", 0, 6)]);
  expect(store.acknowledged).toEqual([1]);
  await replica.apply(false, [at("a", 0, 6)]);
  expect(store.acknowledged).toEqual([1, 1]);
});

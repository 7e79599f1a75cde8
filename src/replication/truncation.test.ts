import { expect, test } from "bun:test";
import type { EpochEntry } from "../storage/leader-epoch-cache.ts";
import { divergenceOffset, type LeaderView } from "./truncation.ts";

/** A leader view over plain entries, answering as LeaderEpochCache.endOf does. */
function leader(epochs: EpochEntry[], logEndOffset: number): LeaderView {
  return {
    logEndOffset,
    endOf(epoch, end) {
      let at = -1;
      epochs.forEach((entry, i) => {
        if (entry.epoch <= epoch) at = i;
      });
      if (at < 0) return { epoch: -1, endOffset: epochs.length === 0 ? end : epochs[0]!.startOffset };
      return { epoch: epochs[at]!.epoch, endOffset: epochs[at + 1]?.startOffset ?? end };
    },
  };
}

const e = (epoch: number, startOffset: number): EpochEntry => ({ epoch, startOffset });

test("a follower that is only behind keeps everything", () => {
  expect(divergenceOffset(leader([e(0, 0)], 500), { epochs: [e(0, 0)], logEndOffset: 300 })).toBe(300);
  expect(divergenceOffset(leader([e(0, 0), e(1, 400)], 500), { epochs: [e(0, 0)], logEndOffset: 300 })).toBe(300);
});

test("a deposed leader loses the tail it wrote after the new leader's epoch began", () => {
  // B1 wrote [0,150) under epoch 0; B2 had [0,120) when promoted to epoch 1 and wrote on.
  expect(divergenceOffset(leader([e(0, 0), e(1, 120)], 180), { epochs: [e(0, 0)], logEndOffset: 150 })).toBe(120);
});

test("an epoch the new leader never saw is cut away entirely", () => {
  // The follower once led under epoch 2 from 150; the leader skipped from 0 to 3 at 140.
  expect(divergenceOffset(leader([e(0, 0), e(3, 140)], 200), { epochs: [e(0, 0), e(2, 150)], logEndOffset: 170 })).toBe(140);
});

test("a follower longer than its leader within the same epoch is cut to the leader's end", () => {
  expect(divergenceOffset(leader([e(0, 0)], 90), { epochs: [e(0, 0)], logEndOffset: 100 })).toBe(90);
});

test("logs from before epochs (-1) compare by their ends", () => {
  expect(divergenceOffset(leader([], 90), { epochs: [], logEndOffset: 100 })).toBe(90);
  expect(divergenceOffset(leader([e(0, 80)], 120), { epochs: [], logEndOffset: 100 })).toBe(80);
  expect(divergenceOffset(leader([e(0, 0)], 120), { epochs: [], logEndOffset: 0 })).toBe(0);
});

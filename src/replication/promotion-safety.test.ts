import { expect, test } from "bun:test";
import { leaseExpiresAtMs } from "./lease-expiry.ts";
import { judgePromotion, type PromotionFacts } from "./promotion-safety.ts";

const base = (overrides: Partial<PromotionFacts>): PromotionFacts => ({
  replicated: true,
  partitions: [{ topic: "t", partition: 0, logEndOffset: 100, lastHighWatermark: 100 }],
  leader: { minInsyncReplicas: 2, replicas: 2, replicaLagMaxMs: 10_000 },
  leaderNow: undefined,
  ...overrides,
});

test("an unreachable leader with N=2 and R=2: every high watermark advance needed this follower, so it is clean", () => {
  expect(judgePromotion(base({}))).toMatchObject({ clean: true, basis: "needed_for_every_commit" });
  // Even a follower that was out of sync: with R <= N the leader could not advance without it.
  expect(judgePromotion(base({ partitions: [{ topic: "t", partition: 0, logEndOffset: 40, lastHighWatermark: 40 }] })).clean).toBe(true);
});

test("an unreachable leader with N=1: the last high watermark it sent proves nothing, so not clean, however caught up the follower looks", () => {
  const verdict = judgePromotion(base({ leader: { minInsyncReplicas: 1, replicas: 2, replicaLagMaxMs: 10_000 } }));
  expect(verdict.clean).toBe(false);
  if (verdict.clean) return;
  expect(verdict.reason).toContain("min.insync.replicas=1");
  expect(verdict.knownMissing).toBe(false);
  expect(verdict.shortfall).toEqual([
    { topic: "t", partition: 0, log_end_offset: 100, high_watermark: 100, high_watermark_source: "last_sent", leader_log_end_offset: null, missing_at_least: 0 },
  ]);
});

test("an unreachable leader with more replicas than N, or whose N was never heard: not clean", () => {
  const more = judgePromotion(base({ leader: { minInsyncReplicas: 2, replicas: 3, replicaLagMaxMs: 10_000 } }));
  expect(more.clean).toBe(false);
  if (!more.clean) expect(more.reason).toContain("3 replicas and needs 2");
  const unknown = judgePromotion(base({ leader: null }));
  expect(unknown.clean).toBe(false);
  if (!unknown.clean) expect(unknown.reason).toContain("never stated");
});

test("a reachable leader: clean when the follower holds its high watermark now, else says how many records are missing", () => {
  const leaderNow = [{ topic: "t", partition: 0, highWatermark: 100, logEndOffset: 130 }];
  expect(judgePromotion(base({ leader: null, leaderNow }))).toMatchObject({ clean: true, basis: "caught_up_to_leader" });
  const behind = judgePromotion(base({ leaderNow: [{ topic: "t", partition: 0, highWatermark: 120, logEndOffset: 130 }] }));
  expect(behind.clean).toBe(false);
  if (behind.clean) return;
  expect(behind.knownMissing).toBe(true);
  expect(behind.reason).toContain("20 record(s) at least");
  expect(behind.shortfall[0]).toMatchObject({ high_watermark: 120, high_watermark_source: "leader", leader_log_end_offset: 130, missing_at_least: 20 });
});

test("a follower below the last high watermark it was sent lacks records for sure; one that never replicated lacks everything", () => {
  const below = judgePromotion(base({ partitions: [{ topic: "t", partition: 0, logEndOffset: 90, lastHighWatermark: 100 }] }));
  expect(below).toMatchObject({ clean: false, knownMissing: true });
  expect(judgePromotion(base({ replicated: false }))).toMatchObject({ clean: false });
});

test("the lease runs out lease period + max(1 s, 10%) after the last leader message, or after this broker started", () => {
  expect(leaseExpiresAtMs({ lastLeaderMessageMs: 5_000, startedMs: 1_000, leasePeriodMs: 3_000 })).toBe(5_000 + 3_000 + 1_000);
  expect(leaseExpiresAtMs({ lastLeaderMessageMs: 5_000, startedMs: 1_000, leasePeriodMs: 30_000 })).toBe(5_000 + 30_000 + 3_000);
  // Nothing heard since a restart: nothing echoed since then can hold a lease past start + period.
  expect(leaseExpiresAtMs({ lastLeaderMessageMs: 0, startedMs: 2_000, leasePeriodMs: 10_000 })).toBe(2_000 + 10_000 + 1_000);
});

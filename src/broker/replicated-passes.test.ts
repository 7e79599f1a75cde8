import { expect, test } from "bun:test";
import type { CleanerPass } from "../storage/cleaner-checkpoint.ts";
import { nextReplayedPass, ReplicatedPassQueue } from "./replicated-passes.ts";

const pass = (cleanEndOffset: number, cleanedAtMs: number): CleanerPass => ({ cleanEndOffset, cleanedAtMs, deleteRetentionMs: 100, minCompactionLagMs: 0 });
const leader = [pass(10, 1000), pass(25, 2000), pass(40, 3000)];

test("a follower with no pass repeats the leader's from its first, against no pass", () => {
  expect(nextReplayedPass([], leader)).toEqual({ pass: leader[0]!, priorPasses: [] });
  expect(nextReplayedPass([], [])).toBeUndefined();
});

test("a follower repeats the pass after its last, against its own checkpoint (the leader's as of that pass), until it has them all", () => {
  const own = leader.slice(0, 1);
  const next = nextReplayedPass(own, leader)!;
  expect(next.pass).toEqual(leader[1]!);
  expect(next.priorPasses).toBe(own);
  expect(nextReplayedPass(leader.slice(0, 2), leader)!.pass).toEqual(leader[2]!);
  expect(nextReplayedPass(leader, leader)).toBeUndefined();
  // A leader's older checkpoint (sent before the follower caught up) asks nothing more.
  expect(nextReplayedPass(leader, leader.slice(0, 2))).toBeUndefined();
});

test("a follower whose last pass is none of the leader's takes the leader's latest, against the leader's passes before it", () => {
  expect(nextReplayedPass([pass(30, 2500)], leader)).toEqual({ pass: leader[2]!, priorPasses: leader.slice(0, 2) });
});

test("the queue keeps the newest checkpoint per partition, oldest partition first, until forgotten", () => {
  const queue = new ReplicatedPassQueue();
  queue.receive("a", 0, leader.slice(0, 1));
  queue.receive("b-1", 2, leader);
  queue.receive("a", 0, leader.slice(0, 2));
  expect(queue.entries()).toEqual([
    { topic: "a", partition: 0, leaderPasses: leader.slice(0, 2) },
    { topic: "b-1", partition: 2, leaderPasses: leader },
  ]);
  queue.forget("a", 0);
  expect(queue.size).toBe(1);
  queue.clear();
  expect(queue.entries()).toEqual([]);
});

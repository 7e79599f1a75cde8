import { expect, test } from "bun:test";
import { idProblem, isLeaderEpoch, LEADER_EPOCH_MAX, limits, topicNameProblem } from "./limits.ts";

test("topic names follow Kafka's rules", () => {
  expect(topicNameProblem("test-topic")).toBeUndefined();
  expect(topicNameProblem("a.b_c-D9")).toBeUndefined();
  expect(topicNameProblem("x".repeat(limits.topicNameLengthMax))).toBeUndefined();
  expect(topicNameProblem("x".repeat(limits.topicNameLengthMax + 1))).toContain("longer");
  expect(topicNameProblem("")).toBeDefined();
  expect(topicNameProblem(".")).toBeDefined();
  expect(topicNameProblem("..")).toBeDefined();
  expect(topicNameProblem("a/b")).toBeDefined();
  expect(topicNameProblem(42)).toBeDefined();
});

test("consumer ids are bounded", () => {
  expect(idProblem("consumer_id", "consumer-1")).toBeUndefined();
  expect(idProblem("consumer_id", "c".repeat(129))).toContain("128");
  expect(idProblem("consumer_id", "a b")).toBeDefined();
});

test("a leader epoch is an integer from 0 to LEADER_EPOCH_MAX, which leaves one int32 value free", () => {
  expect(LEADER_EPOCH_MAX).toBe(2 ** 31 - 2);
  for (const good of [0, 1, LEADER_EPOCH_MAX]) expect(isLeaderEpoch(good)).toBe(true);
  for (const bad of [-1, LEADER_EPOCH_MAX + 1, 2 ** 31, 2 ** 53, 1.5, Number.NaN, Infinity, "3", null, undefined]) expect(isLeaderEpoch(bad)).toBe(false);
});

import { expect, test } from "bun:test";
import { idProblem, limits, topicNameProblem } from "./limits.ts";

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

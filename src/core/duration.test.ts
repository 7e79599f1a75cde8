import { expect, test } from "bun:test";
import { parseDurationMs } from "./duration.ts";

test("parses the seed's duration forms", () => {
  expect(parseDurationMs("500ms")).toBe(500);
  expect(parseDurationMs("30s")).toBe(30_000);
  expect(parseDurationMs("2m")).toBe(120_000);
  expect(parseDurationMs("1h")).toBe(3_600_000);
  expect(parseDurationMs("250")).toBe(250);
  expect(parseDurationMs("1.5s")).toBe(1500);
});

test("rejects what is not a duration", () => {
  for (const bad of ["", "abc", "-1s", "10 parsecs", "1e9", "s"]) expect(parseDurationMs(bad)).toBeUndefined();
});

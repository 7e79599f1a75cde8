import { expect, test } from "bun:test";
import { isBareNumber, parseDurationMs } from "./duration.ts";

test("parses the seed's duration forms", () => {
  expect(parseDurationMs("500ms")).toBe(500);
  expect(parseDurationMs("30s")).toBe(30_000);
  expect(parseDurationMs("2m")).toBe(120_000);
  expect(parseDurationMs("1h")).toBe(3_600_000);
  expect(parseDurationMs("1.5s")).toBe(1500);
  expect(parseDurationMs("0")).toBe(0);
});

test("a number without a unit is not a duration, unless the caller names the unit", () => {
  expect(parseDurationMs("10")).toBeUndefined();
  expect(parseDurationMs("250")).toBeUndefined();
  expect(parseDurationMs("250", { bareNumberUnit: "ms" })).toBe(250);
  expect(isBareNumber("10")).toBe(true);
  expect(isBareNumber("10s")).toBe(false);
});

test("rejects what is not a duration", () => {
  for (const bad of ["", "abc", "-1s", "10 parsecs", "1e9", "s"]) expect(parseDurationMs(bad)).toBeUndefined();
});

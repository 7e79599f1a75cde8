import { expect, test } from "bun:test";
import { colorWanted, forStream, stripAnsiStyle } from "./color.ts";

const terminal = { isTTY: true };
const pipe = { isTTY: false };

test("colour only on a terminal", () => {
  expect(colorWanted(terminal, {})).toBe(true);
  expect(colorWanted(pipe, {})).toBe(false);
  expect(colorWanted({}, {})).toBe(false);
  expect(colorWanted(terminal, { TERM: "dumb" })).toBe(false);
});

test("NO_COLOR turns it off, FORCE_COLOR on, and FORCE_COLOR wins", () => {
  expect(colorWanted(terminal, { NO_COLOR: "1" })).toBe(false);
  expect(colorWanted(terminal, { NO_COLOR: "" })).toBe(true); // empty means unset (no-color.org)
  expect(colorWanted(pipe, { FORCE_COLOR: "1" })).toBe(true);
  expect(colorWanted(pipe, { FORCE_COLOR: "" })).toBe(true);
  expect(colorWanted(terminal, { FORCE_COLOR: "0" })).toBe(false);
  expect(colorWanted(terminal, { FORCE_COLOR: "false" })).toBe(false);
  expect(colorWanted(pipe, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe(true);
});

test("styles are stripped where colour is not wanted", () => {
  const styled = "\u001B[4m\u001B[1mUSAGE\u001B[22m\u001B[24m \u001B[36mgafka\u001B[39m";
  expect(stripAnsiStyle(styled)).toBe("USAGE gafka");
  expect(forStream(styled, pipe, {})).toBe("USAGE gafka");
  expect(forStream(styled, terminal, {})).toBe(styled);
});

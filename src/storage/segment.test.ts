import { expect, test } from "bun:test";
import { AssertionError } from "../core/assert.ts";
import { DescriptorPool } from "./descriptor-pool.ts";
import { nodeFileSystem } from "./file-system.ts";
import { OffsetIndex } from "./offset-index.ts";
import { Segment } from "./segment.ts";

test("offsets only grow on a segment append and on an index append", () => {
  const segment = new Segment(100, "a.log", "a.index", new DescriptorPool(nodeFileSystem, 4).file("a.log"), 0, 100, new OffsetIndex(), 4096);
  segment.appended(100, 105, 200, 4096, 0);
  expect(segment.nextOffset).toBe(105);
  expect(() => segment.appended(104, 110, 200, 4096, 0)).toThrow(AssertionError);
  expect(() => segment.appended(105, 105, 200, 4096, 0)).toThrow(AssertionError);
  const index = new OffsetIndex();
  index.append(0, 0);
  index.append(5, 200);
  expect(() => index.append(5, 400)).toThrow(AssertionError);
  expect(() => index.append(9, 200)).toThrow(AssertionError);
});

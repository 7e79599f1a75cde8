import { expect, test } from "bun:test";
import { ManualClock } from "../core/manual-clock.ts";
import { SegmentRollPolicy } from "./segment-roll-policy.ts";

test("rolls past segment.bytes, and once the active segment's first record is segment.ms old; limits change live", () => {
  const clock = new ManualClock();
  const policy = new SegmentRollPolicy(1000, clock);
  expect(policy.shouldRoll(0, 5000)).toBe(false); // an empty segment takes any frame
  policy.appending(0);
  expect(policy.shouldRoll(900, 100)).toBe(false);
  expect(policy.shouldRoll(900, 101)).toBe(true);
  clock.advance(3_600_000);
  expect(policy.isAged(900)).toBe(false); // no segment.ms yet: never by age
  policy.setLimits({ segmentBytesMax: 2000, segmentMs: 60_000 });
  expect(policy.isAged(900)).toBe(true);
  expect(policy.shouldRoll(900, 101)).toBe(true);
  policy.reset(); // rolled: the new segment is timed from its first record
  clock.advance(120_000);
  expect(policy.isAged(0)).toBe(false);
  policy.appending(0);
  clock.advance(59_999);
  expect(policy.shouldRoll(10, 10)).toBe(false);
  clock.advance(1);
  expect(policy.shouldRoll(10, 10)).toBe(true);
});

import { expect, test } from "bun:test";
import { ManualClock } from "../core/manual-clock.ts";
import { withinTimeout } from "./within-timeout.ts";

test("work not settled within the timeout is answered late, in its place; the rest keep their results", async () => {
  const clock = new ManualClock();
  let finishSlow = (_value: string) => {};
  const slow = new Promise<string>((resolve) => (finishSlow = resolve));
  const answered = withinTimeout(clock, 1000, [Promise.resolve("quick"), slow], (index) => `late ${index}`);
  await Promise.resolve();
  clock.advance(1000);
  expect(await answered).toEqual(["quick", "late 1"]);
  finishSlow("done after all");
});

test("a timeout of 0 or less waits for everything", async () => {
  const clock = new ManualClock();
  let finish = (_value: string) => {};
  const work = new Promise<string>((resolve) => (finish = resolve));
  const answered = withinTimeout(clock, 0, [work], () => "late");
  finish("done");
  expect(await answered).toEqual(["done"]);
});

import { describe, expect, test } from "bun:test";
import { AssertionError } from "./assert.ts";
import { type Clock, systemClock } from "./clock.ts";
import { ManualClock } from "./manual-clock.ts";

describe("ManualClock", () => {
  test("readings start where told and move only on advance, wall and monotonic together", () => {
    const clock = new ManualClock({ monotonicMs: 500, nowMs: 1_700_000_000_000 });
    expect(clock.monotonicMs()).toBe(500);
    expect(clock.nowMs()).toBe(1_700_000_000_000);
    clock.advance(250);
    expect(clock.monotonicMs()).toBe(750);
    expect(clock.nowMs()).toBe(1_700_000_000_250);
    const defaults = new ManualClock();
    expect(defaults.nowMs() - defaults.monotonicMs()).toBe(1_764_000_000_000);
  });

  test("a timeout fires once, when time reaches its due time, with the clock reading that time", () => {
    const clock = new ManualClock({ monotonicMs: 0 });
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.monotonicMs()), 100);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(51);
    expect(fired).toEqual([100]);
    expect(clock.monotonicMs()).toBe(150);
    clock.advance(1_000);
    expect(fired).toEqual([100]);
    expect(clock.pendingTimers).toBe(0);
  });

  test("a timeout of 0 (or less) fires on the next advance, even of 0 ms", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("zero"), 0);
    clock.setTimeout(() => fired.push("negative"), -5);
    expect(fired).toEqual([]);
    clock.advance(0);
    expect(fired).toEqual(["zero", "negative"]);
  });

  test("an interval fires once per period that fits, each at its own time, until cancelled", () => {
    const clock = new ManualClock({ monotonicMs: 0 });
    const fired: number[] = [];
    const timer = clock.setInterval(() => fired.push(clock.monotonicMs()), 30);
    clock.advance(100);
    expect(fired).toEqual([30, 60, 90]);
    clock.advance(20);
    expect(fired).toEqual([30, 60, 90, 120]);
    timer.cancel();
    timer.cancel();
    clock.advance(1_000);
    expect(fired).toEqual([30, 60, 90, 120]);
    expect(clock.pendingTimers).toBe(0);
  });

  test("timers fire in order of due time, ties in the order scheduled (an interval's, when it was last re-armed)", () => {
    const clock = new ManualClock({ monotonicMs: 0 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("t50"), 50);
    clock.setInterval(() => fired.push(`i${clock.monotonicMs()}`), 20);
    clock.setTimeout(() => fired.push("t40-first"), 40);
    clock.setTimeout(() => fired.push("t40-second"), 40);
    clock.advance(60);
    expect(fired).toEqual(["i20", "t40-first", "t40-second", "i40", "t50", "i60"]);
  });

  test("a cancelled timeout never fires; a callback may cancel another due in the same advance", () => {
    const clock = new ManualClock({ monotonicMs: 0 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("cancelled"), 10).cancel();
    const later = clock.setTimeout(() => fired.push("later"), 30);
    clock.setTimeout(() => {
      fired.push("canceller");
      later.cancel();
    }, 20);
    clock.advance(100);
    expect(fired).toEqual(["canceller"]);
  });

  test("a timer scheduled by a callback fires in the same advance when due within it, and not before its time", () => {
    const clock = new ManualClock({ monotonicMs: 0 });
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.monotonicMs());
      clock.setTimeout(() => fired.push(clock.monotonicMs()), 25);
    }, 10);
    clock.advance(30);
    expect(fired).toEqual([10]);
    clock.advance(5);
    expect(fired).toEqual([10, 35]);
  });

  test("an interval cancelled from its own callback stops", () => {
    const clock = new ManualClock({ monotonicMs: 0 });
    let count = 0;
    const timer = clock.setInterval(() => {
      if (++count === 3) timer.cancel();
    }, 1);
    clock.advance(10);
    expect(count).toBe(3);
  });

  test("a callback that throws ends the advance at its time with the error; later timers stay due", () => {
    const clock = new ManualClock({ monotonicMs: 0 });
    const fired: string[] = [];
    clock.setTimeout(() => {
      throw new Error("boom");
    }, 10);
    clock.setTimeout(() => fired.push("after"), 20);
    expect(() => clock.advance(50)).toThrow("boom");
    expect(clock.monotonicMs()).toBe(10);
    expect(fired).toEqual([]);
    clock.advance(10);
    expect(fired).toEqual(["after"]);
  });

  test("advancing backwards, or from inside a callback, is a bug", () => {
    const clock = new ManualClock();
    expect(() => clock.advance(-1)).toThrow(AssertionError);
    clock.setTimeout(() => clock.advance(1), 1);
    expect(() => clock.advance(5)).toThrow(AssertionError);
  });
});

/** The timer contract, run against both clocks: `pass` lets `ms` of the clock's time go by. */
function timerContract(name: string, make: () => { clock: Clock; pass: (ms: number) => Promise<void> }) {
  describe(`${name} timers`, () => {
    test("timeouts fire once in due order; a cancelled one never; an interval repeats until cancelled", async () => {
      const { clock, pass } = make();
      const fired: string[] = [];
      clock.setTimeout(() => fired.push("late"), 40);
      clock.setTimeout(() => fired.push("early"), 5);
      clock.setTimeout(() => fired.push("cancelled"), 10).cancel();
      let ticks = 0;
      const interval = clock.setInterval(() => ticks++, 5);
      await pass(80);
      expect(fired).toEqual(["early", "late"]);
      expect(ticks).toBeGreaterThanOrEqual(2);
      interval.cancel();
      const stoppedAt = ticks;
      await pass(30);
      expect(ticks).toBe(stoppedAt);
      expect(fired).toEqual(["early", "late"]);
    });
  });
}

timerContract("systemClock", () => ({ clock: systemClock, pass: (ms) => Bun.sleep(ms) }));
timerContract("ManualClock", () => {
  const clock = new ManualClock();
  return { clock, pass: async (ms) => clock.advance(ms) };
});

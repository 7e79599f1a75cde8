import { expect, test } from "bun:test";
import { ManualClock } from "../core/manual-clock.ts";
import { ReadWaiters } from "./read-waiters.ts";

test("a wait ends when a record at its offset is visible, at its timeout, when any signal aborts, or at close", async () => {
  const waiters = new ReadWaiters();
  const ended: string[] = [];
  const first = new AbortController();
  const second = new AbortController();
  const waits = [
    waiters.wait(5, 60_000, []).then(() => ended.push("offset 5")),
    waiters.wait(7, 60_000, []).then(() => ended.push("offset 7")),
    waiters.wait(9, 60_000, [undefined, first.signal, second.signal]).then(() => ended.push("signal")),
    waiters.wait(9, 10, []).then(() => ended.push("timeout")),
    waiters.wait(9, 60_000, []).then(() => ended.push("close")),
  ];
  expect(waiters.size).toBe(5);
  waiters.wake(5); // offset 5 is not below a high watermark of 5: nothing to read yet
  await Bun.sleep(1);
  expect(ended).toEqual([]);
  waiters.wake(6);
  await waits[0];
  expect(ended).toEqual(["offset 5"]);
  second.abort();
  await waits[2];
  await waits[3];
  expect(ended).toEqual(["offset 5", "signal", "timeout"]);
  expect(waiters.size).toBe(2);
  first.abort(); // already ended: its listener was removed with it
  waiters.wakeAll();
  await Promise.all(waits);
  expect(ended.slice(3).sort()).toEqual(["close", "offset 7"]);
  expect(waiters.size).toBe(0);
});

test("a waiter added by hand is woken once when its offset is visible, and not at all once removed", () => {
  const waiters = new ReadWaiters();
  const woken: string[] = [];
  const kept = { offset: 3, wake: () => woken.push("kept") };
  const removed = { offset: 3, wake: () => woken.push("removed") };
  const later = { offset: 8, wake: () => woken.push("later") };
  waiters.add(kept);
  waiters.add(removed);
  waiters.add(later);
  waiters.remove(removed);
  waiters.remove(removed); // removing twice is harmless
  waiters.wake(4);
  waiters.wake(5); // already taken out: not woken twice
  expect(woken).toEqual(["kept"]);
  expect(waiters.size).toBe(1);
  waiters.wakeAll();
  expect(woken).toEqual(["kept", "later"]);
  expect(waiters.size).toBe(0);
});

test("a wait's timeout runs on the injected clock", async () => {
  const clock = new ManualClock();
  const waiters = new ReadWaiters(clock);
  let ended = false;
  const waiting = waiters.wait(3, 250, []).then(() => (ended = true));
  clock.advance(249);
  await Bun.sleep(0);
  expect(ended).toBe(false);
  expect(waiters.size).toBe(1);
  clock.advance(1);
  await waiting;
  expect(waiters.size).toBe(0);
  expect(clock.pendingTimers).toBe(0);
  const woken = waiters.wait(3, 250, []);
  waiters.wake(4);
  await woken;
  expect(clock.pendingTimers).toBe(0); // the wake cancelled the timeout
});

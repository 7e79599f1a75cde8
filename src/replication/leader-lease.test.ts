import { expect, test } from "bun:test";
import { LeaderLease } from "./leader-lease.ts";

test("held while N - 1 followers echoed a send within the period; each counts from its send time", () => {
  const lease = new LeaderLease(1000, 3);
  expect(lease.held(0)).toBe(false);
  expect(lease.expiresAtMs()).toBe(-Infinity);
  lease.renew(2, 100, 150);
  expect(lease.held(150)).toBe(false); // one of the two needed
  lease.renew(3, 400, 450);
  expect(lease.held(450)).toBe(true);
  expect(lease.expiresAtMs()).toBe(1100); // the older of the two newest echoes, plus the period
  expect(lease.held(1100)).toBe(true);
  expect(lease.held(1101)).toBe(false);
  lease.renew(2, 50, 1200); // an older stamp renews nothing
  expect(lease.renewedAt(2)).toBe(100);
  lease.renew(2, 1150, 1200);
  expect(lease.held(1500)).toBe(false); // follower 3's echo (sent at 400) is stale by now
  lease.renew(4, 1490, 1500);
  expect(lease.currentFollowers(1500)).toBe(2);
  expect(lease.held(1500)).toBe(true);
  lease.forget(4);
  expect(lease.held(1500)).toBe(false);
});

test("an echo from the future counts from now; with N = 1 the lease is always held", () => {
  const lease = new LeaderLease(1000, 2);
  lease.renew(2, 1_000_000, 10);
  expect(lease.renewedAt(2)).toBe(10);
  expect(lease.held(1011)).toBe(false);
  lease.renew(2, Number.NaN, 20);
  expect(lease.renewedAt(2)).toBe(10);
  const alone = new LeaderLease(1000, 1);
  expect(alone.held(123_456)).toBe(true);
  expect(alone.expiresAtMs()).toBe(Infinity);
});

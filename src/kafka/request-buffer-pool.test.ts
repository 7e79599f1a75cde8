import { expect, test } from "bun:test";
import { POOLED_REQUEST_BYTES_MAX, POOLED_REQUEST_BYTES_MIN, RequestBufferPool } from "./request-buffer-pool.ts";

test("pools requests between its bounds only", () => {
  const pool = new RequestBufferPool(1 << 24);
  expect(pool.pools(POOLED_REQUEST_BYTES_MIN - 1)).toBe(false);
  expect(pool.pools(POOLED_REQUEST_BYTES_MIN)).toBe(true);
  expect(pool.pools(POOLED_REQUEST_BYTES_MAX)).toBe(true);
  expect(pool.pools(POOLED_REQUEST_BYTES_MAX + 1)).toBe(false);
  expect(() => pool.take(POOLED_REQUEST_BYTES_MIN - 1)).toThrow();
});

test("a request gets a view of its size on a buffer of its power-of-two class, reused once given back", () => {
  const pool = new RequestBufferPool(1 << 24);
  const first = pool.take(1_000_100);
  expect(first.length).toBe(1_000_100);
  expect(first.byteOffset).toBe(0);
  expect(first.buffer.byteLength).toBe(1 << 20);
  const second = pool.take(600_000);
  expect(second.buffer).not.toBe(first.buffer);
  pool.give(first);
  expect(pool.freeBytesHeld).toBe(1 << 20);
  const third = pool.take(999_999);
  expect(third.buffer).toBe(first.buffer);
  expect(third.length).toBe(999_999);
  expect(pool.freeBytesHeld).toBe(0);
  // Another class is not served from this one.
  pool.give(third);
  expect(pool.take(POOLED_REQUEST_BYTES_MIN).buffer).not.toBe(first.buffer);
});

test("giving back what was not lent, or twice, is a bug", () => {
  const pool = new RequestBufferPool(1 << 24);
  expect(() => pool.give(new Uint8Array(POOLED_REQUEST_BYTES_MIN))).toThrow();
  const lent = pool.take(POOLED_REQUEST_BYTES_MIN);
  pool.give(lent);
  expect(() => pool.give(lent)).toThrow();
});

test("keeps at most its bound of free bytes", () => {
  const pool = new RequestBufferPool(3 * POOLED_REQUEST_BYTES_MIN);
  const lent = Array.from({ length: 5 }, () => pool.take(POOLED_REQUEST_BYTES_MIN));
  for (const request of lent) pool.give(request);
  expect(pool.freeBytesHeld).toBe(3 * POOLED_REQUEST_BYTES_MIN);
});

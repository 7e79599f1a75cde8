import { expect, test } from "bun:test";
import { joinBytes, unzeroedBytes } from "./bytes.ts";

test("unzeroedBytes is a plain Uint8Array of its own, whose slice() copies", () => {
  for (const length of [0, 1, 100, 5000, 1 << 20]) {
    const bytes = unzeroedBytes(length);
    expect(bytes.length).toBe(length);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(length);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    if (length === 0) continue;
    bytes.fill(7);
    const copy = bytes.slice();
    copy[0] = 9;
    expect(bytes[0]).toBe(7);
  }
});

test("joinBytes puts the parts one after another, and hands back a lone part as it is", () => {
  const one = new Uint8Array([1, 2]);
  expect(joinBytes([one])).toBe(one);
  expect(joinBytes([])).toEqual(new Uint8Array(0));
  expect(joinBytes([one, new Uint8Array(0), new Uint8Array([3])])).toEqual(new Uint8Array([1, 2, 3]));
  expect(joinBytes([one, new Uint8Array([3])], 3)).toEqual(new Uint8Array([1, 2, 3]));
});

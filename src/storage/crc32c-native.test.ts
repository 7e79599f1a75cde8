import { expect, test } from "bun:test";
import { crc32c } from "../protocol/crc32c.ts";
import { crc32cFast, loadNativeCrc32c, NATIVE_CRC32C_BYTES_MIN } from "./crc32c-native.ts";

const loaded = loadNativeCrc32c();
const hasSse42 = process.arch === "x64" && (await Bun.file("/proc/cpuinfo").text().catch(() => "")).includes(" sse4_2");

test("loads where the processor has SSE4.2 (x86-64), and says why not elsewhere", () => {
  if (hasSse42) expect(loaded).toHaveProperty("crc");
  else expect(loaded).toHaveProperty("unavailable");
});

test("RFC 3720 B.4's vectors and the check value, natively", () => {
  if (!("crc" in loaded)) return;
  const { crc } = loaded;
  const check = (bytes: Uint8Array) => crc(bytes, 0, bytes.length);
  expect(check(new Uint8Array(0))).toBe(0);
  expect(check(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  expect(check(new Uint8Array(32))).toBe(0x8a9136aa);
  expect(check(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  expect(check(Uint8Array.from({ length: 32 }, (_, index) => index))).toBe(0x46dd794e);
  expect(check(Uint8Array.from({ length: 32 }, (_, index) => 31 - index))).toBe(0x113fdb5c);
});

test("agrees with the JavaScript on random ranges of random bytes, in views at any offset", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(65_536));
  for (let trial = 0; trial < 2000; trial++) {
    const viewStart = Math.floor(Math.random() * 64);
    const view = bytes.subarray(viewStart, viewStart + Math.floor(Math.random() * 60_000));
    const start = Math.floor(Math.random() * Math.min(view.length, 300));
    const end = start + Math.floor(Math.random() * (view.length - start + 1));
    const expected = crc32c(view, start, end);
    expect(crc32cFast(view, start, end)).toBe(expected);
    if ("crc" in loaded) expect(loaded.crc(view, start, end)).toBe(expected);
  }
  const large = new Uint8Array(1 << 20).map((_, index) => (index * 2654435761) >>> 24);
  expect(crc32cFast(large)).toBe(crc32c(large));
});

test("a range outside the bytes throws, as the JavaScript does", () => {
  const bytes = new Uint8Array(NATIVE_CRC32C_BYTES_MIN * 2);
  expect(() => crc32cFast(bytes, -1)).toThrow(RangeError);
  expect(() => crc32cFast(bytes, 0, bytes.length + 1)).toThrow(RangeError);
  expect(() => crc32cFast(bytes, bytes.length, 0)).toThrow(RangeError);
});

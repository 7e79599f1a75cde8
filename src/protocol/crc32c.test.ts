import { expect, test } from "bun:test";
import { crc32c } from "./crc32c.ts";

// kafkajs's byte-at-a-time CRC-32C: an independent implementation to check against.
const kafkajsCrc32c: (buffer: Buffer) => number = require("kafkajs/src/protocol/recordBatch/crc32C/crc32C.js");

const ascii = (text: string) => new TextEncoder().encode(text);

test("known CRC-32C vectors", () => {
  expect(crc32c(new Uint8Array(0))).toBe(0);
  expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
  expect(crc32c(ascii("a"))).toBe(0xc1d04330);
  // RFC 3720 (iSCSI) appendix B.4.
  expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  expect(crc32c(Uint8Array.from({ length: 32 }, (_, index) => index))).toBe(0x46dd794e);
  expect(crc32c(Uint8Array.from({ length: 32 }, (_, index) => 31 - index))).toBe(0x113fdb5c);
});

test("the result is unsigned", () => {
  expect(crc32c(ascii("123456789"))).toBeGreaterThan(2 ** 31);
});

test("matches kafkajs on random inputs of every length class", () => {
  for (let length = 0; length < 300; length++) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    expect(crc32c(bytes)).toBe(kafkajsCrc32c(Buffer.from(bytes)));
  }
  for (const length of [1023, 1024, 4099, 65_536, 1 << 20]) {
    const bytes = randomBytes(length);
    expect(crc32c(bytes)).toBe(kafkajsCrc32c(Buffer.from(bytes)));
  }
});

test("start and end select a range, including within a subarray view", () => {
  const bytes = randomBytes(5000);
  for (const [start, end] of [[0, 0], [3, 3], [1, 4999], [17, 33], [21, 5000], [4000, 4017]]) {
    const expected = kafkajsCrc32c(Buffer.from(bytes.subarray(start, end)));
    expect(crc32c(bytes, start, end)).toBe(expected);
    expect(crc32c(bytes.subarray(start, end))).toBe(expected);
  }
  const view = bytes.subarray(100, 900);
  expect(crc32c(view, 10)).toBe(kafkajsCrc32c(Buffer.from(bytes.subarray(110, 900))));
});

test("a range outside the bytes throws", () => {
  const bytes = new Uint8Array(10);
  expect(() => crc32c(bytes, -1)).toThrow(RangeError);
  expect(() => crc32c(bytes, 0, 11)).toThrow(RangeError);
  expect(() => crc32c(bytes, 6, 5)).toThrow(RangeError);
});

/** getRandomValues fills at most 64 KiB per call. */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let start = 0; start < length; start += 65_536) {
    crypto.getRandomValues(bytes.subarray(start, start + 65_536));
  }
  return bytes;
}

import { expect, test } from "bun:test";
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from "./varint.ts";

// kafkajs's protocol Encoder and Decoder: an independent implementation of the same varints.
const KafkajsEncoder = require("kafkajs/src/protocol/encoder.js");
const KafkajsDecoder = require("kafkajs/src/protocol/decoder.js");

const INT32_EDGES = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 2 ** 31 - 1, -(2 ** 31)];
const LONG_EDGES = [
  ...INT32_EDGES,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  -(2 ** 32),
  2 ** 34 - 1,
  2 ** 34,
  -(2 ** 34) - 1,
  1_700_000_000_000,
  -1_700_000_000_000,
  2 ** 52,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
];

function encodeVarint(value: number): Uint8Array {
  const bytes = new Uint8Array(sizeOfVarint(value));
  expect(writeVarint(bytes, 0, value)).toBe(bytes.length);
  return bytes;
}

function encodeVarlong(value: number): Uint8Array {
  const bytes = new Uint8Array(sizeOfVarlong(value));
  expect(writeVarlong(bytes, 0, value)).toBe(bytes.length);
  return bytes;
}

function randomInt32(): number {
  return crypto.getRandomValues(new Int32Array(1))[0] >> Math.floor(Math.random() * 32);
}

function randomSafeInteger(): number {
  const magnitude = Math.floor(Math.random() * 2 ** Math.floor(Math.random() * 54));
  return Math.random() < 0.5 && magnitude !== 0 ? -magnitude : magnitude;
}

test("varints are zigzag encoded", () => {
  expect([...encodeVarint(0)]).toEqual([0]);
  expect([...encodeVarint(-1)]).toEqual([1]);
  expect([...encodeVarint(1)]).toEqual([2]);
  expect([...encodeVarint(-64)]).toEqual([0x7f]);
  expect([...encodeVarint(64)]).toEqual([0x80, 0x01]);
  expect([...encodeVarint(2 ** 31 - 1)]).toEqual([0xfe, 0xff, 0xff, 0xff, 0x0f]);
  expect([...encodeVarint(-(2 ** 31))]).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
});

test("varints match kafkajs both ways", () => {
  const values = [...INT32_EDGES, ...Array.from({ length: 2000 }, randomInt32)];
  for (const value of values) {
    const ours = encodeVarint(value);
    const theirs: Buffer = new KafkajsEncoder().writeVarInt(value).buffer;
    expect([...ours]).toEqual([...theirs]);
    const cursor: Cursor = { position: 0 };
    expect(readVarint(theirs, cursor)).toBe(value);
    expect(cursor.position).toBe(theirs.length);
    expect(new KafkajsDecoder(Buffer.from(ours)).readVarInt()).toBe(value);
  }
});

test("varlongs match kafkajs both ways", () => {
  const values = [...LONG_EDGES, ...Array.from({ length: 2000 }, randomSafeInteger)];
  for (const value of values) {
    const ours = encodeVarlong(value);
    const theirs: Buffer = new KafkajsEncoder().writeVarLong(value).buffer;
    expect([...ours]).toEqual([...theirs]);
    const cursor: Cursor = { position: 0 };
    expect(readVarlong(theirs, cursor)).toBe(value);
    expect(cursor.position).toBe(theirs.length);
    expect(new KafkajsDecoder(Buffer.from(ours)).readVarLong().toString()).toBe(String(value));
  }
});

test("reads advance a shared cursor through consecutive fields", () => {
  const bytes = new Uint8Array(64);
  let position = writeVarint(bytes, 3, -300);
  position = writeVarlong(bytes, position, 1_700_000_000_123);
  position = writeVarint(bytes, position, 7);
  const cursor: Cursor = { position: 3 };
  expect(readVarint(bytes, cursor)).toBe(-300);
  expect(readVarlong(bytes, cursor)).toBe(1_700_000_000_123);
  expect(readVarint(bytes, cursor)).toBe(7);
  expect(cursor.position).toBe(position);
});

test("truncated and overlong encodings throw and leave the cursor alone", () => {
  const cursor: Cursor = { position: 0 };
  expect(() => readVarint(new Uint8Array([0x80, 0x80]), cursor)).toThrow("truncated varint");
  expect(() => readVarlong(new Uint8Array([0x80]), cursor)).toThrow("truncated varlong");
  expect(() => readVarint(new Uint8Array(0), cursor)).toThrow("truncated varint");
  expect(() => readVarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x1f]), cursor)).toThrow("more than 32 bits");
  expect(() => readVarint(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), cursor)).toThrow(
    "more than 32 bits",
  );
  expect(() => readVarlong(new Uint8Array(11).fill(0x80), cursor)).toThrow("more than 64 bits");
  const beyondSafe = new KafkajsEncoder().writeVarLong("9007199254740993").buffer;
  expect(() => readVarlong(beyondSafe, cursor)).toThrow("safe integer");
  expect(cursor.position).toBe(0);
});

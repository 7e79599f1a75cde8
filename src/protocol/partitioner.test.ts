import { expect, test } from "bun:test";
import { murmur2, partitionForKey, RoundRobin, toPositive } from "./partitioner.ts";

// kafkajs's Java-compatible murmur2 and its DefaultPartitioner: the independent oracle.
const kafkajsMurmur2: (key: Buffer | string) => number = require("kafkajs/src/producer/partitioners/default/murmur2.js");
const { DefaultPartitioner } = require("kafkajs/src/producer/partitioners/index.js");

const utf8 = (text: string) => new TextEncoder().encode(text);

// Kafka's own vectors: clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
const KAFKA_VECTORS: [string, number][] = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
];

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 64)));
}

test("murmur2 gives Kafka's UtilsTest values, and so does kafkajs", () => {
  for (const [text, expected] of KAFKA_VECTORS) {
    expect(murmur2(utf8(text))).toBe(expected);
    expect(kafkajsMurmur2(Buffer.from(text))).toBe(expected);
  }
});

test("murmur2 matches kafkajs on random keys of every tail length", () => {
  expect(murmur2(new Uint8Array(0))).toBe(kafkajsMurmur2(Buffer.alloc(0)));
  for (let index = 0; index < 5000; index++) {
    const key = randomKey();
    expect(murmur2(key)).toBe(kafkajsMurmur2(Buffer.from(key)));
  }
});

test("murmur2 reads only the bytes of a subarray view", () => {
  const buffer = utf8("xxfoobarxx");
  expect(murmur2(buffer.subarray(2, 8))).toBe(-790332482);
});

test("murmur2 results are signed 32-bit integers", () => {
  for (let index = 0; index < 1000; index++) {
    const hash = murmur2(randomKey());
    expect(hash | 0).toBe(hash);
  }
});

test("toPositive clears the sign bit like Kafka's Utils.toPositive", () => {
  expect(toPositive(0)).toBe(0);
  expect(toPositive(5)).toBe(5);
  expect(toPositive(-1)).toBe(0x7fffffff);
  expect(toPositive(-(2 ** 31))).toBe(0);
  expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
});

test("partitionForKey picks the partition kafkajs's DefaultPartitioner picks", () => {
  const partitioner = DefaultPartitioner();
  for (const partitionCount of [1, 2, 3, 7, 12, 100]) {
    const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({ partitionId, leader: 1 }));
    for (let index = 0; index < 500; index++) {
      const key = randomKey();
      const theirs = partitioner({ topic: "t", partitionMetadata, message: { key: Buffer.from(key) } });
      expect(partitionForKey(key, partitionCount)).toBe(theirs);
    }
  }
});

test("partitionForKey is stable and in range", () => {
  expect(partitionForKey(utf8("user123"), 12)).toBe(partitionForKey(utf8("user123"), 12));
  for (let index = 0; index < 1000; index++) {
    const partition = partitionForKey(randomKey(), 7);
    expect(partition).toBeGreaterThanOrEqual(0);
    expect(partition).toBeLessThan(7);
  }
  expect(() => partitionForKey(utf8("k"), 0)).toThrow("invariant");
  expect(() => partitionForKey(utf8("k"), 1.5)).toThrow("invariant");
});

test("RoundRobin visits every partition in turn", () => {
  const roundRobin = new RoundRobin();
  expect(Array.from({ length: 7 }, () => roundRobin.next(3))).toEqual([0, 1, 2, 0, 1, 2, 0]);
  const started = new RoundRobin(5);
  expect([started.next(4), started.next(4), started.next(4)]).toEqual([1, 2, 3]);
  expect(() => started.next(0)).toThrow("invariant");
});

test("RoundRobin stays in range across counter overflow", () => {
  const roundRobin = new RoundRobin(2 ** 31 - 2);
  for (let index = 0; index < 5; index++) {
    const partition = roundRobin.next(10);
    expect(partition).toBeGreaterThanOrEqual(0);
    expect(partition).toBeLessThan(10);
  }
});

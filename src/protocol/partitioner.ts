/**
 * Kafka's default partitioner: a keyed record goes to
 * toPositive(murmur2(key)) % partitionCount, so the same key lands on the same
 * partition here as under Kafka's Java producer and kafkajs's
 * DefaultPartitioner. The broker spreads keyless records it places itself (a
 * produce request that names no partition) in turns (RoundRobin); the SDK's
 * producer sticks them to one partition per batch (client/sticky-partitioner.ts).
 */
import { AssertionError } from "../core/assert.ts";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * MurmurHash2, 32-bit, as Kafka's Java `Utils.murmur2`: seed 0x9747b28c, the
 * input read as little-endian 32-bit words, and a signed 32-bit result.
 * Math.imul gives Java's wrapping int multiplication.
 */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let hash = SEED ^ length;
  const wordsEnd = length & ~3;
  for (let position = 0; position < wordsEnd; position += 4) {
    let word =
      bytes[position] |
      (bytes[position + 1] << 8) |
      (bytes[position + 2] << 16) |
      (bytes[position + 3] << 24);
    word = Math.imul(word, M);
    word ^= word >>> R;
    word = Math.imul(word, M);
    hash = Math.imul(hash, M) ^ word;
  }
  // The last one to three bytes, as Java's fall-through switch mixes them.
  const tailBytes = length & 3;
  if (tailBytes > 0) {
    if (tailBytes === 3) hash ^= bytes[wordsEnd + 2] << 16;
    if (tailBytes >= 2) hash ^= bytes[wordsEnd + 1] << 8;
    hash ^= bytes[wordsEnd];
    hash = Math.imul(hash, M);
  }
  hash ^= hash >>> 13;
  hash = Math.imul(hash, M);
  hash ^= hash >>> 15;
  return hash | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit. Not Math.abs, which would
 * send -2^31 out of range and map n and -n to the same partition.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a keyed record. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  assertPartitionCount(partitionCount);
  return toPositive(murmur2(key)) % partitionCount;
}

/**
 * Spreads keyless records over partitions in turn. One instance per topic
 * (or per producer); the start is injectable so tests are deterministic and
 * callers can randomise it to avoid every producer starting on partition 0.
 */
export class RoundRobin {
  private counter: number;

  constructor(start = 0) {
    this.counter = start | 0;
  }

  next(partitionCount: number): number {
    assertPartitionCount(partitionCount);
    const partition = toPositive(this.counter) % partitionCount;
    this.counter = (this.counter + 1) | 0;
    return partition;
  }
}

function assertPartitionCount(partitionCount: number): void {
  // The message is built only on failure; this runs once per record.
  if (!Number.isInteger(partitionCount) || partitionCount <= 0) {
    throw new AssertionError(`partitionCount ${partitionCount} is not a positive integer`);
  }
}

/**
 * A small seeded pseudo-random generator (mulberry32) for the fuzz harness: the
 * same seed gives the same requests, so a failure found at request i of seed s
 * is reproduced by running seed s again (requests are made in index order,
 * whatever the concurrency).
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  /** A length skewed towards small values, now and then large (up to `max`). */
  length(max: number): number {
    const roll = this.next();
    if (roll < 0.6) return this.int(0, 16);
    if (roll < 0.9) return this.int(0, 512);
    return this.int(0, max);
  }
}

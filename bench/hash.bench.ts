/**
 * Checksums and the partitioner hash: our CRC-32C (src/protocol/crc32c.ts)
 * against Bun's native CRC-32 (a different polynomial, so a speed reference
 * only) on 1 KiB and 1 MiB, and Kafka's murmur2 (src/protocol/partitioner.ts)
 * on a 10-byte key.
 * Run alone with `bun bench/hash.bench.ts`, or through bench/run.ts.
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { murmur2, partitionForKey } from "../src/protocol/partitioner.ts";
import { crc32c } from "../src/protocol/crc32c.ts";

function filled(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let position = 0; position < length; position++) bytes[position] = (position * 31 + 7) & 0xff;
  return bytes;
}

for (const [label, bytes] of [["1 KiB", filled(1024)], ["1 MiB", filled(1 << 20)]] as const) {
  group(`checksum ${label}`, () => {
    summary(() => {
      bench(`crc32c ${label}`, () => do_not_optimize(crc32c(bytes)));
      bench(`Bun.hash.crc32 ${label}`, () => do_not_optimize(Bun.hash.crc32(bytes)));
    });
  });
}

// Many distinct keys, taken in turn, so the JIT cannot hoist a hash of one constant key out of the loop.
const KEY_COUNT = 1024;
const keys = Array.from({ length: KEY_COUNT }, (_, index) =>
  new TextEncoder().encode(`user-${String(index).padStart(5, "0")}`),
);
let next = 0;
group("partitioner: 10-byte key", () => {
  bench("murmur2", () => do_not_optimize(murmur2(keys[next++ & (KEY_COUNT - 1)])));
  bench("partitionForKey (12 partitions)", () => do_not_optimize(partitionForKey(keys[next++ & (KEY_COUNT - 1)], 12)));
});

if (import.meta.main) await run();

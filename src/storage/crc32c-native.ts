/**
 * CRC-32C in machine code where the processor has it: x86-64's SSE4.2
 * `crc32` instruction folds 8 bytes per instruction, several times faster
 * than the JavaScript slicing-by-16 of protocol/crc32c.ts, which checking a
 * produce's batches spends most of its time in (bench/RESULTS.md, "Kafka
 * door: K1"). The C below is compiled at run time by Bun's TinyCC (bun:ffi
 * `cc`); TinyCC's assembler does not know the instruction, so it is written
 * as bytes. Everything that could go wrong on the way (another processor,
 * no SSE4.2, no TinyCC, no writable temp directory, a wrong answer on the
 * test vectors) leaves protocol/crc32c.ts in use: `crc32cFast` is always
 * correct, only sometimes faster.
 */
import { cc } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { crc32c } from "../protocol/crc32c.ts";

/**
 * Below this many bytes the JavaScript is used: crossing into native code
 * costs about what hashing this much in JavaScript does.
 */
export const NATIVE_CRC32C_BYTES_MIN = 256;

/**
 * `crc32c_supported`: CPUID leaf 1, ECX bit 20 (SSE4.2).
 * `crc32c_range`: CRC-32C of bytes[start, end) (initial value and final xor
 * 0xFFFFFFFF), 8 bytes per `crc32q`, then the tail a byte per `crc32b`.
 * No #include: the compiler needs no headers for it.
 */
const C_SOURCE = `
int crc32c_supported(void) {
  unsigned int a = 1, b, c, d;
  __asm__("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
  return (c >> 20) & 1;
}

unsigned int crc32c_range(const unsigned char *bytes, int start, int end) {
  unsigned long long crc = 0xFFFFFFFFu;
  const unsigned char *position = bytes + start;
  const unsigned char *stop = bytes + end;
  const unsigned char *stop8 = position + ((end - start) & ~7);
  if (position < stop8) {
    __asm__(
      "1:\\n"
      ".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x06\\n" /* crc32q (%rsi), %rax */
      "add $8, %%rsi\\n"
      "cmp %%rdx, %%rsi\\n"
      "jb 1b\\n"
      : "+a"(crc), "+S"(position) : "d"(stop8) : "cc", "memory");
  }
  while (position < stop) {
    unsigned long long byte = *position;
    __asm__(".byte 0xf2, 0x0f, 0x38, 0xf0, 0xc1" : "+a"(crc) : "c"(byte)); /* crc32b %cl, %eax */
    position++;
  }
  return (unsigned int)crc ^ 0xFFFFFFFFu;
}
`;

type RangeCrc = (bytes: Uint8Array, start: number, end: number) => number;

/** Checked once against the JavaScript before the native code is trusted: RFC 3720 B.4's vectors, "123456789", and lengths around every tail size. */
function vectors(): Uint8Array[] {
  const patterned = Uint8Array.from({ length: 4099 }, (_, index) => (index * 131 + 7) & 0xff);
  return [
    new Uint8Array(32),
    new Uint8Array(32).fill(0xff),
    Uint8Array.from({ length: 32 }, (_, index) => index),
    Uint8Array.from({ length: 32 }, (_, index) => 31 - index),
    new TextEncoder().encode("123456789"),
    ...[0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1023, 4096, 4099].map((length) => patterned.subarray(4099 - length)),
  ];
}

/** The native function, or undefined (with why) where it cannot be had or disagrees with the JavaScript. */
export function loadNativeCrc32c(): { crc: RangeCrc } | { unavailable: string } {
  if (process.arch !== "x64") return { unavailable: `no native CRC-32C for ${process.arch}` };
  // TinyCC reads its source from a file; inside a `bun build --compile` executable no source file of ours is one, so it is written out.
  let directory: string | undefined;
  try {
    directory = mkdtempSync(path.join(tmpdir(), "gafka-crc32c-"));
    const source = path.join(directory, "crc32c.c");
    writeFileSync(source, C_SOURCE);
    const { symbols } = cc({
      source,
      symbols: {
        crc32c_supported: { args: [], returns: "i32" },
        crc32c_range: { args: ["ptr", "i32", "i32"], returns: "u32" },
      },
    });
    if (symbols.crc32c_supported() !== 1) return { unavailable: "the processor has no SSE4.2" };
    const crc: RangeCrc = (bytes, start, end) => symbols.crc32c_range(bytes, start, end);
    for (const vector of vectors()) {
      if (crc(vector, 0, vector.length) !== crc32c(vector)) return { unavailable: `the native CRC-32C disagrees on a vector of ${vector.length} bytes` };
    }
    return { crc };
  } catch (error) {
    return { unavailable: `the native CRC-32C did not compile: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  }
}

/** Loaded on first use: the native function, null where it could not be had (and why), undefined before. */
let native: RangeCrc | null | undefined;
let unavailableReason = "";

function load(): void {
  const loaded = loadNativeCrc32c();
  native = "crc" in loaded ? loaded.crc : null;
  if ("unavailable" in loaded) unavailableReason = loaded.unavailable;
}

/** Which CRC-32C crc32cFast uses (loading it now if not yet): undefined for the native one, else why not (for the broker's log). */
export function nativeCrc32cUnavailable(): string | undefined {
  if (native === undefined) load();
  return native === null ? unavailableReason : undefined;
}

/**
 * CRC-32C of bytes[start, end), as protocol/crc32c.ts's `crc32c`: in
 * machine code for ranges of NATIVE_CRC32C_BYTES_MIN bytes or more where it
 * loads (on the first such call), in JavaScript otherwise.
 */
export function crc32cFast(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (end - start < NATIVE_CRC32C_BYTES_MIN || native === null) return crc32c(bytes, start, end);
  if (native === undefined) load();
  const loaded = native;
  if (loaded === null || loaded === undefined) return crc32c(bytes, start, end);
  if (start < 0 || end > bytes.length || start > end) {
    throw new RangeError(`crc32c range [${start}, ${end}) is outside 0..${bytes.length}`);
  }
  return loaded(bytes, start, end);
}

import type { Prng } from "./prng.ts";

/**
 * The odd values the fuzz harness puts where a request expects something
 * sensible: JSON values of every wrong type, numbers JSON.stringify cannot
 * write (beyond 2^53, 1e400, -0), deep nesting, huge strings; path segments
 * and query values that are empty, very long, %-encoded, unicode or `..`.
 */

/** JSON text spliced into a body as it is, for values JSON.stringify cannot produce. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text of `value`, writing each RawJson as its text. */
export function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .map(([key, field]) => `${JSON.stringify(key)}:${jsonText(field)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const NUMBER_TEXTS = [
  "9007199254740993", "-9007199254740993", "18446744073709551616", "1e400", "-1e400", "1e-400", "-0", "0.5",
  "2147483648", "4294967296", "-1", "-2147483649", "123456789012345678901234567890", "1E2", "0e0",
];

const STRINGS = [
  "", " ", "0", "-1", "NaN", "Infinity", "null", "true", "..", ".", "/", "%", "%00", "\u0000", "é", "日本語", "🦀",
  "\ud800", "a/b", "../../etc/passwd", "<script>", "{{7*7}}", "earliest", "latest", "all", "0x10", "1e3", " 1 ",
];

/** A JSON value of a random kind, often of the wrong type for whatever field it lands in. */
export function oddJson(rng: Prng, depth = 0): unknown {
  switch (rng.int(0, 13)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.int(-5, 5);
    case 3: return new RawJson(rng.pick(NUMBER_TEXTS));
    case 4: return rng.pick([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31), 2 ** 63, 0.1, 1e308, -1e-308]);
    case 5: return rng.pick(STRINGS);
    case 6: return oddString(rng);
    case 7: return depth > 2 ? [] : Array.from({ length: rng.int(0, 4) }, () => oddJson(rng, depth + 1));
    case 8: return depth > 2 ? {} : Object.fromEntries(Array.from({ length: rng.int(0, 4) }, () => [oddString(rng).slice(0, 20), oddJson(rng, depth + 1)]));
    case 9: return new RawJson(deepNesting(rng));
    case 10: return "x".repeat(rng.pick([1000, 70_000, 1_100_000]));
    case 11: return Array.from({ length: rng.pick([1000, 20_000]) }, () => 0);
    case 12: return { topic: rng.pick(STRINGS), partition: new RawJson(rng.pick(NUMBER_TEXTS)), offset: rng.int(-3, 3) };
    default: return [[rng.int(0, 3), rng.int(-1, 3)]];
  }
}

function deepNesting(rng: Prng): string {
  const depth = rng.pick([64, 1000, 100_000]);
  const open = rng.chance(0.5) ? "[" : '{"a":';
  const close = open === "[" ? "]" : "}";
  return `${open.repeat(depth)}1${close.repeat(rng.chance(0.8) ? depth : depth - 1)}`;
}

/** A random string: printable, unicode, control characters, now and then long. */
export function oddString(rng: Prng): string {
  const length = rng.length(300);
  let text = "";
  for (let i = 0; i < length; i++) {
    const roll = rng.next();
    if (roll < 0.7) text += String.fromCharCode(rng.int(0x20, 0x7e));
    else if (roll < 0.8) text += String.fromCharCode(rng.int(0, 0x1f));
    else if (roll < 0.95) text += String.fromCodePoint(rng.int(0xa0, 0x2fff));
    else text += String.fromCodePoint(rng.int(0x1f300, 0x1faff));
  }
  return text;
}

/** A path segment no route expects, sent %-encoded where HTTP requires it. */
export function oddSegment(rng: Prng): string {
  switch (rng.int(0, 9)) {
    case 0: return "";
    case 1: return "a".repeat(rng.pick([250, 256, 4096, 8000]));
    case 2: return "..";
    case 3: return rng.pick(["%2e%2e", "%2E", "%2F", "a%2Fb", "%00", "%ZZ", "%", "%e9", "%C3%A9", "%F0%9F%A6%80", "%ff%fe"]);
    case 4: return rng.pick(["é", "日本", "🦀"]);
    case 5: return rng.pick([".", "-", "_", "a.b", "A", "0", "-1", "9007199254740993"]);
    case 6: return encodeSegment(oddString(rng).slice(0, 200));
    case 7: return rng.pick(["con", "nul", "aux", ".git", "~root", "%252e%252e"]);
    default: return encodeSegment(rng.pick(STRINGS));
  }
}

/** A query value no parameter expects. */
export function oddQueryValue(rng: Prng): string {
  switch (rng.int(0, 5)) {
    case 0: return rng.pick(NUMBER_TEXTS);
    case 1: return encodeQuery(rng.pick(["NaN", "Infinity", "-Infinity", "", "1.5", "0x1f", "1e3", " 3", "3 ", "+3", "-0", "01"]));
    case 2: return encodeQuery(rng.pick(STRINGS));
    case 3: return "9".repeat(rng.pick([20, 400, 4000]));
    case 4: return encodeQuery(oddString(rng).slice(0, 100));
    default: return rng.pick(["%ZZ", "%", "%00", "%ff", "a%2Cb", ",,,", "a,,b"]);
  }
}

/** Percent-encodes what HTTP's request target cannot carry raw; leaves the rest (unicode included) as it is. */
export function encodeSegment(text: string): string {
  return [...text].map((c) => (mustEncode(c) ? `%${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}` : c)).join("");
}

const ENCODED_IN_A_SEGMENT = '"#%/<>?\\^`{|}';

function mustEncode(character: string): boolean {
  const code = character.charCodeAt(0);
  return code <= 0x20 || code === 0x7f || ENCODED_IN_A_SEGMENT.includes(character);
}

/** encodeURIComponent, for any string: a lone surrogate becomes U+FFFD instead of throwing. */
export function encodeQuery(text: string): string {
  return encodeURIComponent(text.toWellFormed());
}

import { isAscii } from "node:buffer";

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * JSON text written straight into a growing byte buffer, for answers too
 * big to build as objects first (a consume answer of 10,000 records): no
 * object per record, no intermediate string of the whole answer, and a
 * value whose UTF-8 bytes need no escaping is copied as it is, never
 * decoded. The caller writes the structure (braces, commas, names); every
 * value method writes exactly what JSON.stringify would.
 */
export class JsonBytesWriter {
  private bytes: Uint8Array;
  private position = 0;
  /** Views of the buffer the last value was read from: the records of one answer share it. */
  private wordsOf: ArrayBufferLike | undefined;
  private words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  private bytesOfWords: Uint8Array<ArrayBufferLike> = new Uint8Array(0);

  /** Writes into `buffer` from its start, moving to a bigger one when it is full. */
  constructor(buffer: Uint8Array) {
    this.bytes = buffer.length > 0 ? buffer : new Uint8Array(64);
  }

  /** The text written so far: a view of `buffer`, valid until it is written into again. */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.position);
  }

  /** The buffer written into last (the one given, or a bigger one), for the next writer to reuse. */
  get buffer(): Uint8Array {
    return this.bytes;
  }

  /** Text known to be ASCII and to need no escaping: punctuation, property names, numbers. */
  ascii(text: string): void {
    const length = text.length;
    this.ensure(length);
    const bytes = this.bytes;
    let position = this.position;
    for (let i = 0; i < length; i++) bytes[position++] = text.charCodeAt(i);
    this.position = position;
  }

  /** Bytes that already are JSON text (a fragment rendered once and reused). */
  raw(fragment: Uint8Array): void {
    this.ensure(fragment.length);
    this.bytes.set(fragment, this.position);
    this.position += fragment.length;
  }

  /** Any JSON-serialisable value, through JSON.stringify (for the small, rare parts). */
  value(value: unknown): void {
    this.json(JSON.stringify(value));
  }

  /** A safe integer (offsets, timestamps, partitions), in decimal digits written in place. */
  integer(value: number): void {
    if (value < 0 || !Number.isSafeInteger(value)) {
      this.ascii(String(value));
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.ensure(digits);
    const bytes = this.bytes;
    let position = this.position + digits;
    this.position = position;
    let rest = value;
    do {
      const next = Math.floor(rest / 10);
      bytes[--position] = 0x30 + (rest - next * 10);
      rest = next;
    } while (rest > 0);
  }

  /**
   * UTF-8 bytes as a JSON string, as JSON.stringify(new TextDecoder().decode(bytes))
   * writes it: copied as they are when they are ASCII with nothing to escape
   * (the common case), else decoded (invalid sequences become U+FFFD) and escaped.
   */
  utf8String(bytes: Uint8Array): void {
    if (!this.needsEscaping(bytes)) {
      this.ensure(bytes.length + 2);
      const target = this.bytes;
      target[this.position++] = QUOTE;
      target.set(bytes, this.position);
      this.position += bytes.length;
      target[this.position++] = QUOTE;
      return;
    }
    this.json(JSON.stringify(utf8Decoder.decode(bytes)));
  }

  /** Bytes as a JSON string of their base64 (which never needs escaping). */
  base64String(bytes: Uint8Array): void {
    const text = bytes.toBase64();
    this.ensure(text.length + 2);
    this.bytes[this.position++] = QUOTE;
    this.ascii(text);
    this.bytes[this.position++] = QUOTE;
  }

  /** A JavaScript string that already is JSON text (or a piece of it), as UTF-8. */
  json(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.ensure(text.length * 3);
    this.position += utf8Encoder.encodeInto(text, this.bytes.subarray(this.position)).written;
  }

  /**
   * Whether UTF-8 bytes cannot be copied into a JSON string as they are:
   * anything outside ASCII (decoded, so that invalid sequences are replaced
   * as TextDecoder does), a quote, a backslash or a control character.
   * isAscii and indexOf are native scans; the control characters are looked
   * for four bytes at a time.
   */
  private needsEscaping(bytes: Uint8Array): boolean {
    return !isAscii(bytes) || bytes.indexOf(QUOTE) !== -1 || bytes.indexOf(BACKSLASH) !== -1 || this.hasControlCharacter(bytes);
  }

  /** Whether ASCII bytes hold one below 0x20; reads whole aligned 32-bit words where it can. */
  private hasControlCharacter(bytes: Uint8Array): boolean {
    const buffer = bytes.buffer;
    if (buffer !== this.wordsOf) {
      this.wordsOf = buffer;
      this.words = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
      this.bytesOfWords = new Uint8Array(buffer);
    }
    const words = this.words;
    const all = this.bytesOfWords;
    const start = bytes.byteOffset;
    const end = start + bytes.length;
    const firstWord = (start + 3) >>> 2;
    const endWord = end >>> 2;
    if (firstWord >= endWord) {
      for (let i = start; i < end; i++) if (all[i]! < 0x20) return true;
      return false;
    }
    for (let i = start; i < firstWord << 2; i++) if (all[i]! < 0x20) return true;
    for (let w = firstWord; w < endWord; w++) {
      const word = words[w]!;
      // Some byte is below 0x20 (all are ASCII here: no high bit is set to begin with).
      if (((word - 0x20202020) & ~word & 0x80808080) !== 0) return true;
    }
    for (let i = endWord << 2; i < end; i++) if (all[i]! < 0x20) return true;
    return false;
  }

  private ensure(more: number): void {
    const needed = this.position + more;
    if (needed <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.position));
    this.bytes = grown;
  }
}


// UTF-8 for record header keys: short strings, mostly ASCII, where a loop beats the built-ins.

/** Below this size a char-code loop beats TextDecoder's fixed cost (see readUtf8). */
const SHORT_STRING_BYTES = 32;

const utf8Decoder = new TextDecoder();

/**
 * Decodes bytes[start, end) as UTF-8. Header keys are mostly short ASCII
 * ("content-type", "trace-id"), which a char-code loop builds about twice as
 * fast as TextDecoder; anything else goes to TextDecoder.
 */
export function readUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > SHORT_STRING_BYTES) return utf8Decoder.decode(bytes.subarray(start, end));
  let text = "";
  for (let position = start; position < end; position++) {
    const code = bytes[position];
    if (code >= 0x80) return utf8Decoder.decode(bytes.subarray(start, end));
    text += String.fromCharCode(code);
  }
  return text;
}

/**
 * UTF-8 byte length of `text` as TextEncoder would write it (a lone surrogate
 * becomes U+FFFD, three bytes). Header keys are short, so scanning them beats
 * allocating an encoded copy just to learn its length.
 */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      length += 1;
    } else if (isSurrogatePair(text, index, code)) {
      length += 2; // two UTF-16 units, four bytes
      index++;
    } else {
      length += 2;
    }
  }
  return length;
}

/** Writes `text` as UTF-8 at `position` (same bytes as TextEncoder); returns the next position. */
export function writeUtf8(bytes: Uint8Array, position: number, text: string): number {
  for (let index = 0; index < text.length; index++) {
    let code = text.charCodeAt(index);
    if (code < 0x80) {
      bytes[position++] = code;
    } else if (code < 0x800) {
      bytes[position++] = 0xc0 | (code >> 6);
      bytes[position++] = 0x80 | (code & 0x3f);
    } else if (isSurrogatePair(text, index, code)) {
      code = 0x10000 + ((code - 0xd800) << 10) + (text.charCodeAt(++index) - 0xdc00);
      bytes[position++] = 0xf0 | (code >> 18);
      bytes[position++] = 0x80 | ((code >> 12) & 0x3f);
      bytes[position++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[position++] = 0x80 | (code & 0x3f);
    } else {
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // lone surrogate
      bytes[position++] = 0xe0 | (code >> 12);
      bytes[position++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[position++] = 0x80 | (code & 0x3f);
    }
  }
  return position;
}

function isSurrogatePair(text: string, index: number, code: number): boolean {
  if (code < 0xd800 || code > 0xdbff || index + 1 >= text.length) return false;
  const next = text.charCodeAt(index + 1);
  return next >= 0xdc00 && next <= 0xdfff;
}

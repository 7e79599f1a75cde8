/**
 * The one generic decoder: reads a message by walking its plan (plan.ts).
 * Bytes come from the network, so every length and count is checked against
 * the bytes that remain before anything is allocated, and every failure is a
 * GafkaError `invalid_request` (never a RangeError, never a huge array).
 *
 * JS values: int8/16/32, uint16/32 and float64 are numbers; int64 is a number
 * and must be a safe integer (|n| < 2^53; gafka's offsets and timestamps
 * are); bool a boolean; string a string; uuid 32 lower-case hex digits;
 * bytes and records a Uint8Array that is a view into the input, not a copy, so
 * record batches travel on without being copied or re-encoded.
 */
import { GafkaError } from "../../core/errors.ts";
import { readInt16, readInt32, readInt64 } from "../../protocol/big-endian.ts";
import type { FieldPlan, StructPlan, ValuePlan } from "./plan.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** A read position in bytes[position, end), advanced as values are read. */
export class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public position: number,
    public end: number,
  ) {}

  get remaining(): number {
    return this.end - this.position;
  }

  take(length: number, what: string): number {
    if (length > this.remaining) throw malformed(`${what} needs ${length} bytes, ${this.remaining} remain`, this.position);
    const start = this.position;
    this.position += length;
    return start;
  }
}

export function malformed(message: string, position: number): GafkaError {
  return new GafkaError("invalid_request", `malformed Kafka message: ${message} (at byte ${position})`, {
    details: { position },
  });
}

export function readStruct(reader: Reader, plan: StructPlan): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of plan.fields) value[field.name] = readField(reader, field);
  for (const field of plan.absent) value[field.name] = field.makeDefault();
  if (plan.flexible) readTaggedFields(reader, plan, value);
  return value;
}

/** The trailing tagged section: count, then (tag, size, value) each; unknown tags are skipped. */
function readTaggedFields(reader: Reader, plan: StructPlan, value: Record<string, unknown>): void {
  for (const field of plan.tagged) value[field.name] = field.makeDefault();
  const count = readUnsignedVarint(reader);
  if (count > reader.remaining) throw malformed(`${count} tagged fields in ${reader.remaining} bytes`, reader.position);
  for (let index = 0; index < count; index++) {
    const tag = readUnsignedVarint(reader);
    const size = readUnsignedVarint(reader);
    const start = reader.take(size, `tagged field ${tag}`);
    const field = plan.taggedByTag.get(tag);
    if (field === undefined) continue;
    const inner = new Reader(reader.bytes, start, start + size);
    value[field.name] = readField(inner, field);
    if (inner.position !== inner.end) throw malformed(`tagged field ${tag} is ${size} bytes but its value is shorter`, start);
  }
}

function readField(reader: Reader, field: FieldPlan): unknown {
  const value = field.value;
  if (value.kind === "array") return readArray(reader, field, value.element);
  if (value.kind === "struct") {
    if (field.nullable) {
      const present = readInt8(reader);
      if (present < 0) return null;
    }
    return readStruct(reader, value.struct);
  }
  switch (value.type) {
    case "string":
      return readString(reader, field);
    case "bytes":
    case "records":
      return readBytes(reader, field);
    default:
      return readPrimitive(reader, value.type);
  }
}

function readArray(reader: Reader, field: FieldPlan, element: ValuePlan): unknown[] | null {
  const count = readLength(reader, field, "array");
  if (count === null) return null;
  // Every element takes at least one byte, so a count past the remaining bytes is a lie.
  if (count > reader.remaining) throw malformed(`array of ${count} elements in ${reader.remaining} bytes`, reader.position);
  const elementField: FieldPlan = { ...field, value: element, nullable: false };
  const items = new Array<unknown>(count);
  for (let index = 0; index < count; index++) {
    items[index] = element.kind === "struct" ? readStruct(reader, element.struct) : readField(reader, elementField);
  }
  return items;
}

function readString(reader: Reader, field: FieldPlan): string | null {
  const length = readLength(reader, field, "string");
  if (length === null) return null;
  const start = reader.take(length, "string");
  if (length <= ASCII_FAST_PATH_BYTES_MAX) {
    const ascii = readAscii(reader.bytes, start, start + length);
    if (ascii !== undefined) return ascii;
  }
  try {
    return utf8Decoder.decode(reader.bytes.subarray(start, start + length));
  } catch {
    throw malformed("string is not valid UTF-8", start);
  }
}

/** Strings up to this long (topic names, client ids) are tried as ASCII first; longer ones go to the TextDecoder at once. */
const ASCII_FAST_PATH_BYTES_MAX = 64;

/**
 * bytes[start, end) as a string when every byte is ASCII (below 0x80, where
 * UTF-8 is the code unit itself), else undefined: no subarray, no decoder
 * call for the short names every request carries.
 */
function readAscii(bytes: Uint8Array, start: number, end: number): string | undefined {
  let text = "";
  for (let index = start; index < end; index++) {
    const byte = bytes[index]!;
    if (byte >= 0x80) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}

function readBytes(reader: Reader, field: FieldPlan): Uint8Array | null {
  const length = readLength(reader, field, "bytes");
  if (length === null) return null;
  const start = reader.take(length, "bytes");
  return reader.bytes.subarray(start, start + length);
}

/**
 * A length prefix: int16 for classic strings, int32 for classic bytes and
 * arrays, unsigned varint (length + 1) when compact; -1 (or compact 0) is
 * null, accepted only where the field is nullable in this version.
 */
function readLength(reader: Reader, field: FieldPlan, kind: "string" | "bytes" | "array"): number | null {
  const position = reader.position;
  let length: number;
  if (field.compact) length = readUnsignedVarint(reader) - 1;
  else if (kind === "string") length = readInt16(reader.bytes, reader.take(2, "string length"));
  else length = readInt32(reader.bytes, reader.take(4, `${kind} length`));
  if (length >= 0) return length;
  if (length === -1 && field.nullable) return null;
  throw malformed(`${field.name}: ${kind} length ${length}${length === -1 ? " but the field is not nullable" : ""}`, position);
}

function readInt8(reader: Reader): number {
  return (reader.bytes[reader.take(1, "int8")] << 24) >> 24;
}

function readPrimitive(reader: Reader, type: string): unknown {
  const bytes = reader.bytes;
  switch (type) {
    case "int8":
      return readInt8(reader);
    case "bool":
      return bytes[reader.take(1, "bool")] !== 0;
    case "int16":
      return readInt16(bytes, reader.take(2, "int16"));
    case "uint16":
      return readInt16(bytes, reader.take(2, "uint16")) & 0xffff;
    case "int32":
      return readInt32(bytes, reader.take(4, "int32"));
    case "uint32":
      return readInt32(bytes, reader.take(4, "uint32")) >>> 0;
    case "int64": {
      const start = reader.take(8, "int64");
      const value = readInt64(bytes, start);
      if (!Number.isSafeInteger(value)) throw malformed("int64 outside the safe integer range", start);
      return value;
    }
    case "float64": {
      const start = reader.take(8, "float64");
      return new DataView(bytes.buffer, bytes.byteOffset + start, 8).getFloat64(0);
    }
    case "uuid": {
      const start = reader.take(16, "uuid");
      return Buffer.from(bytes.buffer, bytes.byteOffset + start, 16).toString("hex");
    }
    default:
      throw new Error(`no reader for ${type}`);
  }
}

/** An unsigned varint of at most 32 bits (compact lengths, tags, tagged-field sizes and counts). */
export function readUnsignedVarint(reader: Reader): number {
  const start = reader.position;
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = reader.bytes[reader.take(1, "unsigned varint")];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw malformed("unsigned varint longer than 32 bits", start);
}


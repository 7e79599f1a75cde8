/**
 * The one generic encoder: writes a message by walking its plan (plan.ts), in
 * two passes over the value — its exact size, then its bytes into a buffer of
 * that size — so a response is one allocation. A field the value leaves out
 * (undefined) is written as its default. Values come from gafka itself, so a
 * value that does not fit its field (null where not nullable, a fraction in
 * an int32) is a bug and fails an assertion.
 *
 * A `records` value may be one Uint8Array or a list of them (stored batches
 * as read from the log), written one after the other under one length, so a
 * fetch answer sends batches without copying them into a new batch first.
 */
import { assert } from "../../core/assert.ts";
import { writeInt16, writeInt32, writeInt64 } from "../../protocol/big-endian.ts";
import { type FieldPlan, isDefaultValue, type StructPlan } from "./plan.ts";

const utf8Encoder = new TextEncoder();

type Value = Record<string, unknown>;

export function sizeOfStruct(plan: StructPlan, value: Value): number {
  let size = 0;
  for (const field of plan.fields) size += sizeOfField(field, fieldValueIn(field, value));
  if (plan.flexible) {
    let count = 0;
    for (const field of plan.tagged) {
      const fieldValue = fieldValueIn(field, value);
      if (isDefaultValue(field, fieldValue)) continue;
      const fieldSize = sizeOfField(field, fieldValue);
      size += sizeOfUnsignedVarint(field.tag) + sizeOfUnsignedVarint(fieldSize) + fieldSize;
      count++;
    }
    size += sizeOfUnsignedVarint(count);
  }
  return size;
}

export function writeStruct(bytes: Uint8Array, position: number, plan: StructPlan, value: Value): number {
  for (const field of plan.fields) position = writeField(bytes, position, field, fieldValueIn(field, value));
  if (!plan.flexible) return position;
  const written = plan.tagged.filter((field) => !isDefaultValue(field, fieldValueIn(field, value)));
  position = writeUnsignedVarint(bytes, position, written.length);
  for (const field of written) {
    const fieldValue = fieldValueIn(field, value);
    position = writeUnsignedVarint(bytes, position, field.tag);
    position = writeUnsignedVarint(bytes, position, sizeOfField(field, fieldValue));
    position = writeField(bytes, position, field, fieldValue);
  }
  return position;
}

function fieldValueIn(field: FieldPlan, value: Value): unknown {
  const fieldValue = value[field.name];
  return fieldValue === undefined ? field.makeDefault() : fieldValue;
}

function checkNull(field: FieldPlan, value: unknown): boolean {
  if (value !== null) return false;
  assert(field.nullable, `${field.name} is null but not nullable in this version`);
  return true;
}

function sizeOfField(field: FieldPlan, value: unknown): number {
  const plan = field.value;
  if (plan.kind === "array") {
    if (checkNull(field, value)) return sizeOfLength(field, 4, -1);
    const items = value as readonly unknown[];
    let size = sizeOfLength(field, 4, items.length);
    const element = plan.element;
    if (element.kind === "struct") {
      for (const item of items) size += sizeOfStruct(element.struct, item as Value);
    } else {
      const elementField: FieldPlan = { ...field, value: element, nullable: false };
      for (const item of items) size += sizeOfField(elementField, item);
    }
    return size;
  }
  if (plan.kind === "struct") {
    if (field.nullable) return value === null ? 1 : 1 + sizeOfStruct(plan.struct, value as Value);
    return sizeOfStruct(plan.struct, value as Value);
  }
  switch (plan.type) {
    case "string":
      if (checkNull(field, value)) return sizeOfLength(field, 2, -1);
      return sizeOfLength(field, 2, utf8Length(value as string)) + utf8Length(value as string);
    case "bytes":
    case "records": {
      if (checkNull(field, value)) return sizeOfLength(field, 4, -1);
      const length = bytesLength(value);
      return sizeOfLength(field, 4, length) + length;
    }
    default:
      return PRIMITIVE_BYTES[plan.type];
  }
}

function writeField(bytes: Uint8Array, position: number, field: FieldPlan, value: unknown): number {
  const plan = field.value;
  if (plan.kind === "array") {
    if (checkNull(field, value)) return writeLength(bytes, position, field, 4, -1);
    const items = value as readonly unknown[];
    position = writeLength(bytes, position, field, 4, items.length);
    if (plan.element.kind === "struct") {
      for (const item of items) position = writeStruct(bytes, position, plan.element.struct, item as Value);
    } else {
      const elementField: FieldPlan = { ...field, value: plan.element, nullable: false };
      for (const item of items) position = writeField(bytes, position, elementField, item);
    }
    return position;
  }
  if (plan.kind === "struct") {
    if (field.nullable) {
      bytes[position++] = value === null ? 0xff : 1;
      if (value === null) return position;
    }
    return writeStruct(bytes, position, plan.struct, value as Value);
  }
  switch (plan.type) {
    case "string": {
      if (checkNull(field, value)) return writeLength(bytes, position, field, 2, -1);
      const text = value as string;
      const length = utf8Length(text);
      position = writeLength(bytes, position, field, 2, length);
      return length === text.length ? writeAscii(bytes, position, text) : position + utf8Encoder.encodeInto(text, bytes.subarray(position)).written;
    }
    case "bytes":
    case "records": {
      if (checkNull(field, value)) return writeLength(bytes, position, field, 4, -1);
      position = writeLength(bytes, position, field, 4, bytesLength(value));
      for (const chunk of chunksOf(value)) {
        bytes.set(chunk, position);
        position += chunk.length;
      }
      return position;
    }
    default:
      return writePrimitive(bytes, position, plan.type, value);
  }
}

const PRIMITIVE_BYTES: Record<string, number> = {
  int8: 1,
  bool: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};

function writePrimitive(bytes: Uint8Array, position: number, type: string, value: unknown): number {
  if (type === "bool") {
    bytes[position] = value ? 1 : 0;
    return position + 1;
  }
  if (type === "uuid") {
    assert(typeof value === "string" && /^[0-9a-f]{32}$/.test(value), `uuid must be 32 hex digits: ${String(value)}`);
    bytes.set(Buffer.from(value, "hex"), position);
    return position + 16;
  }
  const number = value as number;
  assert(typeof number === "number", `${type} value is not a number: ${String(value)}`);
  switch (type) {
    case "int8":
      assert(Number.isInteger(number) && number >= -128 && number < 128, `not an int8: ${number}`);
      bytes[position] = number;
      return position + 1;
    case "int16":
    case "uint16":
      assert(Number.isInteger(number) && number >= (type === "int16" ? -32768 : 0) && number < (type === "int16" ? 32768 : 65536), `not an ${type}: ${number}`);
      writeInt16(bytes, position, number);
      return position + 2;
    case "int32":
    case "uint32":
      assert(Number.isInteger(number) && number >= (type === "int32" ? -(2 ** 31) : 0) && number < (type === "int32" ? 2 ** 31 : 2 ** 32), `not an ${type}: ${number}`);
      writeInt32(bytes, position, number);
      return position + 4;
    case "int64":
      assert(Number.isSafeInteger(number), `not a safe int64: ${number}`);
      writeInt64(bytes, position, number);
      return position + 8;
    case "float64":
      new DataView(bytes.buffer, bytes.byteOffset + position, 8).setFloat64(0, number);
      return position + 8;
    default:
      throw new Error(`no writer for ${type}`);
  }
}

/** The length prefix: classic int16 (strings) or int32 (bytes, arrays), or compact (length + 1 as an unsigned varint, 0 for null). */
function sizeOfLength(field: FieldPlan, classicBytes: number, length: number): number {
  return field.compact ? sizeOfUnsignedVarint(length + 1) : classicBytes;
}

function writeLength(bytes: Uint8Array, position: number, field: FieldPlan, classicBytes: number, length: number): number {
  if (field.compact) return writeUnsignedVarint(bytes, position, length + 1);
  if (classicBytes === 2) {
    assert(length < 32768, `string of ${length} bytes is too long for an int16 length`);
    writeInt16(bytes, position, length);
  } else {
    writeInt32(bytes, position, length);
  }
  return position + classicBytes;
}

function chunksOf(value: unknown): readonly Uint8Array[] {
  return value instanceof Uint8Array ? [value] : (value as readonly Uint8Array[]);
}

function bytesLength(value: unknown): number {
  if (value instanceof Uint8Array) return value.length;
  let length = 0;
  for (const chunk of value as readonly Uint8Array[]) length += chunk.length;
  return length;
}

/**
 * Writes a string whose UTF-8 is its UTF-16 units (all below 0x80), unit by
 * unit: cheaper than a subarray and encodeInto for the short names (topics,
 * client ids) every answer carries.
 */
function writeAscii(bytes: Uint8Array, position: number, text: string): number {
  for (let index = 0; index < text.length; index++) bytes[position++] = text.charCodeAt(index);
  return position;
}

/** UTF-8 length of a JS string without encoding it. */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code < 0xdc00 && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        length += 2; // a surrogate pair (2 UTF-16 units) is 4 bytes
        index++;
      } else {
        length += 2; // a lone surrogate becomes U+FFFD, 3 bytes
      }
    } else length += 2;
  }
  return length;
}

export function sizeOfUnsignedVarint(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

export function writeUnsignedVarint(bytes: Uint8Array, position: number, value: number): number {
  while (value >= 0x80) {
    bytes[position++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  bytes[position++] = value;
  return position;
}

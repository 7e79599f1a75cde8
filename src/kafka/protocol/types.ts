/**
 * The declarative description of a Kafka API message, interpreted by the one
 * generic encoder and decoder in codec.ts. A description states facts taken
 * from Kafka's protocol (its JSON message schemas), in the same vocabulary, so
 * a reader can check one against the other field by field, and a test does
 * (src/kafka/protocol/kafka-schemas.test.ts):
 *
 * - `versions`, `nullableVersions`, `taggedVersions`, `flexibleVersions` are
 *   version ranges as Kafka writes them: "3+" (3 and up), "0-4", "7" or "none".
 * - `type` is a primitive ("int32", "string", "records", ...), an array of one
 *   ("[]int32"), or a struct: "[]Name" or "Name" with `fields`.
 * - A field absent in a version is neither read nor written; decoding fills
 *   it with its `default`, so a decoded message has every field of every version.
 * - In flexible versions strings, bytes and arrays take compact lengths
 *   (unsigned varint, length + 1, 0 for null) and every struct ends with a
 *   tagged-field section; a field with `taggedVersions` lives in that section
 *   under its `tag` instead of in order.
 *
 * Field names are Kafka's with a lower-case first letter (`ErrorCode` is
 * `errorCode`), which is how decoded values are keyed.
 */

export type PrimitiveType =
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint16"
  | "uint32"
  | "float64"
  | "bool"
  | "string"
  | "bytes"
  | "records"
  | "uuid";

export const PRIMITIVE_TYPES: ReadonlySet<string> = new Set<PrimitiveType>([
  "int8",
  "int16",
  "int32",
  "int64",
  "uint16",
  "uint32",
  "float64",
  "bool",
  "string",
  "bytes",
  "records",
  "uuid",
]);

/** A value a field holds; see codec.ts for which JS type each primitive decodes to. */
export type FieldValue =
  | number
  | boolean
  | string
  | Uint8Array
  | readonly Uint8Array[]
  | null
  | MessageValue
  | readonly FieldValue[];

/** A decoded message or struct: field name to value. */
export type MessageValue = { readonly [name: string]: unknown };

export interface FieldDescription {
  readonly name: string;
  readonly type: string;
  readonly versions: string;
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** "none" keeps the classic (non-compact) encoding in flexible versions: ClientId in request header v2. */
  readonly flexibleVersions?: string;
  /** The value when the field is absent in a version, or when an encoded value leaves it out. */
  readonly default?: FieldValue;
  /** The fields of a struct or array-of-struct type. */
  readonly fields?: readonly FieldDescription[];
}

export interface MessageDescription {
  readonly name: string;
  /** The API key of a request or response; absent for headers. */
  readonly apiKey?: number;
  /** The versions gafka describes (and so can read and write): those it advertises. */
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldDescription[];
}

/** A request and its response, with the versions gafka describes for both. */
export interface ApiDescription {
  readonly apiKey: number;
  readonly name: string;
  readonly request: MessageDescription;
  readonly response: MessageDescription;
}

/** An inclusive range of versions; `none` is the empty range. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const NO_VERSIONS: VersionRange = { min: 0, max: -1 };

/** Ranges parsed so far: every request asks about a few (the API's, its headers'), and descriptions hold few distinct ones. */
const parsedRanges = new Map<string, VersionRange>();

/** Parses Kafka's version-range notation: "3+", "0-4", "7", "none". Throws on anything else (a bug in a description). */
export function parseVersionRange(text: string): VersionRange {
  let range = parsedRanges.get(text);
  if (range === undefined) {
    range = parseUncached(text);
    parsedRanges.set(text, range);
  }
  return range;
}

function parseUncached(text: string): VersionRange {
  if (text === "none") return NO_VERSIONS;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return { min: Number(plus[1]), max: Number.POSITIVE_INFINITY };
  const span = /^(\d+)-(\d+)$/.exec(text);
  if (span) return { min: Number(span[1]), max: Number(span[2]) };
  if (/^\d+$/.test(text)) return { min: Number(text), max: Number(text) };
  throw new Error(`not a version range: '${text}'`);
}

export function inVersionRange(text: string | undefined, version: number): boolean {
  if (text === undefined) return false;
  const range = parseVersionRange(text);
  return version >= range.min && version <= range.max;
}

/** Every version of a description's `validVersions`, lowest first. */
export function versionsOf(description: MessageDescription): number[] {
  const range = parseVersionRange(description.validVersions);
  const versions: number[] = [];
  for (let version = range.min; version <= range.max; version++) versions.push(version);
  return versions;
}

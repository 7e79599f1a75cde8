/**
 * Checks gafka's message descriptions against Kafka's own JSON schemas, where
 * they are at hand (CI keeps them at ../shared/kafka-protocol/messages beside
 * the repository). For every version gafka describes, each field Kafka's JSON
 * has in that version must be in gafka's description with the same type,
 * nullability, tag and default, and gafka's must have no others.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DESCRIBED_APIS } from "./apis.ts";
import { REQUEST_HEADER, RESPONSE_HEADER } from "./messages/headers.ts";
import { type FieldDescription, inVersionRange, type MessageDescription, PRIMITIVE_TYPES, versionsOf } from "./types.ts";

const SCHEMAS_DIR = join(import.meta.dir, "../../../../shared/kafka-protocol/messages");
const haveSchemas = existsSync(SCHEMAS_DIR);
if (!haveSchemas) {
  console.warn(`kafka-schemas.test.ts: skipped, Kafka's JSON schemas are not at ${SCHEMAS_DIR} (CI has them)`);
}

interface KafkaField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  default?: string | number | boolean;
  fields?: KafkaField[];
}

interface KafkaSchema {
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: KafkaField[];
  commonStructs?: { name: string; fields: KafkaField[] }[];
}

function loadSchema(name: string): KafkaSchema {
  // The files open with a license in // comments, which JSON.parse does not take.
  const text = readFileSync(join(SCHEMAS_DIR, `${name}.json`), "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("//"))
    .join("\n");
  return JSON.parse(text);
}

/** One field as both sides should agree on it at one version. */
interface FieldFacts {
  type: string;
  nullable: boolean;
  tag: number | null;
  classicInFlexible: boolean;
  default: unknown;
  fields?: Record<string, FieldFacts>;
}

function kafkaFacts(
  fields: readonly KafkaField[],
  version: number,
  flexible: boolean,
  common: KafkaSchema["commonStructs"],
): Record<string, FieldFacts> {
  const facts: Record<string, FieldFacts> = {};
  for (const field of fields) {
    if (!inVersionRange(field.versions, version)) continue;
    const structFields =
      field.fields ?? common?.find((struct) => struct.name === field.type.replace(/^\[\]/, ""))?.fields;
    facts[lowerFirst(field.name)] = {
      type: field.type,
      nullable: inVersionRange(field.nullableVersions, version),
      tag: flexible && inVersionRange(field.taggedVersions, version) ? (field.tag ?? null) : null,
      classicInFlexible: field.flexibleVersions === "none",
      default: kafkaDefault(field),
      ...(structFields === undefined ? {} : { fields: kafkaFacts(structFields, version, flexible, common) }),
    };
  }
  return facts;
}

function gafkaFacts(fields: readonly FieldDescription[], version: number, flexible: boolean): Record<string, FieldFacts> {
  const facts: Record<string, FieldFacts> = {};
  for (const field of fields) {
    if (!inVersionRange(field.versions, version)) continue;
    facts[field.name] = {
      type: field.type,
      nullable: inVersionRange(field.nullableVersions, version),
      tag: flexible && inVersionRange(field.taggedVersions, version) ? (field.tag ?? null) : null,
      classicInFlexible: field.flexibleVersions === "none",
      default: PRIMITIVE_TYPES.has(field.type) ? (field.default !== undefined ? field.default : zeroOf(field.type)) : undefined,
      ...(field.fields === undefined ? {} : { fields: gafkaFacts(field.fields, version, flexible) }),
    };
  }
  return facts;
}

/** Kafka's default for a primitive field, as the value gafka's decoder would produce. */
function kafkaDefault(field: KafkaField): unknown {
  if (!PRIMITIVE_TYPES.has(field.type)) return undefined;
  const text = field.default;
  if (text === undefined) return zeroOf(field.type);
  if (text === "null") return null;
  if (field.type === "bool") return text === true || text === "true";
  if (field.type === "string") return String(text);
  return Number(text);
}

function zeroOf(type: string): unknown {
  if (type === "bool") return false;
  if (type === "string") return "";
  if (type === "records") return null;
  if (type === "bytes" || type === "uuid") return undefined; // compared by type alone
  return 0;
}

function lowerFirst(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

const MESSAGES: MessageDescription[] = [
  REQUEST_HEADER,
  RESPONSE_HEADER,
  ...DESCRIBED_APIS.flatMap((api) => [api.request, api.response]),
];

describe.skipIf(!haveSchemas)("gafka's descriptions agree with Kafka's JSON schemas", () => {
  for (const message of MESSAGES) {
    test(`${message.name}: every version gafka describes`, () => {
      const schema = loadSchema(message.name);
      for (const version of versionsOf(message)) {
        expect(inVersionRange(schema.validVersions, version), `${message.name} v${version} is a Kafka version`).toBe(true);
        const flexible = inVersionRange(schema.flexibleVersions, version);
        expect(inVersionRange(message.flexibleVersions, version), `${message.name} v${version} flexible`).toBe(flexible);
        const theirs = kafkaFacts(schema.fields, version, flexible, schema.commonStructs);
        const ours = gafkaFacts(message.fields, version, flexible);
        expect({ version, fields: ours }).toEqual({ version, fields: theirs });
      }
    });
  }
});

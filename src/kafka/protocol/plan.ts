/**
 * A message description resolved for one version: which fields are on the
 * wire, in which order, which are tagged, and how each is encoded (classic or
 * compact lengths, nullable or not). Resolved once per (description, version)
 * and cached, so the encoder and decoder never parse version ranges per message.
 */
import {
  type FieldDescription,
  inVersionRange,
  type MessageDescription,
  PRIMITIVE_TYPES,
  type PrimitiveType,
  parseVersionRange,
} from "./types.ts";

/** How one value is written: a primitive, an array of something, or a struct. */
export type ValuePlan =
  | { readonly kind: "primitive"; readonly type: PrimitiveType }
  | { readonly kind: "array"; readonly element: ValuePlan }
  | { readonly kind: "struct"; readonly struct: StructPlan };

export interface FieldPlan {
  readonly name: string;
  readonly value: ValuePlan;
  readonly nullable: boolean;
  /** Compact (unsigned varint) lengths for strings, bytes and arrays. */
  readonly compact: boolean;
  readonly tag: number;
  /** A fresh default value (arrays and structs are new objects each time). */
  readonly makeDefault: () => unknown;
}

export interface StructPlan {
  /** Fields written in order. */
  readonly fields: readonly FieldPlan[];
  /** Fields written in the tagged section, by increasing tag. */
  readonly tagged: readonly FieldPlan[];
  readonly taggedByTag: ReadonlyMap<number, FieldPlan>;
  /** Fields of the description absent in this version: decoded as their defaults. */
  readonly absent: readonly FieldPlan[];
  /** Whether the struct ends with a tagged-field section. */
  readonly flexible: boolean;
}

const plans = new WeakMap<MessageDescription, Map<number, StructPlan>>();

/** The plan of `description` at `version`; throws if gafka does not describe that version (the caller checks first). */
export function planOf(description: MessageDescription, version: number): StructPlan {
  let byVersion = plans.get(description);
  if (byVersion === undefined) {
    byVersion = new Map();
    plans.set(description, byVersion);
  }
  let plan = byVersion.get(version);
  if (plan === undefined) {
    if (!inVersionRange(description.validVersions, version)) {
      throw new Error(`${description.name} has no version ${version} (valid: ${description.validVersions})`);
    }
    plan = planStruct(description.fields, version, inVersionRange(description.flexibleVersions, version));
    byVersion.set(version, plan);
  }
  return plan;
}

export function isDescribedVersion(description: MessageDescription, version: number): boolean {
  return Number.isInteger(version) && inVersionRange(description.validVersions, version);
}

function planStruct(descriptions: readonly FieldDescription[], version: number, flexible: boolean): StructPlan {
  const fields: FieldPlan[] = [];
  const tagged: FieldPlan[] = [];
  const absent: FieldPlan[] = [];
  for (const description of descriptions) {
    const field = planField(description, version, flexible);
    if (!inVersionRange(description.versions, version)) absent.push(field);
    else if (flexible && inVersionRange(description.taggedVersions, version)) tagged.push(field);
    else fields.push(field);
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const taggedByTag = new Map(tagged.map((field) => [field.tag, field]));
  if (taggedByTag.size !== tagged.length) throw new Error("two tagged fields share a tag");
  return { fields, tagged, taggedByTag, absent, flexible };
}

function planField(description: FieldDescription, version: number, flexible: boolean): FieldPlan {
  const compact = flexible && !(description.flexibleVersions === "none");
  const value = planValue(description.type, description, version, flexible);
  const nullable = inVersionRange(description.nullableVersions, version);
  const tag = description.tag ?? -1;
  if (description.taggedVersions !== undefined && description.tag === undefined) {
    throw new Error(`tagged field ${description.name} has no tag`);
  }
  return { name: description.name, value, nullable, compact, tag, makeDefault: defaultMaker(description, value) };
}

function planValue(type: string, description: FieldDescription, version: number, flexible: boolean): ValuePlan {
  if (type.startsWith("[]")) {
    return { kind: "array", element: planValue(type.slice(2), description, version, flexible) };
  }
  if (PRIMITIVE_TYPES.has(type)) return { kind: "primitive", type: type as PrimitiveType };
  if (description.fields === undefined) throw new Error(`field ${description.name}: struct type ${type} has no fields`);
  return { kind: "struct", struct: planStruct(description.fields, version, flexible) };
}

function defaultMaker(description: FieldDescription, value: ValuePlan): () => unknown {
  const given = description.default;
  if (given !== undefined) {
    // Checked once here: a null default on a field never nullable is a bug in the description.
    if (given === null && description.nullableVersions === undefined) {
      throw new Error(`field ${description.name}: null default but never nullable`);
    }
    if (given instanceof Uint8Array) return () => given.slice();
    return () => given;
  }
  return () => zeroValue(value);
}

/** Kafka's default for a field without one: zero, false, "", empty, the zero UUID. */
function zeroValue(value: ValuePlan): unknown {
  if (value.kind === "array") return [];
  if (value.kind === "struct") return defaultStruct(value.struct);
  switch (value.type) {
    case "bool":
      return false;
    case "string":
      return "";
    case "bytes":
      return new Uint8Array(0);
    case "records":
      return null;
    case "uuid":
      return ZERO_UUID;
    default:
      return 0;
  }
}

export const ZERO_UUID = "00000000000000000000000000000000";

export function defaultStruct(plan: StructPlan): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of plan.fields) value[field.name] = field.makeDefault();
  for (const field of plan.tagged) value[field.name] = field.makeDefault();
  for (const field of plan.absent) value[field.name] = field.makeDefault();
  return value;
}

/** The range a description's versions span, for callers that list them (ApiVersions). */
export function versionRangeOf(description: MessageDescription): { min: number; max: number } {
  return parseVersionRange(description.validVersions);
}

/** Whether `value` equals the field's default, so a tagged field can be left out (as Kafka does). */
export function isDefaultValue(field: FieldPlan, value: unknown): boolean {
  return sameValue(field.value, value, field.makeDefault());
}

function sameValue(plan: ValuePlan, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (plan.kind === "array") {
    const left = a as readonly unknown[];
    const right = b as readonly unknown[];
    return left.length === right.length && left.every((item, index) => sameValue(plan.element, item, right[index]));
  }
  if (plan.kind === "struct") {
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    const fields = [...plan.struct.fields, ...plan.struct.tagged];
    return fields.every((field) => sameValue(field.value, left[field.name] ?? field.makeDefault(), right[field.name]));
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, index) => byte === b[index]);
  }
  return false;
}


/**
 * Values that fill every field of a message at a version with something other
 * than its default (so tagged fields are written too), for round-trip tests.
 * `seed` varies the values and chooses null for nullable fields when odd.
 */
import { planOf, type StructPlan, type ValuePlan } from "./plan.ts";
import type { MessageDescription } from "./types.ts";

export function sampleMessage(description: MessageDescription, version: number, seed = 0): Record<string, unknown> {
  return sampleStruct(planOf(description, version), seed);
}

function sampleStruct(plan: StructPlan, seed: number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of [...plan.fields, ...plan.tagged]) {
    value[field.name] = field.nullable && seed % 2 === 1 ? null : sampleValue(field.value, seed + field.name.length);
  }
  for (const field of plan.absent) value[field.name] = field.makeDefault();
  return value;
}

function sampleValue(plan: ValuePlan, seed: number): unknown {
  if (plan.kind === "array") return [sampleValue(plan.element, seed), sampleValue(plan.element, seed + 2)];
  if (plan.kind === "struct") return sampleStruct(plan.struct, seed + 2);
  switch (plan.type) {
    case "int8":
      return -100 + seed;
    case "int16":
      return 1000 + seed;
    case "uint16":
      return 65000 + seed;
    case "int32":
      return -70000 - seed;
    case "uint32":
      return 4_000_000_000 + seed;
    case "int64":
      return 2 ** 40 + seed;
    case "float64":
      return 1.5 + seed;
    case "bool":
      return true;
    case "string":
      return `name-é-${seed}`;
    case "bytes":
      return new Uint8Array([1, 2, seed & 0xff]);
    case "records":
      return new Uint8Array(Array.from({ length: 20 }, (_, index) => (index + seed) & 0xff));
    case "uuid":
      return `0123456789abcdef0123456789abcd${(seed & 0xff).toString(16).padStart(2, "0")}`;
  }
}

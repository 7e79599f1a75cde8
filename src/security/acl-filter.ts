import { limits, userNameProblem } from "../core/limits.ts";
import { type AclBinding, CLUSTER_RESOURCE_NAME } from "./acl.ts";
import type { AclOperation } from "./operations.ts";

/**
 * Which ACL bindings may be stored, and the filters `acls list` and
 * `acls remove` select them by (Kafka's AclBindingFilter: each field given
 * must equal the binding's, each field left out matches anything).
 */
export type AclFilter = { readonly [K in keyof AclBinding]?: AclBinding[K] };

const RESOURCE_TYPES: ReadonlySet<string> = new Set(["topic", "group", "cluster"]);
const PATTERN_TYPES: ReadonlySet<string> = new Set(["literal", "prefixed"]);
const OPERATIONS: ReadonlySet<string> = new Set<AclOperation | "all">(["read", "write", "create", "delete", "describe", "alter", "cluster_action", "all"]);
const PERMISSIONS: ReadonlySet<string> = new Set(["allow", "deny"]);
/** Topic names and group ids share this charset, so a prefix of either does too. */
const RESOURCE_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
const FIELDS: readonly (keyof AclBinding)[] = ["principal", "resourceType", "resourceName", "patternType", "operation", "permission"];

function principalProblem(principal: unknown): string | undefined {
  if (typeof principal !== "string" || !principal.startsWith("User:")) return "principal must be User:<name> or User:*";
  const name = principal.slice("User:".length);
  if (name === "*") return undefined;
  const problem = userNameProblem(name);
  return problem === undefined ? undefined : `principal: ${problem}`;
}

function resourceNameProblem(binding: Record<string, unknown>): string | undefined {
  const name = binding.resourceName;
  if (typeof name !== "string" || name.length === 0) return "resource name must be a non-empty string";
  if (binding.resourceType === "cluster") {
    return name === CLUSTER_RESOURCE_NAME && binding.patternType === "literal" ? undefined : `the cluster resource is named '${CLUSTER_RESOURCE_NAME}' (literal)`;
  }
  if (name === "*") return binding.patternType === "literal" ? undefined : "resource name '*' is a literal wildcard, not a prefix";
  if (name.length > limits.aclResourceNameLengthMax) return `resource name is longer than ${limits.aclResourceNameLengthMax} characters`;
  if (!RESOURCE_NAME_PATTERN.test(name)) return "resource name may contain only A-Z a-z 0-9 . _ - (or be '*')";
  return undefined;
}

function oneOf(allowed: ReadonlySet<string>, message: string): (value: unknown) => string | undefined {
  return (value) => (typeof value === "string" && allowed.has(value) ? undefined : message);
}

/** Each field on its own; the resource name is checked against its type and pattern in aclBindingProblem. */
const FIELD_PROBLEM: Record<keyof AclBinding, (value: unknown) => string | undefined> = {
  principal: principalProblem,
  resourceType: oneOf(RESOURCE_TYPES, "resource type must be topic, group or cluster"),
  resourceName: (value) => (typeof value === "string" && value.length > 0 ? undefined : "resource name must be a non-empty string"),
  patternType: oneOf(PATTERN_TYPES, "pattern type must be literal or prefixed"),
  operation: oneOf(OPERATIONS, "operation must be read, write, create, delete, describe, alter, cluster_action or all"),
  permission: oneOf(PERMISSIONS, "permission must be allow or deny"),
};

function fieldsProblem(value: unknown, what: string, required: boolean): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `${what} must be an object`;
  const fields = value as Record<string, unknown>;
  const unknownField = Object.keys(fields).find((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknownField !== undefined) return `unknown ACL field '${unknownField.slice(0, 64)}'`;
  for (const field of FIELDS) {
    if (fields[field] === undefined && !required) continue;
    const problem = FIELD_PROBLEM[field](fields[field]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Returns a reason `value` is not a storable AclBinding, or undefined when it is one. */
export function aclBindingProblem(value: unknown): string | undefined {
  return fieldsProblem(value, "an ACL binding", true) ?? resourceNameProblem(value as Record<string, unknown>);
}

/** Returns a reason `value` is not an AclFilter: each field present must be valid on its own. */
export function aclFilterProblem(value: unknown): string | undefined {
  return fieldsProblem(value, "an ACL filter", false);
}

/** Whether `binding` has every field `filter` gives (an empty filter matches every binding). */
export function aclMatchesFilter(binding: AclBinding, filter: AclFilter): boolean {
  return FIELDS.every((field) => filter[field] === undefined || filter[field] === binding[field]);
}

export function sameAcl(a: AclBinding, b: AclBinding): boolean {
  return FIELDS.every((field) => a[field] === b[field]);
}

/** The binding with exactly its six fields, frozen (what the store keeps). */
export function canonicalAcl(binding: AclBinding): AclBinding {
  return Object.freeze({
    principal: binding.principal,
    resourceType: binding.resourceType,
    resourceName: binding.resourceName,
    patternType: binding.patternType,
    operation: binding.operation,
    permission: binding.permission,
  });
}

import type { AclOperation, Resource } from "./operations.ts";
import { type Principal, principalName } from "./principal.ts";

/**
 * One Kafka-style ACL: `principal` (`User:alice`, or `User:*` for every
 * authenticated user) may (`allow`) or may not (`deny`) do `operation` on
 * the resources of `resourceType` whose name is `resourceName` (`literal`)
 * or starts with it (`prefixed`). `resourceName` `*` with `literal` matches
 * every name, as in Kafka. Operation `all` covers every operation.
 */
export interface AclBinding {
  readonly principal: string;
  readonly resourceType: "topic" | "group" | "cluster";
  readonly resourceName: string;
  readonly patternType: "literal" | "prefixed";
  readonly operation: AclOperation | "all";
  readonly permission: "allow" | "deny";
}

/** The name ACLs give the cluster resource (Kafka's `kafka-cluster`). */
export const CLUSTER_RESOURCE_NAME = "kafka-cluster";

/**
 * Operations that imply DESCRIBE, as in Kafka: whoever may read, write,
 * delete or alter a resource may also see it.
 */
const IMPLIES_DESCRIBE: ReadonlySet<string> = new Set(["read", "write", "delete", "alter", "all"]);

function resourceNameOf(resource: Resource): string {
  switch (resource.kind) {
    case "topic":
      return resource.name;
    case "group":
      return resource.id;
    case "cluster":
      return CLUSTER_RESOURCE_NAME;
  }
}

function principalMatches(binding: AclBinding, name: string, principal: Principal): boolean {
  if (binding.principal === name) return true;
  return binding.principal === "User:*" && principal.kind === "user";
}

function resourceMatches(binding: AclBinding, resource: Resource, name: string): boolean {
  if (binding.resourceType !== resource.kind) return false;
  if (binding.patternType === "prefixed") return name.startsWith(binding.resourceName);
  return binding.resourceName === "*" || binding.resourceName === name;
}

function operationMatches(binding: AclBinding, operation: AclOperation): boolean {
  if (binding.operation === "all" || binding.operation === operation) return true;
  // Allows that imply DESCRIBE grant it; a deny of READ does not deny DESCRIBE.
  return operation === "describe" && binding.permission === "allow" && IMPLIES_DESCRIBE.has(binding.operation);
}

/**
 * What the ACLs say about `principal` doing `operation` on `resource`:
 * `deny` when any matching ACL denies (deny wins), else `allow` when one
 * allows, else `none` (which the authorizer treats as a refusal).
 */
export function aclDecision(acls: readonly AclBinding[], principal: Principal, operation: AclOperation, resource: Resource): "allow" | "deny" | "none" {
  const name = principalName(principal);
  const resourceName = resourceNameOf(resource);
  let allowed = false;
  for (const binding of acls) {
    if (!principalMatches(binding, name, principal) || !resourceMatches(binding, resource, resourceName) || !operationMatches(binding, operation)) continue;
    if (binding.permission === "deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : "none";
}

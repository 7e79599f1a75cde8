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

function operationMatches(binding: AclBinding, operation: AclOperation): boolean {
  if (binding.operation === "all" || binding.operation === operation) return true;
  // Allows that imply DESCRIBE grant it; a deny of READ does not deny DESCRIBE.
  return operation === "describe" && binding.permission === "allow" && IMPLIES_DESCRIBE.has(binding.operation);
}

/**
 * The bindings of one ACL list, found by the resource they name rather than
 * by walking the whole list on every request (Kafka's authorizer keeps its
 * ACLs by resource too): literal names (`*` included) in a map, prefixed
 * ones per resource type. Built once per list: the credential store replaces
 * its list on every change, so the list's identity says when to rebuild.
 */
class AclIndex {
  /** Literal bindings by resource type, then by name (`*` among them). */
  readonly literal = new Map<string, Map<string, AclBinding[]>>();
  /** Prefixed bindings by resource type. */
  readonly prefixed = new Map<string, AclBinding[]>();

  constructor(acls: readonly AclBinding[]) {
    for (const binding of acls) {
      if (binding.patternType === "prefixed") {
        append(this.prefixed, binding.resourceType, binding);
      } else {
        let byName = this.literal.get(binding.resourceType);
        if (byName === undefined) {
          byName = new Map();
          this.literal.set(binding.resourceType, byName);
        }
        append(byName, binding.resourceName, binding);
      }
    }
  }
}

function append(map: Map<string, AclBinding[]>, key: string, binding: AclBinding): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [binding]);
  else list.push(binding);
}

const indexes = new WeakMap<readonly AclBinding[], AclIndex>();

function indexOf(acls: readonly AclBinding[]): AclIndex {
  let index = indexes.get(acls);
  if (index === undefined) {
    index = new AclIndex(acls);
    indexes.set(acls, index);
  }
  return index;
}

/**
 * What the ACLs say about `principal` doing `operation` on `resource`:
 * `deny` when any matching ACL denies (deny wins), else `allow` when one
 * allows, else `none` (which the authorizer treats as a refusal). Only the
 * bindings naming the resource are looked at (AclIndex), so the cost does
 * not grow with the ACLs on other resources.
 */
export function aclDecision(acls: readonly AclBinding[], principal: Principal, operation: AclOperation, resource: Resource): "allow" | "deny" | "none" {
  const index = indexOf(acls);
  const name = principalName(principal);
  const resourceName = resourceNameOf(resource);
  const byName = index.literal.get(resource.kind);
  const exact = decide(byName?.get(resourceName), name, principal, operation, resourceName);
  if (exact === "deny") return "deny";
  const every = resourceName === "*" ? "none" : decide(byName?.get("*"), name, principal, operation, resourceName);
  if (every === "deny") return "deny";
  const prefixed = decide(index.prefixed.get(resource.kind), name, principal, operation, resourceName);
  if (prefixed === "deny") return "deny";
  return exact === "allow" || every === "allow" || prefixed === "allow" ? "allow" : "none";
}

/** aclDecision over one list of candidates (a prefixed binding applies only to names it begins). */
function decide(
  bindings: readonly AclBinding[] | undefined,
  name: string,
  principal: Principal,
  operation: AclOperation,
  resourceName: string,
): "allow" | "deny" | "none" {
  if (bindings === undefined) return "none";
  let allowed = false;
  for (const binding of bindings) {
    if (binding.patternType === "prefixed" && !resourceName.startsWith(binding.resourceName)) continue;
    if (!principalMatches(binding, name, principal) || !operationMatches(binding, operation)) continue;
    if (binding.permission === "deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : "none";
}

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
  private readonly literal = new Map<string, AclBinding[]>();
  private readonly prefixed = new Map<string, AclBinding[]>();

  constructor(acls: readonly AclBinding[]) {
    for (const binding of acls) {
      const map = binding.patternType === "prefixed" ? this.prefixed : this.literal;
      const key = binding.patternType === "prefixed" ? binding.resourceType : `${binding.resourceType}\u0000${binding.resourceName}`;
      const list = map.get(key);
      if (list === undefined) map.set(key, [binding]);
      else list.push(binding);
    }
  }

  /** The literal bindings naming `name` (or `*`) and the prefixed ones of `resource`'s type: those to check, of which a prefixed one applies only if the name starts with it. */
  candidates(resource: Resource, name: string): readonly (readonly AclBinding[] | undefined)[] {
    const exact = this.literal.get(`${resource.kind}\u0000${name}`);
    const every = name === "*" ? undefined : this.literal.get(`${resource.kind}\u0000*`);
    return [exact, every, this.prefixed.get(resource.kind)];
  }
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
  const name = principalName(principal);
  const resourceName = resourceNameOf(resource);
  let allowed = false;
  for (const list of indexOf(acls).candidates(resource, resourceName)) {
    if (list === undefined) continue;
    for (const binding of list) {
      if (binding.patternType === "prefixed" && !resourceName.startsWith(binding.resourceName)) continue;
      if (!principalMatches(binding, name, principal) || !operationMatches(binding, operation)) continue;
      if (binding.permission === "deny") return "deny";
      allowed = true;
    }
  }
  return allowed ? "allow" : "none";
}

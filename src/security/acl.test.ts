import { expect, test } from "bun:test";
import { type AclBinding, aclDecision, CLUSTER_RESOURCE_NAME } from "./acl.ts";
import type { AclOperation, Resource } from "./operations.ts";
import { ANONYMOUS, brokerPrincipal, type Principal, principalName, userPrincipal } from "./principal.ts";

/** Kafka's rules written plainly, walking every binding: what the index must agree with. */
function walkEveryBinding(acls: readonly AclBinding[], principal: Principal, operation: AclOperation, resource: Resource): "allow" | "deny" | "none" {
  const name = principalName(principal);
  const resourceName = resource.kind === "topic" ? resource.name : resource.kind === "group" ? resource.id : CLUSTER_RESOURCE_NAME;
  let allowed = false;
  for (const binding of acls) {
    const principalOk = binding.principal === name || (binding.principal === "User:*" && principal.kind === "user");
    const resourceOk =
      binding.resourceType === resource.kind &&
      (binding.patternType === "prefixed" ? resourceName.startsWith(binding.resourceName) : binding.resourceName === "*" || binding.resourceName === resourceName);
    const operationOk =
      binding.operation === "all" ||
      binding.operation === operation ||
      (operation === "describe" && binding.permission === "allow" && ["read", "write", "delete", "alter"].includes(binding.operation));
    if (!principalOk || !resourceOk || !operationOk) continue;
    if (binding.permission === "deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : "none";
}

test("the indexed decision equals a walk over every binding, for 20,000 random questions", () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const names = ["orders", "orders-eu", "ord", "billing", "*", "o"];
  const operations: AclOperation[] = ["read", "write", "create", "delete", "describe", "alter", "cluster_action"];
  const principals: Principal[] = [userPrincipal("alice"), userPrincipal("bob"), ANONYMOUS, brokerPrincipal(2)];
  for (let round = 0; round < 200; round++) {
    const acls: AclBinding[] = Array.from({ length: Math.floor(random() * 12) }, () => {
      const resourceType = pick(["topic", "group", "cluster"] as const);
      return {
        principal: pick(["User:alice", "User:bob", "User:*"]),
        resourceType,
        resourceName: resourceType === "cluster" ? CLUSTER_RESOURCE_NAME : pick(names),
        patternType: resourceType === "cluster" ? "literal" : pick(["literal", "prefixed"] as const),
        operation: pick([...operations, "all"] as const),
        permission: pick(["allow", "deny"] as const),
      };
    });
    for (let question = 0; question < 100; question++) {
      const kind = pick(["topic", "group", "cluster"] as const);
      const resource: Resource = kind === "topic" ? { kind, name: pick(names.filter((n) => n !== "*")) } : kind === "group" ? { kind, id: pick(names.filter((n) => n !== "*")) } : { kind };
      const principal = pick(principals);
      const operation = pick(operations);
      expect(aclDecision(acls, principal, operation, resource)).toBe(walkEveryBinding(acls, principal, operation, resource));
    }
  }
});

test("a changed list (a new array, as the store makes on every change) is decided on its own bindings", () => {
  const allow: AclBinding = { principal: "User:alice", resourceType: "topic", resourceName: "orders", patternType: "literal", operation: "read", permission: "allow" };
  const first = [allow];
  expect(aclDecision(first, userPrincipal("alice"), "read", { kind: "topic", name: "orders" })).toBe("allow");
  const second = [allow, { ...allow, permission: "deny" as const }];
  expect(aclDecision(second, userPrincipal("alice"), "read", { kind: "topic", name: "orders" })).toBe("deny");
  expect(aclDecision([], userPrincipal("alice"), "read", { kind: "topic", name: "orders" })).toBe("none");
});

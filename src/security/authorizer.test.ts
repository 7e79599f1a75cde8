import { describe, expect, test } from "bun:test";
import type { AclBinding } from "./acl.ts";
import { Authorizer } from "./authorizer.ts";
import { ACL_OPERATION, CLUSTER, type Operation, type Resource } from "./operations.ts";
import { ANONYMOUS, brokerPrincipal, type Principal, userPrincipal } from "./principal.ts";

const alice = userPrincipal("alice");
const bob = userPrincipal("bob");
const admin = userPrincipal("admin");
const broker2 = brokerPrincipal(2);
const orders: Resource = { kind: "topic", name: "orders" };
const ordersEu: Resource = { kind: "topic", name: "orders-eu" };
const billing: Resource = { kind: "group", id: "billing" };

function acl(partial: Partial<AclBinding>): AclBinding {
  return { principal: "User:alice", resourceType: "topic", resourceName: "orders", patternType: "literal", operation: "read", permission: "allow", ...partial };
}

function authorizer(acls: AclBinding[], options: { authRequired?: boolean; peersAuthenticated?: boolean } = {}): Authorizer {
  return new Authorizer({ authRequired: options.authRequired ?? true, peersAuthenticated: options.peersAuthenticated ?? true, superUsers: ["User:admin"], acls: () => acls });
}

function outcome(policy: Authorizer, principal: Principal, operation: Operation, resource: Resource): string {
  try {
    policy.check(principal, operation, resource);
    return "ok";
  } catch (error) {
    return (error as { code: string }).code;
  }
}

describe("Authorizer", () => {
  test("auth required: anonymous is 401 everywhere, a user without an ACL 403, a super user passes", () => {
    const policy = authorizer([]);
    for (const operation of ["produce", "consume", "describe_topic", "promote", "alter_security"] as const) {
      expect(outcome(policy, ANONYMOUS, operation, orders)).toBe("unauthenticated");
      expect(outcome(policy, alice, operation, orders)).toBe("forbidden");
      expect(outcome(policy, admin, operation, orders)).toBe("ok");
    }
  });

  test("replication is for brokers alone, even for a super user; brokers may do nothing else but describe the cluster", () => {
    const policy = authorizer([]);
    expect(outcome(policy, broker2, "replicate", CLUSTER)).toBe("ok");
    expect(outcome(policy, admin, "replicate", CLUSTER)).toBe("forbidden");
    expect(outcome(policy, ANONYMOUS, "replicate", CLUSTER)).toBe("unauthenticated");
    expect(outcome(policy, broker2, "describe_cluster", CLUSTER)).toBe("ok");
    expect(outcome(policy, broker2, "produce", orders)).toBe("forbidden");
    expect(outcome(policy, broker2, "promote", CLUSTER)).toBe("forbidden");
  });

  test("auth off with a cluster secret: anyone may use the API, only brokers replicate", () => {
    const policy = authorizer([], { authRequired: false, peersAuthenticated: true });
    expect(outcome(policy, ANONYMOUS, "produce", orders)).toBe("ok");
    expect(outcome(policy, ANONYMOUS, "promote", CLUSTER)).toBe("ok");
    expect(outcome(policy, ANONYMOUS, "replicate", CLUSTER)).toBe("unauthenticated");
  });

  test("auth off without a secret: everyone may do everything (loopback's default)", () => {
    const policy = authorizer([], { authRequired: false, peersAuthenticated: false });
    expect(outcome(policy, ANONYMOUS, "replicate", CLUSTER)).toBe("ok");
    expect(policy.allows(ANONYMOUS, "alter_security", CLUSTER)).toBe(true);
  });

  test("literal and prefixed names, wildcard principal and name, deny wins", () => {
    const policy = authorizer([
      acl({ operation: "write" }),
      acl({ resourceName: "orders-", patternType: "prefixed", operation: "read" }),
      acl({ principal: "User:*", resourceType: "group", resourceName: "*", operation: "read" }),
      acl({ principal: "User:bob", resourceName: "*", operation: "all" }),
      acl({ principal: "User:bob", resourceName: "orders-eu", operation: "write", permission: "deny" }),
    ]);
    expect(outcome(policy, alice, "produce", orders)).toBe("ok");
    expect(outcome(policy, alice, "consume", orders)).toBe("forbidden");
    expect(outcome(policy, alice, "consume", ordersEu)).toBe("ok");
    expect(outcome(policy, alice, "produce", ordersEu)).toBe("forbidden");
    expect(outcome(policy, alice, "group_join", billing)).toBe("ok");
    expect(outcome(policy, bob, "group_join", billing)).toBe("ok");
    expect(outcome(policy, bob, "delete_topic", orders)).toBe("ok");
    expect(outcome(policy, bob, "produce", ordersEu)).toBe("forbidden");
    expect(outcome(policy, bob, "consume", ordersEu)).toBe("ok");
    expect(outcome(policy, ANONYMOUS, "group_join", billing)).toBe("unauthenticated");
  });

  test("read, write, delete and alter imply describe; deny of read does not deny describe", () => {
    const policy = authorizer([acl({ operation: "write" }), acl({ principal: "User:bob", operation: "all" }), acl({ principal: "User:bob", operation: "read", permission: "deny" })]);
    expect(outcome(policy, alice, "describe_topic", orders)).toBe("ok");
    expect(outcome(policy, alice, "describe_topic", ordersEu)).toBe("forbidden");
    expect(outcome(policy, bob, "describe_topic", orders)).toBe("ok");
    expect(outcome(policy, bob, "consume", orders)).toBe("forbidden");
  });

  test("the cluster resource is named kafka-cluster; a 403 names the principal", () => {
    const policy = authorizer([acl({ resourceType: "cluster", resourceName: "kafka-cluster", operation: "alter" })]);
    expect(outcome(policy, alice, "promote", CLUSTER)).toBe("ok");
    expect(outcome(policy, alice, "describe_cluster", CLUSTER)).toBe("ok");
    try {
      policy.check(bob, "promote", CLUSTER);
      throw new Error("not refused");
    } catch (error) {
      expect((error as { details: Record<string, unknown> }).details.principal).toBe("User:bob");
    }
  });
});

test("with --auth off and no cluster secret it allows everything, as OPEN_POLICY: the broker can always use it", () => {
  const open = authorizer([acl({ permission: "deny", operation: "all", resourceName: "*" })], { authRequired: false, peersAuthenticated: false });
  const operations = Object.keys(ACL_OPERATION) as Operation[];
  for (const principal of [ANONYMOUS, alice]) {
    for (const operation of operations) {
      for (const resource of [orders, billing, CLUSTER]) expect({ operation, outcome: outcome(open, principal, operation, resource) }).toEqual({ operation, outcome: "ok" });
    }
    expect(() => open.checkAuthenticated(principal)).not.toThrow();
  }
});

test("checkAuthenticated: 401 for anonymous under --auth required only", () => {
  expect(() => authorizer([]).checkAuthenticated(ANONYMOUS)).toThrow("requires authentication");
  expect(() => authorizer([]).checkAuthenticated(alice)).not.toThrow();
  expect(() => authorizer([], { authRequired: false }).checkAuthenticated(ANONYMOUS)).not.toThrow();
});

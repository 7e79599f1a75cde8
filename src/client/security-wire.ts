/**
 * Users, tokens and ACLs as the SDK gives them (camelCase, ms), and as the
 * HTTP API carries them (docs/api.md "Security"), with the mapping between.
 */

export type ScramMechanismName = "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface UserSummary {
  name: string;
  /** The SCRAM credentials the user has; never a key or salt. */
  mechanisms: { mechanism: ScramMechanismName; iterations: number }[];
}

export interface TokenSummary {
  id: string;
  user: string;
  createdAtMs: number;
  /** null: never expires. */
  expiresAtMs: number | null;
  description: string;
}

export interface CreatedToken extends TokenSummary {
  /** `gafka_<id>_<secret>`: shown in this answer only; the broker keeps its hash. */
  token: string;
}

export interface CreateTokenRequest {
  user: string;
  /** Lifetime in ms; a token that never expires when absent. */
  expiresInMs?: number;
  description?: string;
}

export type AclOperationName = "read" | "write" | "create" | "delete" | "describe" | "alter" | "cluster_action" | "all";

/** One Kafka-style ACL binding (docs/api.md "ACLs"). */
export interface Acl {
  /** `User:<name>`, or `User:*` for every authenticated user. */
  principal: string;
  resourceType: "topic" | "group" | "cluster";
  /** A topic name, group id or prefix; `*` (literal) for all; `kafka-cluster` for the cluster. */
  resourceName: string;
  patternType: "literal" | "prefixed";
  operation: AclOperationName;
  permission: "allow" | "deny";
}

/** Each field given must equal the binding's; `{}` matches every binding. */
export type AclFilter = Partial<Acl>;

export interface WireUser {
  name: string;
  mechanisms: { mechanism: ScramMechanismName; iterations: number }[];
}

export interface WireToken {
  id: string;
  user: string;
  created_at: number;
  expires_at: number | null;
  description: string;
}

export interface WireAcl {
  principal: string;
  resource_type: Acl["resourceType"];
  resource_name: string;
  pattern_type: Acl["patternType"];
  operation: AclOperationName;
  permission: Acl["permission"];
}

export function tokenSummary(wire: WireToken): TokenSummary {
  return { id: wire.id, user: wire.user, createdAtMs: wire.created_at, expiresAtMs: wire.expires_at, description: wire.description };
}

export function aclFromWire(wire: WireAcl): Acl {
  return {
    principal: wire.principal,
    resourceType: wire.resource_type,
    resourceName: wire.resource_name,
    patternType: wire.pattern_type,
    operation: wire.operation,
    permission: wire.permission,
  };
}

/** The filter's fields under their wire names; fields left out stay out. */
export function aclFilterToWire(filter: AclFilter): Partial<WireAcl> {
  const wire: Record<string, string> = {};
  if (filter.principal !== undefined) wire.principal = filter.principal;
  if (filter.resourceType !== undefined) wire.resource_type = filter.resourceType;
  if (filter.resourceName !== undefined) wire.resource_name = filter.resourceName;
  if (filter.patternType !== undefined) wire.pattern_type = filter.patternType;
  if (filter.operation !== undefined) wire.operation = filter.operation;
  if (filter.permission !== undefined) wire.permission = filter.permission;
  return wire as Partial<WireAcl>;
}

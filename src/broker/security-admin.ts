import type { AclBinding } from "../security/acl.ts";
import type { AclFilter } from "../security/acl-filter.ts";
import type { CredentialStore, TokenInfo, UserInfo } from "../security/credential-store.ts";
import { CLUSTER } from "../security/operations.ts";
import type { Principal } from "../security/principal.ts";
import type { WriteGate } from "./write-gate.ts";

/**
 * Administration of the cluster's credential store (users, tokens, ACLs)
 * for every door, through the domain's gate: each change is a write
 * (`alter_security` on the cluster, admitted by the gate, so only the
 * leader takes it and the store replicates from one source; a follower
 * answers not_leader), each listing a read (`describe_security`,
 * authorized alone, so a follower answers from its copy). The store
 * checks the values (400 invalid_request) and makes each change durable
 * before its promise resolves (src/security/credential-store.ts).
 */
export class SecurityAdmin {
  constructor(
    /** The store itself, for the authenticator, the authorizer and replication (which pass no gate). */
    readonly store: CredentialStore,
    private readonly gate: WriteGate,
  ) {}

  listUsers(principal: Principal): UserInfo[] {
    this.gate.authorize(principal, "describe_security", CLUSTER);
    return this.store.listUsers().sort((a, b) => compare(a.name, b.name));
  }

  /** 409 user_exists when the name is taken. */
  async addUser(principal: Principal, name: string, password: string, options: { iterations?: number } = {}): Promise<void> {
    this.gate.admit(principal, "alter_security", CLUSTER);
    return this.store.addUser(name, password, options);
  }

  /** 404 user_not_found. */
  async setPassword(principal: Principal, name: string, password: string, options: { iterations?: number } = {}): Promise<void> {
    this.gate.admit(principal, "alter_security", CLUSTER);
    return this.store.setPassword(name, password, options);
  }

  /** Removes the user and their tokens; resolves to the number of tokens removed. 404 user_not_found. */
  async deleteUser(principal: Principal, name: string): Promise<number> {
    this.gate.admit(principal, "alter_security", CLUSTER);
    return this.store.deleteUser(name);
  }

  /** Tokens (of `user` when given), oldest first, without their hashes. */
  listTokens(principal: Principal, user?: string): TokenInfo[] {
    this.gate.authorize(principal, "describe_security", CLUSTER);
    return this.store.listTokens(user).sort((a, b) => a.createdAtMs - b.createdAtMs || compare(a.id, b.id));
  }

  /** A new token for `user`: the token string is in this answer only. 404 user_not_found. */
  async createToken(principal: Principal, user: string, options: { expiresInMs?: number; description?: string } = {}): Promise<{ token: string; info: TokenInfo }> {
    this.gate.admit(principal, "alter_security", CLUSTER);
    return this.store.createToken(user, options);
  }

  /** 404 token_not_found. */
  async revokeToken(principal: Principal, id: string): Promise<void> {
    this.gate.admit(principal, "alter_security", CLUSTER);
    return this.store.revokeToken(id);
  }

  /** Bindings matching `filter` (every binding for `{}`), in the order they were added. */
  listAcls(principal: Principal, filter: AclFilter = {}): AclBinding[] {
    this.gate.authorize(principal, "describe_security", CLUSTER);
    return this.store.listAcls(filter);
  }

  /** Resolves false when the same binding exists already (nothing changes). */
  async addAcl(principal: Principal, binding: AclBinding): Promise<boolean> {
    this.gate.admit(principal, "alter_security", CLUSTER);
    return this.store.addAcl(binding);
  }

  /** Removes every binding matching `filter` (all of them for `{}`) and resolves to them. */
  async removeAcls(principal: Principal, filter: AclFilter): Promise<AclBinding[]> {
    this.gate.admit(principal, "alter_security", CLUSTER);
    return this.store.removeAcls(filter);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

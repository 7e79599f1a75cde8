import { GafkaError } from "../core/errors.ts";
import type { AccessPolicy } from "./access-policy.ts";
import { type AclBinding, aclDecision } from "./acl.ts";
import { ACL_OPERATION, type Operation, type Resource } from "./operations.ts";
import { type Principal, principalName } from "./principal.ts";

export interface AuthorizerOptions {
  /** `--auth required`: anonymous may do nothing (401); users need a super user's rights or an ACL. */
  readonly authRequired: boolean;
  /**
   * Peers prove the cluster secret (`--cluster-secret-file`): replication's
   * calls are then taken from authenticated brokers alone, whatever --auth says.
   */
  readonly peersAuthenticated: boolean;
  /** `--super-users`: principals (`User:admin`) that may do everything, ACLs or not. */
  readonly superUsers: readonly string[];
  /** The ACLs now in force (the credential store's, which replication keeps equal on every broker). */
  readonly acls: () => readonly AclBinding[];
}

/**
 * The AccessPolicy of a broker with authentication: Kafka's authorizer
 * rules, checked in the domain's gate for every door.
 *
 * - Replication's calls (`replicate`) are a broker's alone once peers
 *   authenticate or auth is required: a user, even a super user, cannot
 *   open a stream, ack or announce a leader.
 * - A broker principal may replicate and describe the cluster, nothing else.
 * - With `--auth off`, anyone else may do anything else (the loopback
 *   default's trust).
 * - With `--auth required`: anonymous gets 401; a super user may do
 *   anything; any other user needs an ACL that allows and none that denies.
 */
export class Authorizer implements AccessPolicy {
  private readonly superUsers: ReadonlySet<string>;

  constructor(private readonly options: AuthorizerOptions) {
    this.superUsers = new Set(options.superUsers);
  }

  check(principal: Principal, operation: Operation, resource: Resource): void {
    const refusal = this.refusal(principal, operation, resource);
    if (refusal !== undefined) throw refusal;
  }

  allows(principal: Principal, operation: Operation, resource: Resource): boolean {
    return this.refusal(principal, operation, resource) === undefined;
  }

  checkAuthenticated(principal: Principal): void {
    if (this.options.authRequired && principal.kind === "anonymous") throw unauthenticated(AUTHENTICATION_REQUIRED);
  }

  private refusal(principal: Principal, operation: Operation, resource: Resource): GafkaError | undefined {
    const { authRequired, peersAuthenticated } = this.options;
    if (operation === "replicate") {
      if (principal.kind === "broker" || !(authRequired || peersAuthenticated)) return undefined;
      if (principal.kind === "anonymous") return unauthenticated("replication calls need the cluster secret (a broker of this cluster)");
      return forbidden(principal, "replication calls are taken from brokers of this cluster only");
    }
    if (principal.kind === "broker") {
      return operation === "describe_cluster" ? undefined : forbidden(principal, `a broker may not ${operation.replaceAll("_", " ")}`);
    }
    if (!authRequired) return undefined;
    if (principal.kind === "anonymous") return unauthenticated(AUTHENTICATION_REQUIRED);
    if (this.superUsers.has(principalName(principal))) return undefined;
    const aclOperation = ACL_OPERATION[operation];
    if (aclDecision(this.options.acls(), principal, aclOperation, resource) === "allow") return undefined;
    return forbidden(principal, `${principalName(principal)} may not ${aclOperation} ${describeResource(resource)} (no ACL allows it, or one denies it)`);
  }
}

const AUTHENTICATION_REQUIRED = "this broker requires authentication (HTTP Basic or a bearer token)";

function describeResource(resource: Resource): string {
  switch (resource.kind) {
    case "topic":
      return `topic '${resource.name}'`;
    case "group":
      return `group '${resource.id}'`;
    case "cluster":
      return "the cluster";
  }
}

function unauthenticated(message: string): GafkaError {
  return new GafkaError("unauthenticated", message);
}

function forbidden(principal: Principal, message: string): GafkaError {
  return new GafkaError("forbidden", message, { details: { principal: principalName(principal) } });
}

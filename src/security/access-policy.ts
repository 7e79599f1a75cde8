import type { Principal } from "./principal.ts";
import type { Operation, Resource } from "./operations.ts";

/**
 * Whether a principal may do an operation on a resource: the "who may" half
 * of the domain's gate (the other half, whether this broker may take a write
 * now, is replication's). Every door asks through the gate, never the policy
 * directly, so HTTP and the Kafka listener enforce the same rules.
 */
export interface AccessPolicy {
  /**
   * Throws GafkaError `unauthenticated` (401) when the operation needs an
   * authenticated principal and this one is anonymous, `forbidden` (403)
   * when the principal is known but not allowed.
   */
  check(principal: Principal, operation: Operation, resource: Resource): void;
  /** check() as a boolean, for filtering what a list shows. */
  allows(principal: Principal, operation: Operation, resource: Resource): boolean;
  /**
   * Throws GafkaError `unauthenticated` (401) when this policy takes nothing
   * from an anonymous principal: a list filtered item by item asks it first,
   * so that no credentials is a 401 rather than an empty list.
   */
  checkAuthenticated(principal: Principal): void;
}

/**
 * `--auth off` without a cluster secret: everyone may do everything, as
 * before authentication existed. Safe only where nobody else can reach the
 * port (the default bind, 127.0.0.1); a broker started so on another address
 * says so loudly.
 */
export const OPEN_POLICY: AccessPolicy = Object.freeze({
  check(): void {},
  allows(): boolean {
    return true;
  },
  checkAuthenticated(): void {},
});

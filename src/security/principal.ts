/**
 * Who asks. Every door (HTTP today, the Kafka listener later) names the
 * principal of each call, and the domain's gate (src/broker/write-gate.ts)
 * decides what it may do:
 *
 * - `anonymous`: no credentials. With `--auth off` (loopback by default) it
 *   may do everything, as before authentication existed; with
 *   `--auth required` it may do nothing but read /healthz.
 * - `user`: a person or an application, authenticated by a password (HTTP
 *   Basic, checked against its SCRAM credential) or a bearer token. ACLs
 *   name it `User:<name>`, as Kafka does.
 * - `broker`: another broker of this cluster, authenticated by the cluster
 *   secret. Only brokers may call replication's endpoints, and only a
 *   broker's leader-epoch header can fence a leader.
 */
export type Principal =
  | { readonly kind: "anonymous" }
  | { readonly kind: "user"; readonly name: string }
  | { readonly kind: "broker"; readonly brokerId: number };

export const ANONYMOUS: Principal = Object.freeze({ kind: "anonymous" });

export function userPrincipal(name: string): Principal {
  return Object.freeze({ kind: "user", name });
}

export function brokerPrincipal(brokerId: number): Principal {
  return Object.freeze({ kind: "broker", brokerId });
}

/** How ACLs and logs name a principal: `User:alice`, `Broker:2`, `User:ANONYMOUS` (Kafka's spelling). */
export function principalName(principal: Principal): string {
  switch (principal.kind) {
    case "anonymous":
      return "User:ANONYMOUS";
    case "user":
      return `User:${principal.name}`;
    case "broker":
      return `Broker:${principal.brokerId}`;
  }
}

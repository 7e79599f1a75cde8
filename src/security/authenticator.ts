import { GafkaError } from "../core/errors.ts";
import { ANONYMOUS, type Principal } from "./principal.ts";

/**
 * The schemes a request's `Authorization` header may use:
 * - `Basic base64(user:password)`: a user's password, checked against its
 *   SCRAM credential (the store a Kafka SASL/SCRAM door will use too);
 * - `Bearer <token>`: a token made by `admin tokens create`, stored hashed;
 * - `Gafka-Peer <proof>`: another broker of this cluster, proving it holds
 *   the cluster secret.
 */
export type AuthScheme = "basic" | "bearer" | "gafka-peer";

/** What the door saw of one request that proving who sent it may need. */
export interface PresentedRequest {
  /** `GET`, `POST`, ... */
  readonly method: string;
  /** The path without the query, e.g. `/api/v1/replication/ack`. */
  readonly path: string;
}

/** Checks the credentials of one scheme (everything after the scheme's name in the header). */
export interface CredentialVerifier {
  /** The principal the credentials prove; throws GafkaError `unauthenticated` when they prove nothing. */
  verify(credentials: string, request: PresentedRequest): Principal | Promise<Principal>;
}

/**
 * Turns a request's `Authorization` header into the principal every domain
 * call is then made for. No header: anonymous (the gate's policy decides
 * what anonymous may do). A header of a scheme this broker does not take, or
 * credentials that do not verify: 401 `unauthenticated`, never anonymous, so
 * a mistyped password is an error rather than a silent downgrade.
 */
export class Authenticator {
  constructor(private readonly verifiers: Partial<Record<AuthScheme, CredentialVerifier>>) {}

  authenticate(authorization: string | null, request: PresentedRequest): Principal | Promise<Principal> {
    if (authorization === null || authorization === "") return ANONYMOUS;
    const space = authorization.indexOf(" ");
    const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
    const verifier = Object.hasOwn(this.verifiers, scheme) ? this.verifiers[scheme as AuthScheme] : undefined;
    if (verifier === undefined) {
      throw new GafkaError("unauthenticated", `this broker does not take the '${scheme.slice(0, 32)}' authorization scheme; it takes ${this.schemes()}`);
    }
    return verifier.verify(space === -1 ? "" : authorization.slice(space + 1).trim(), request);
  }

  private schemes(): string {
    const names = Object.keys(this.verifiers);
    return names.length === 0 ? "none (no credentials are set up)" : names.join(", ");
  }
}

/** The authenticator of a broker that takes no credentials at all: every request is anonymous, a header is refused. */
export const NO_CREDENTIALS = new Authenticator({});

import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import type { CredentialVerifier } from "./authenticator.ts";
import { parseToken, tokenSecretSha256 } from "./credential-store.ts";
import { type Principal, userPrincipal } from "./principal.ts";
import type { TokenRecord } from "./security-snapshot.ts";

/** Where the verifier finds a token by its id (the CredentialStore). */
export interface TokenSource {
  token(id: string): TokenRecord | undefined;
}

/**
 * `Authorization: Bearer gafka_<id>_<secret>`: a token made by
 * CredentialStore.createToken. The id finds the token; the SHA-256 of the
 * secret must equal the stored hash (compared in constant time, and against
 * a random hash when the id is unknown, so both cost the same); a token past
 * its expires_at (wall clock) or revoked (gone from the store, as its user's
 * tokens are when the user is deleted) proves nothing. Success: the token's
 * user. Every failure is 401 `unauthenticated`; only a token whose secret
 * matched hears that it has expired.
 */
export class BearerVerifier implements CredentialVerifier {
  private readonly unknownTokenSha256 = new Uint8Array(randomBytes(32));

  constructor(
    private readonly store: TokenSource,
    private readonly clock: Clock,
  ) {}

  verify(credentials: string): Principal {
    const parsed = parseToken(credentials);
    if (parsed === undefined) throw new GafkaError("unauthenticated", "the bearer token is malformed (expected gafka_<id>_<secret>)");
    const token = this.store.token(parsed.id);
    const matches = timingSafeEqual(tokenSecretSha256(parsed.secret), token?.secretSha256 ?? this.unknownTokenSha256);
    if (!matches || token === undefined) throw new GafkaError("unauthenticated", "the bearer token is not valid (unknown, revoked, or wrong)");
    if (token.expiresAtMs !== null && this.clock.nowMs() >= token.expiresAtMs) throw new GafkaError("unauthenticated", `the bearer token ${token.id} has expired`);
    return userPrincipal(token.user);
  }
}

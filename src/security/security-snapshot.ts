import { limits, userNameProblem } from "../core/limits.ts";
import type { AclBinding } from "./acl.ts";
import { aclBindingProblem, canonicalAcl } from "./acl-filter.ts";
import { isScramMechanism, SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism, scramIterationsProblem, scramKeyBytes } from "./scram.ts";

/**
 * The credential store's whole state, and its JSON form: the body of
 * `<dataDir>/security.json` and what a leader sends its followers. It holds
 * no password and no token secret, only SCRAM keys and SHA-256 hashes:
 *
 * ```json
 * {"version": 1, "state_version": 7,
 *  "users": [{"name": "alice", "scram": [
 *     {"mechanism": "SCRAM-SHA-256", "salt": "<base64>", "iterations": 4096,
 *      "stored_key": "<base64>", "server_key": "<base64>"},
 *     {"mechanism": "SCRAM-SHA-512", ...}]}],
 *  "tokens": [{"id": "<16 hex>", "user": "alice", "secret_sha256": "<64 hex>",
 *     "created_at_ms": 1764000000000, "expires_at_ms": null, "description": "ci"}],
 *  "acls": [{"principal": "User:alice", "resource_type": "topic", "resource_name": "orders",
 *     "pattern_type": "literal", "operation": "read", "permission": "allow"}]}
 * ```
 *
 * `version` is the format (1); `state_version` grows by one with every
 * change, so two copies with the same state_version hold the same state.
 */
export const SECURITY_FORMAT_VERSION = 1;

export interface TokenRecord {
  /** 16 hex characters; not secret (listed, logged, and what revoke names). */
  readonly id: string;
  readonly user: string;
  /** SHA-256 of the secret part of the token string (its ASCII hex), 32 bytes. */
  readonly secretSha256: Uint8Array;
  readonly createdAtMs: number;
  /** Wall-clock ms after which the token no longer authenticates; null: never expires. */
  readonly expiresAtMs: number | null;
  readonly description: string;
}

export interface UserRecord {
  readonly name: string;
  readonly credentials: Readonly<Partial<Record<ScramMechanism, ScramCredential>>>;
}

export interface SecurityState {
  readonly stateVersion: number;
  readonly users: ReadonlyMap<string, UserRecord>;
  readonly tokens: ReadonlyMap<string, TokenRecord>;
  readonly acls: readonly AclBinding[];
}

/** The JSON form (see the module comment). */
export interface SecuritySnapshot {
  readonly version: number;
  readonly state_version: number;
  readonly users: readonly {
    readonly name: string;
    readonly scram: readonly { mechanism: ScramMechanism; salt: string; iterations: number; stored_key: string; server_key: string }[];
  }[];
  readonly tokens: readonly {
    id: string;
    user: string;
    secret_sha256: string;
    created_at_ms: number;
    expires_at_ms: number | null;
    description: string;
  }[];
  readonly acls: readonly {
    principal: string;
    resource_type: string;
    resource_name: string;
    pattern_type: string;
    operation: string;
    permission: string;
  }[];
}

export const EMPTY_SECURITY_STATE: SecurityState = Object.freeze({ stateVersion: 0, users: new Map(), tokens: new Map(), acls: [] });

export const TOKEN_ID_PATTERN = /^[0-9a-f]{16}$/;

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

export function encodeSecurityState(state: SecurityState): SecuritySnapshot {
  return {
    version: SECURITY_FORMAT_VERSION,
    state_version: state.stateVersion,
    users: [...state.users.values()].map((user) => ({
      name: user.name,
      scram: SCRAM_MECHANISMS.flatMap((mechanism) => {
        const credential = user.credentials[mechanism];
        if (credential === undefined) return [];
        const { salt, iterations, storedKey, serverKey } = credential;
        return [{ mechanism, salt: base64(salt), iterations, stored_key: base64(storedKey), server_key: base64(serverKey) }];
      }),
    })),
    tokens: [...state.tokens.values()].map((token) => ({
      id: token.id,
      user: token.user,
      secret_sha256: Buffer.from(token.secretSha256).toString("hex"),
      created_at_ms: token.createdAtMs,
      expires_at_ms: token.expiresAtMs,
      description: token.description,
    })),
    acls: state.acls.map(aclBindingJson),
  };
}

/** Thrown by decodeSecuritySnapshot: what is wrong, for the caller to wrap (a damaged file, a bad snapshot). */
class SnapshotProblem extends Error {}

function check(condition: boolean, problem: string): asserts condition {
  if (!condition) throw new SnapshotProblem(problem);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isTimeMs = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

function decodeBase64(value: unknown, what: string): Uint8Array {
  check(typeof value === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0, `${what} is not base64`);
  return new Uint8Array(Buffer.from(value, "base64"));
}

function decodeCredential(value: unknown, user: string): ScramCredential {
  check(isRecord(value) && isScramMechanism(value.mechanism), `user '${user}': a credential without a SCRAM mechanism`);
  const mechanism = value.mechanism;
  check(scramIterationsProblem(value.iterations) === undefined, `user '${user}' ${mechanism}: iterations out of bounds`);
  const salt = decodeBase64(value.salt, `user '${user}' ${mechanism} salt`);
  const storedKey = decodeBase64(value.stored_key, `user '${user}' ${mechanism} stored_key`);
  const serverKey = decodeBase64(value.server_key, `user '${user}' ${mechanism} server_key`);
  check(salt.length > 0 && salt.length <= 128, `user '${user}' ${mechanism}: salt length`);
  check(storedKey.length === scramKeyBytes(mechanism) && serverKey.length === scramKeyBytes(mechanism), `user '${user}' ${mechanism}: key length`);
  return Object.freeze({ mechanism, salt, iterations: value.iterations as number, storedKey, serverKey });
}

function decodeUser(value: unknown): UserRecord {
  check(isRecord(value) && userNameProblem(value.name) === undefined, "a user with an invalid name");
  const name = value.name as string;
  check(Array.isArray(value.scram), `user '${name}': no scram credentials`);
  const credentials: Partial<Record<ScramMechanism, ScramCredential>> = {};
  for (const entry of value.scram) {
    const credential = decodeCredential(entry, name);
    check(credentials[credential.mechanism] === undefined, `user '${name}': ${credential.mechanism} twice`);
    credentials[credential.mechanism] = credential;
  }
  return Object.freeze({ name, credentials: Object.freeze(credentials) });
}

function decodeToken(value: unknown, users: ReadonlyMap<string, UserRecord>): TokenRecord {
  check(isRecord(value) && typeof value.id === "string" && TOKEN_ID_PATTERN.test(value.id), "a token with an invalid id");
  const id = value.id;
  check(typeof value.user === "string" && users.has(value.user), `token ${id}: its user does not exist`);
  check(typeof value.secret_sha256 === "string" && /^[0-9a-f]{64}$/.test(value.secret_sha256), `token ${id}: secret_sha256 is not 64 hex digits`);
  check(isTimeMs(value.created_at_ms), `token ${id}: created_at_ms`);
  check(value.expires_at_ms === null || isTimeMs(value.expires_at_ms), `token ${id}: expires_at_ms`);
  check(typeof value.description === "string" && value.description.length <= limits.tokenDescriptionLengthMax, `token ${id}: description`);
  return Object.freeze({
    id,
    user: value.user,
    secretSha256: new Uint8Array(Buffer.from(value.secret_sha256, "hex")),
    createdAtMs: value.created_at_ms,
    expiresAtMs: value.expires_at_ms as number | null,
    description: value.description,
  });
}

function decodeAcl(value: unknown): AclBinding {
  check(isRecord(value), "an ACL that is not an object");
  const binding = {
    principal: value.principal,
    resourceType: value.resource_type,
    resourceName: value.resource_name,
    patternType: value.pattern_type,
    operation: value.operation,
    permission: value.permission,
  };
  const problem = aclBindingProblem(binding);
  check(problem === undefined, `an invalid ACL: ${problem}`);
  return canonicalAcl(binding as AclBinding);
}

/**
 * The state a snapshot (or security.json's body) describes, every field
 * checked and every limit applied; throws an Error saying what is wrong.
 */
export function decodeSecuritySnapshot(value: unknown): SecurityState {
  check(isRecord(value), "not a JSON object");
  check(value.version === SECURITY_FORMAT_VERSION, `not format version ${SECURITY_FORMAT_VERSION}`);
  check(isTimeMs(value.state_version), "state_version is not a non-negative integer");
  check(Array.isArray(value.users) && Array.isArray(value.tokens) && Array.isArray(value.acls), "users, tokens and acls must be arrays");
  check(value.users.length <= limits.usersMax, `more than ${limits.usersMax} users`);
  check(value.tokens.length <= limits.tokensMax, `more than ${limits.tokensMax} tokens`);
  check(value.acls.length <= limits.aclsMax, `more than ${limits.aclsMax} ACLs`);
  const users = new Map<string, UserRecord>();
  for (const entry of value.users) {
    const user = decodeUser(entry);
    check(!users.has(user.name), `user '${user.name}' twice`);
    users.set(user.name, user);
  }
  const tokens = new Map<string, TokenRecord>();
  for (const entry of value.tokens) {
    const token = decodeToken(entry, users);
    check(!tokens.has(token.id), `token ${token.id} twice`);
    tokens.set(token.id, token);
  }
  return Object.freeze({ stateVersion: value.state_version, users, tokens, acls: Object.freeze(value.acls.map(decodeAcl)) });
}

export function isSnapshotProblem(error: unknown): error is Error {
  return error instanceof SnapshotProblem;
}

/** An ACL binding as security.json, the replication stream and the HTTP API write it (snake_case, docs/api.md). */
export function aclBindingJson(acl: AclBinding) {
  return {
    principal: acl.principal,
    resource_type: acl.resourceType,
    resource_name: acl.resourceName,
    pattern_type: acl.patternType,
    operation: acl.operation,
    permission: acl.permission,
  };
}

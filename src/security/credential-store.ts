import { createHash, randomBytes } from "node:crypto";
import * as path from "node:path";
import type { Clock } from "../core/clock.ts";
import { GafkaError, invalidRequest, storageError } from "../core/errors.ts";
import { limits, userNameProblem } from "../core/limits.ts";
import type { FileSystem } from "../storage/file-system.ts";
import type { AclBinding } from "./acl.ts";
import { type AclFilter, aclBindingProblem, aclFilterProblem, aclMatchesFilter, canonicalAcl, sameAcl } from "./acl-filter.ts";
import { createScramCredential, SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism } from "./scram.ts";
import {
  decodeSecuritySnapshot,
  EMPTY_SECURITY_STATE,
  encodeSecurityState,
  isSnapshotProblem,
  type SecuritySnapshot,
  type SecurityState,
  type TokenRecord,
  type UserRecord,
} from "./security-snapshot.ts";

export const SECURITY_FILE_NAME = "security.json";

/** What listUsers shows of a user: names and mechanisms, never keys. */
export interface UserInfo {
  readonly name: string;
  readonly mechanisms: readonly { mechanism: ScramMechanism; iterations: number }[];
}

/** What listTokens shows of a token: everything but its hash. */
export interface TokenInfo {
  readonly id: string;
  readonly user: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number | null;
  readonly description: string;
}

/** The prefix of every token string: `gafka_<16 hex id>_<64 hex secret>`. */
export const TOKEN_PREFIX = "gafka_";
const TOKEN_PATTERN = /^gafka_([0-9a-f]{16})_([0-9a-f]{64})$/;

/** The id and secret of a token string, or undefined when it does not have the shape createToken gives. */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(token);
  return match === null ? undefined : { id: match[1], secret: match[2] };
}

/** What a token's secret is stored as: SHA-256 of its 64 hex characters. A secret has 256 random bits, so no salt or stretching is needed. */
export function tokenSecretSha256(secret: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(secret).digest());
}

const userNotFound = (name: string) => new GafkaError("user_not_found", `user '${name}' does not exist`, { details: { user: name } });

function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== "string") return "password must be a string";
  const bytes = Buffer.byteLength(password, "utf8");
  if (bytes < limits.passwordBytesMin || bytes > limits.passwordBytesMax) {
    return `password must be ${limits.passwordBytesMin} to ${limits.passwordBytesMax} bytes long (UTF-8)`;
  }
  return undefined;
}

function checkUserName(name: unknown): asserts name is string {
  const problem = userNameProblem(name);
  if (problem !== undefined) throw invalidRequest(problem);
}

/** A copy of the state to change: the maps and list are new, the records in them shared (they are frozen). */
interface Draft {
  users: Map<string, UserRecord>;
  tokens: Map<string, TokenRecord>;
  acls: AclBinding[];
}

/**
 * Users (SCRAM-SHA-256 and -512 credentials), bearer tokens (hashed) and
 * ACL bindings: the cluster's credential store, source of truth in
 * `<dataDir>/security.json` (format in security-snapshot.ts).
 *
 * Durability: every change is written whole through
 * FileSystem.writeFileAtomic (temp file, fsync, rename, directory fsync)
 * and is on disk before its promise resolves; readers see it only then. A
 * failed write changes nothing (503 storage_full / storage_failed). Changes
 * run one at a time in call order; `version` grows by one with each.
 *
 * Replication: a leader's `snapshot()` is adopted whole by a follower
 * (`adopt`), which then has the same `version`; `onChange` tells the leader
 * when there is a new state to send.
 */
export class CredentialStore {
  private changes: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly filePath: string,
    private readonly fs: FileSystem,
    private readonly clock: Clock,
    private state: SecurityState,
  ) {}

  /** Reads `<dataDir>/security.json`; an empty store (version 0) when there is none. Throws naming the file when it is damaged. */
  static load(dataDir: string, fs: FileSystem, clock: Clock): CredentialStore {
    const filePath = path.join(dataDir, SECURITY_FILE_NAME);
    if (!fs.exists(filePath)) return new CredentialStore(filePath, fs, clock, EMPTY_SECURITY_STATE);
    let state: SecurityState;
    try {
      state = decodeSecuritySnapshot(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fs.readFile(filePath))));
    } catch (error) {
      throw new Error(`${filePath} is damaged: ${error instanceof Error ? error.message : String(error)}`);
    }
    return new CredentialStore(filePath, fs, clock, state);
  }

  /**
   * Calls `listener` after every change of the state (adopt included), once
   * it is durable and readers see it. Called synchronously, one call per
   * change: a listener that does work per call coalesces it itself. It must
   * not throw (the change is made by then). Returns the function that
   * removes it.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Grows by one with every change; 0 for a store that never had one. */
  get version(): number {
    return this.state.stateVersion;
  }

  /** A user's credential for `mechanism`; undefined when there is no such user or it has none of that mechanism. */
  scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.state.users.get(user)?.credentials[mechanism];
  }

  token(id: string): TokenRecord | undefined {
    return this.state.tokens.get(id);
  }

  /** Every ACL binding, for the authorizer. */
  get acls(): readonly AclBinding[] {
    return this.state.acls;
  }

  listUsers(): UserInfo[] {
    return [...this.state.users.values()].map((user) => ({
      name: user.name,
      mechanisms: SCRAM_MECHANISMS.flatMap((mechanism) => {
        const credential = user.credentials[mechanism];
        return credential === undefined ? [] : [{ mechanism, iterations: credential.iterations }];
      }),
    }));
  }

  /** Every token (of `user` when given), expired ones included, without hashes. */
  listTokens(user?: string): TokenInfo[] {
    return [...this.state.tokens.values()]
      .filter((token) => user === undefined || token.user === user)
      .map(({ id, user, createdAtMs, expiresAtMs, description }) => ({ id, user, createdAtMs, expiresAtMs, description }));
  }

  listAcls(filter: AclFilter = {}): AclBinding[] {
    const problem = aclFilterProblem(filter);
    if (problem !== undefined) throw invalidRequest(problem);
    return this.state.acls.filter((binding) => aclMatchesFilter(binding, filter));
  }

  /** The whole state, keys and hashes only (never a password or token secret), for a follower to adopt. */
  snapshot(): SecuritySnapshot {
    return encodeSecurityState(this.state);
  }

  /**
   * Replaces the whole state by `snapshot` (a leader's), durably, its
   * version included. A snapshot that does not check out is 400 and
   * changes nothing. Whether a snapshot is newer is the caller's call.
   */
  adopt(snapshot: unknown): Promise<void> {
    return this.serialized(async () => {
      let next: SecurityState;
      try {
        next = decodeSecuritySnapshot(snapshot);
      } catch (error) {
        if (!isSnapshotProblem(error)) throw error;
        throw invalidRequest(`the security snapshot is invalid: ${error.message}`);
      }
      await this.write(next);
    });
  }

  /**
   * A new user with a password: both SCRAM mechanisms, each with its own
   * random salt and `iterations` (default 4096). 409 user_exists when the
   * name is taken; 400 for a bad name, password or iteration count.
   */
  async addUser(name: string, password: string, options: { iterations?: number } = {}): Promise<void> {
    checkUserName(name);
    if (this.state.users.has(name)) throw new GafkaError("user_exists", `user '${name}' already exists`, { details: { user: name } });
    const credentials = await this.credentialsFor(password, options.iterations);
    await this.change((draft) => {
      if (draft.users.has(name)) throw new GafkaError("user_exists", `user '${name}' already exists`, { details: { user: name } });
      if (draft.users.size >= limits.usersMax) throw invalidRequest(`the cluster has ${limits.usersMax} users, the most it may have`);
      draft.users.set(name, Object.freeze({ name, credentials }));
    });
  }

  /**
   * A new password for an existing user (both mechanisms, fresh salts);
   * 404 user_not_found otherwise. The user's tokens stay valid: revoke them
   * to cut off a leaked password's tokens too.
   */
  async setPassword(name: string, password: string, options: { iterations?: number } = {}): Promise<void> {
    checkUserName(name);
    if (!this.state.users.has(name)) throw userNotFound(name);
    const credentials = await this.credentialsFor(password, options.iterations);
    await this.change((draft) => {
      if (!draft.users.has(name)) throw userNotFound(name);
      draft.users.set(name, Object.freeze({ name, credentials }));
    });
  }

  /**
   * Sets one mechanism's credential, creating the user when missing, as
   * Kafka's AlterUserScramCredentials upsertion does (it carries a salted
   * password, never the password). The user's other mechanism is untouched.
   */
  async upsertScramCredential(name: string, credential: ScramCredential): Promise<void> {
    checkUserName(name);
    await this.change((draft) => {
      const existing = draft.users.get(name);
      if (existing === undefined && draft.users.size >= limits.usersMax) throw invalidRequest(`the cluster has ${limits.usersMax} users, the most it may have`);
      const credentials = Object.freeze({ ...existing?.credentials, [credential.mechanism]: Object.freeze({ ...credential }) });
      draft.users.set(name, Object.freeze({ name, credentials }));
    });
  }

  /** Removes a user and every token of theirs; 404 user_not_found. ACLs naming the user stay, as in Kafka. Resolves to the number of tokens removed. */
  async deleteUser(name: string): Promise<number> {
    checkUserName(name);
    return this.change((draft) => {
      if (!draft.users.delete(name)) throw userNotFound(name);
      let removed = 0;
      for (const [id, token] of draft.tokens) {
        if (token.user === name) {
          draft.tokens.delete(id);
          removed++;
        }
      }
      return removed;
    });
  }

  /**
   * A new bearer token for `user` (404 user_not_found): the token string,
   * `gafka_<id>_<secret>`, is returned here once and stored only as the
   * SHA-256 of its secret. Expired tokens are dropped in the same change.
   */
  async createToken(user: string, options: { expiresInMs?: number; description?: string } = {}): Promise<{ token: string; info: TokenInfo }> {
    checkUserName(user);
    const { expiresInMs, description = "" } = options;
    if (expiresInMs !== undefined && (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0 || expiresInMs > limits.tokenLifetimeMsMax)) {
      throw invalidRequest(`a token's lifetime must be 1 to ${limits.tokenLifetimeMsMax} ms`);
    }
    if (typeof description !== "string" || description.length > limits.tokenDescriptionLengthMax) {
      throw invalidRequest(`a token's description must be a string of at most ${limits.tokenDescriptionLengthMax} characters`);
    }
    return this.change((draft) => {
      if (!draft.users.has(user)) throw userNotFound(user);
      const nowMs = this.clock.nowMs();
      for (const [id, token] of draft.tokens) if (token.expiresAtMs !== null && token.expiresAtMs <= nowMs) draft.tokens.delete(id);
      if (draft.tokens.size >= limits.tokensMax) throw invalidRequest(`the cluster has ${limits.tokensMax} tokens, the most it may have`);
      let id = randomBytes(8).toString("hex");
      while (draft.tokens.has(id)) id = randomBytes(8).toString("hex");
      const secret = randomBytes(32).toString("hex");
      const record: TokenRecord = Object.freeze({
        id,
        user,
        secretSha256: tokenSecretSha256(secret),
        createdAtMs: nowMs,
        expiresAtMs: expiresInMs === undefined ? null : nowMs + expiresInMs,
        description,
      });
      draft.tokens.set(id, record);
      return { token: `${TOKEN_PREFIX}${id}_${secret}`, info: { id, user, createdAtMs: nowMs, expiresAtMs: record.expiresAtMs, description } };
    });
  }

  /** Removes a token; 404 token_not_found. From then on it authenticates nothing. */
  async revokeToken(id: string): Promise<void> {
    await this.change((draft) => {
      if (!draft.tokens.delete(id)) throw new GafkaError("token_not_found", `token '${String(id).slice(0, 64)}' does not exist`, { details: { token_id: id } });
    });
  }

  /** Adds an ACL binding (every field checked: 400); resolves false, changing nothing, when the same binding exists. */
  async addAcl(binding: AclBinding): Promise<boolean> {
    const problem = aclBindingProblem(binding);
    if (problem !== undefined) throw invalidRequest(problem);
    const acl = canonicalAcl(binding);
    if (this.state.acls.some((existing) => sameAcl(existing, acl))) return false;
    return this.change((draft) => {
      if (draft.acls.some((existing) => sameAcl(existing, acl))) return false;
      if (draft.acls.length >= limits.aclsMax) throw invalidRequest(`the cluster has ${limits.aclsMax} ACLs, the most it may have`);
      draft.acls.push(acl);
      return true;
    });
  }

  /**
   * Removes every binding that matches `filter` (each field given must
   * equal; a full binding removes exactly itself; `{}` removes all, as
   * kafka-acls --remove with no filter does), and resolves to them. None
   * matching changes nothing, not even the version.
   */
  async removeAcls(filter: AclFilter): Promise<AclBinding[]> {
    const problem = aclFilterProblem(filter);
    if (problem !== undefined) throw invalidRequest(problem);
    if (!this.state.acls.some((binding) => aclMatchesFilter(binding, filter))) return [];
    return this.change((draft) => {
      const removed = draft.acls.filter((binding) => aclMatchesFilter(binding, filter));
      draft.acls = draft.acls.filter((binding) => !aclMatchesFilter(binding, filter));
      return removed;
    });
  }

  private async credentialsFor(password: string, iterations: number | undefined): Promise<Partial<Record<ScramMechanism, ScramCredential>>> {
    const problem = passwordProblem(password);
    if (problem !== undefined) throw invalidRequest(problem);
    const [sha256, sha512] = await Promise.all(SCRAM_MECHANISMS.map((mechanism) => createScramCredential(mechanism, password, { iterations })));
    return Object.freeze({ "SCRAM-SHA-256": sha256, "SCRAM-SHA-512": sha512 });
  }

  /**
   * Applies `edit` to a copy of the current state (after every earlier
   * change), writes the result as the next version, and only then makes it
   * current. `edit` throwing changes nothing.
   */
  private change<T>(edit: (draft: Draft) => T): Promise<T> {
    return this.serialized(async () => {
      const draft: Draft = { users: new Map(this.state.users), tokens: new Map(this.state.tokens), acls: [...this.state.acls] };
      const result = edit(draft);
      await this.write(Object.freeze({ stateVersion: this.state.stateVersion + 1, users: draft.users, tokens: draft.tokens, acls: Object.freeze(draft.acls) }));
      return result;
    });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.changes.then(work);
    this.changes = result.catch(() => undefined);
    return result;
  }

  private async write(next: SecurityState): Promise<void> {
    const body = new TextEncoder().encode(`${JSON.stringify(encodeSecurityState(next))}\n`);
    try {
      await this.fs.writeFileAtomic(this.filePath, body);
    } catch (error) {
      throw storageError(`could not write ${this.filePath}`, error);
    }
    this.state = next;
    for (const listener of this.listeners) listener();
  }
}

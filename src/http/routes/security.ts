import { invalidRequest } from "../../core/errors.ts";
import { parseDurationMs } from "../../core/duration.ts";
import type { AclBinding } from "../../security/acl.ts";
import type { AclFilter } from "../../security/acl-filter.ts";
import type { TokenInfo, UserInfo } from "../../security/credential-store.ts";
import { principalOf, readJsonObject } from "../request.ts";
import type { Route, RouteContext } from "../route.ts";
import { aclBindingJson } from "../../security/security-snapshot.ts";

/**
 * Users, bearer tokens and ACL bindings (docs/api.md "Security"). The door
 * only turns JSON into calls on the SecurityAdmin: the gate (who may, and
 * only the leader takes a change) and the values' checks are the domain's.
 * Secrets never leave: a listing shows names, mechanisms and token ids; a
 * token string is in its creation's answer alone.
 */

/** The ACL fields on the wire (snake_case) and in the domain. */
const ACL_FIELDS = {
  principal: "principal",
  resource_type: "resourceType",
  resource_name: "resourceName",
  pattern_type: "patternType",
  operation: "operation",
  permission: "permission",
} as const satisfies Record<string, keyof AclBinding>;

/** 400 naming the first field of `body` not in `allowed`: a misspelt optional field must not be ignored. */
function refuseUnknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw invalidRequest(`unknown field '${unknown.slice(0, 64)}'; expected ${allowed.join(", ")}`, { field: unknown.slice(0, 64) });
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== "string") throw invalidRequest(`field '${name}' is required and must be a string`, { field: name });
  return value;
}

function iterationsField(body: Record<string, unknown>): { iterations?: number } {
  if (body.iterations === undefined) return {};
  if (typeof body.iterations !== "number") throw invalidRequest("field 'iterations' must be a number", { field: "iterations" });
  return { iterations: body.iterations };
}

function userParameter(request: Bun.BunRequest): string {
  return (request.params as Record<string, string>).name ?? "";
}

function userJson(user: UserInfo) {
  return { name: user.name, mechanisms: user.mechanisms.map(({ mechanism, iterations }) => ({ mechanism, iterations })) };
}

function tokenJson(token: TokenInfo) {
  return { id: token.id, user: token.user, created_at: token.createdAtMs, expires_at: token.expiresAtMs, description: token.description };
}

/** The ACL fields of `source` (a body or a query), renamed for the domain; unknown names are 400, values are the store's to check. */
function aclFieldsOf(source: Record<string, unknown>): Record<string, unknown> {
  refuseUnknownFields(source, Object.keys(ACL_FIELDS));
  const fields: Record<string, unknown> = {};
  for (const [wire, domain] of Object.entries(ACL_FIELDS)) if (source[wire] !== undefined) fields[domain] = source[wire];
  return fields;
}

/** GET /api/v1/security/users → {"users": [{"name", "mechanisms": [{"mechanism", "iterations"}]}]}, by name. */
function listUsers(request: Request, context: RouteContext): Response {
  return Response.json({ users: context.security.listUsers(principalOf(request)).map(userJson) });
}

/** POST /api/v1/security/users {"name", "password", "iterations"?} → 201 {"name", "mechanisms"}. */
async function addUser(request: Request, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  refuseUnknownFields(body, ["name", "password", "iterations"]);
  const name = stringField(body, "name");
  await context.security.addUser(principalOf(request), name, stringField(body, "password"), iterationsField(body));
  const user = context.security.store.listUsers().find((candidate) => candidate.name === name);
  return Response.json(user === undefined ? { name, mechanisms: [] } : userJson(user), { status: 201 });
}

/** DELETE /api/v1/security/users/{name} → {"deleted": name, "tokens_removed": N}. */
async function deleteUser(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const name = userParameter(request);
  const tokensRemoved = await context.security.deleteUser(principalOf(request), name);
  return Response.json({ deleted: name, tokens_removed: tokensRemoved });
}

/** POST /api/v1/security/users/{name}/password {"password", "iterations"?} → {"updated": name}. */
async function setPassword(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const name = userParameter(request);
  const body = await readJsonObject(request, context.requestBytesMax);
  refuseUnknownFields(body, ["password", "iterations"]);
  await context.security.setPassword(principalOf(request), name, stringField(body, "password"), iterationsField(body));
  return Response.json({ updated: name });
}

/** GET /api/v1/security/tokens[?user=NAME] → {"tokens": [...]}, oldest first, never a secret. */
function listTokens(request: Request, context: RouteContext): Response {
  const query = new URL(request.url).searchParams;
  refuseUnknownFields(Object.fromEntries(query), ["user"]);
  const tokens = context.security.listTokens(principalOf(request), query.get("user") ?? undefined);
  return Response.json({ tokens: tokens.map(tokenJson) });
}

/**
 * `expires_in`: a duration as the API's other durations take it ("30s",
 * "24h", or a number of milliseconds); absent for a token that never expires.
 */
function expiresInField(body: Record<string, unknown>): { expiresInMs?: number } {
  const value = body.expires_in;
  if (value === undefined) return {};
  const ms = typeof value === "number" ? value : typeof value === "string" ? parseDurationMs(value, { bareNumberUnit: "ms" }) : undefined;
  if (ms === undefined) throw invalidRequest("field 'expires_in' must be a duration such as 30m, 24h or 720h (or a number of milliseconds)", { field: "expires_in" });
  return { expiresInMs: ms };
}

/** POST /api/v1/security/tokens {"user", "expires_in"?, "description"?} → 201 {"token", "id", ...}: the token is shown this once. */
async function createToken(request: Request, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  refuseUnknownFields(body, ["user", "expires_in", "description"]);
  const user = stringField(body, "user");
  if (body.description !== undefined && typeof body.description !== "string") throw invalidRequest("field 'description' must be a string", { field: "description" });
  const description = body.description as string | undefined;
  const created = await context.security.createToken(principalOf(request), user, { ...expiresInField(body), ...(description === undefined ? {} : { description }) });
  return Response.json({ token: created.token, ...tokenJson(created.info) }, { status: 201 });
}

/** DELETE /api/v1/security/tokens/{id} → {"revoked": id}. */
async function revokeToken(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const id = (request.params as Record<string, string>).id ?? "";
  await context.security.revokeToken(principalOf(request), id);
  return Response.json({ revoked: id });
}

/** GET /api/v1/security/acls[?principal=&resource_type=&resource_name=&pattern_type=&operation=&permission=] → {"acls": [...]}. */
function listAcls(request: Request, context: RouteContext): Response {
  const filter = aclFieldsOf(Object.fromEntries(new URL(request.url).searchParams)) as AclFilter;
  return Response.json({ acls: context.security.listAcls(principalOf(request), filter).map(aclBindingJson) });
}

/** POST /api/v1/security/acls {binding} → 201 {"acl", "created": true}, or 200 with created false when it existed. */
async function addAcl(request: Request, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  const binding = aclFieldsOf(body) as unknown as AclBinding;
  const created = await context.security.addAcl(principalOf(request), binding);
  return Response.json({ acl: aclBindingJson(binding), created }, { status: created ? 201 : 200 });
}

/** POST /api/v1/security/acls/delete {filter} → {"removed": [...]}: every binding matching the filter ({} matches all, as kafka-acls --remove). */
async function removeAcls(request: Request, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  const filter = aclFieldsOf(body) as AclFilter;
  const removed = await context.security.removeAcls(principalOf(request), filter);
  return Response.json({ removed: removed.map(aclBindingJson) });
}

export const securityRoutes: Route[] = [
  { method: "GET", path: "/api/v1/security/users", handle: listUsers },
  { method: "POST", path: "/api/v1/security/users", handle: addUser },
  { method: "DELETE", path: "/api/v1/security/users/{name}", handle: deleteUser },
  { method: "POST", path: "/api/v1/security/users/{name}/password", handle: setPassword },
  { method: "GET", path: "/api/v1/security/tokens", handle: listTokens },
  { method: "POST", path: "/api/v1/security/tokens", handle: createToken },
  { method: "DELETE", path: "/api/v1/security/tokens/{id}", handle: revokeToken },
  { method: "GET", path: "/api/v1/security/acls", handle: listAcls },
  { method: "POST", path: "/api/v1/security/acls", handle: addAcl },
  { method: "POST", path: "/api/v1/security/acls/delete", handle: removeAcls },
];

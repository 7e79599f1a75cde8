import { defineCommand } from "citty";
import { Admin, type TokenSummary } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { durationArg } from "./duration-arg.ts";
import { brokerArgs, logLevelArgs, oneShotClientOptions } from "./shared-args.ts";
import { cell, table } from "./table.ts";

/**
 * `gafka admin tokens create|list|revoke`: bearer tokens of a user. A
 * token is printed once, at its creation (alone on stdout, so
 * `gafka admin tokens create --owner alice > alice.token` keeps it); the
 * broker keeps only its hash.
 */

const jsonArgs = { json: { type: "boolean", description: "Print the answer as JSON", default: false } } as const;
const clientArgs = { ...brokerArgs, ...logLevelArgs("warn") } as const;

/** As the HTTP API answers a token (docs/api.md). */
function tokenJson(token: TokenSummary) {
  return { id: token.id, user: token.user, created_at: token.createdAtMs, expires_at: token.expiresAtMs, description: token.description };
}

const create = defineCommand({
  meta: { name: "create", description: "Create a bearer token for a user and print it (shown this once)" },
  args: {
    owner: { type: "string", description: "The user the token authenticates as", required: true },
    "expires-in": { type: "string", description: "Lifetime, e.g. 24h or 720h (default: never expires)", valueHint: "duration" },
    description: { type: "string", description: "What the token is for" },
    ...jsonArgs,
    ...clientArgs,
  },
  async run({ args }) {
    const expiresInMs = args["expires-in"] === undefined ? undefined : durationArg("expires-in", args["expires-in"], 1, limits.tokenLifetimeMsMax);
    const created = await new Admin(oneShotClientOptions(args)).createToken({ user: args.owner, expiresInMs, description: args.description });
    if (args.json) return console.log(JSON.stringify({ token: created.token, ...tokenJson(created) }));
    console.log(created.token);
    const expires = created.expiresAtMs === null ? "never expires" : `expires ${new Date(created.expiresAtMs).toISOString()}`;
    console.error(`created token ${created.id} for ${created.user} (${expires}); it is not shown again`);
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List tokens (ids, owners, expiry; never the secrets)" },
  args: { owner: { type: "string", description: "Only this user's tokens" }, ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const tokens = await new Admin(oneShotClientOptions(args)).listTokens(args.owner);
    if (args.json) return console.log(JSON.stringify(tokens.map(tokenJson)));
    if (tokens.length === 0) return console.log("no tokens");
    const rows = tokens.map((token) => [
      token.id,
      token.user,
      new Date(token.createdAtMs).toISOString(),
      token.expiresAtMs === null ? "-" : new Date(token.expiresAtMs).toISOString(),
      cell(token.description || undefined),
    ]);
    console.log(table([["TOKEN-ID", "USER", "CREATED", "EXPIRES", "DESCRIPTION"], ...rows]));
  },
});

const revoke = defineCommand({
  meta: { name: "revoke", description: "Revoke a token: from now on it authenticates nothing" },
  args: { id: { type: "string", description: "Token id (as tokens list shows it)", required: true }, ...clientArgs },
  async run({ args }) {
    await new Admin(oneShotClientOptions(args)).revokeToken(args.id);
    console.log(`revoked token ${args.id}`);
  },
});

export default defineCommand({
  meta: { name: "tokens", description: "Bearer tokens: create, list, revoke" },
  subCommands: { create, list, revoke },
});

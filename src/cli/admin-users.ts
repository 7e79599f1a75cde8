import { defineCommand } from "citty";
import { Admin } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { processPasswordSources, readNewPassword, newPasswordArgs } from "./new-password.ts";
import { brokerArgs, integerArg, logLevelArgs, oneShotClientOptions } from "./shared-args.ts";
import { table } from "./table.ts";

/**
 * `gafka admin users add|list|delete|passwd`: the cluster's users, each with
 * SCRAM-SHA-256 and -512 credentials (Kafka's kafka-configs
 * --alter --add-config SCRAM-…). Passwords come from a file, the
 * environment or stdin, never from a flag's value.
 */

const nameArgs = { name: { type: "string", description: "User name", required: true } } as const;
const jsonArgs = { json: { type: "boolean", description: "Print the answer as JSON", default: false } } as const;
const clientArgs = { ...brokerArgs, ...logLevelArgs("warn") } as const;
const iterationsArgs = {
  iterations: { type: "string", description: `PBKDF2 iterations of the SCRAM credentials (${limits.scramIterationsMin}-${limits.scramIterationsMax})` },
} as const;

function iterationsOption(text: string | undefined): { iterations?: number } {
  return text === undefined ? {} : { iterations: integerArg("iterations", text, limits.scramIterationsMin, limits.scramIterationsMax) };
}

const add = defineCommand({
  meta: { name: "add", description: "Add a user with a password (SCRAM-SHA-256 and SCRAM-SHA-512 credentials)" },
  args: { ...nameArgs, ...newPasswordArgs, ...iterationsArgs, ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const options = iterationsOption(args.iterations);
    const password = await readNewPassword(processPasswordSources(args["new-password-file"]));
    const user = await new Admin(oneShotClientOptions(args)).addUser(args.name, password, options);
    if (args.json) return console.log(JSON.stringify(user));
    console.log(`added user ${user.name} (${user.mechanisms.map((m) => m.mechanism).join(", ")})`);
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List users and their SCRAM mechanisms" },
  args: { ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const users = await new Admin(oneShotClientOptions(args)).listUsers();
    if (args.json) return console.log(JSON.stringify(users));
    if (users.length === 0) return console.log("no users");
    const rows = users.map((user) => [user.name, user.mechanisms.map((m) => `${m.mechanism}(${m.iterations})`).join(",") || "-"]);
    console.log(table([["USER", "MECHANISMS(ITERATIONS)"], ...rows]));
  },
});

const deleteUser = defineCommand({
  meta: { name: "delete", description: "Delete a user and revoke every token of theirs (their ACLs stay, as in Kafka)" },
  args: { ...nameArgs, ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const tokensRemoved = await new Admin(oneShotClientOptions(args)).deleteUser(args.name);
    if (args.json) return console.log(JSON.stringify({ deleted: args.name, tokens_removed: tokensRemoved }));
    console.log(`deleted user ${args.name} and ${tokensRemoved} token${tokensRemoved === 1 ? "" : "s"}`);
  },
});

const passwd = defineCommand({
  meta: { name: "passwd", description: "Set a user's password (the user's tokens stay valid)" },
  args: { ...nameArgs, ...newPasswordArgs, ...iterationsArgs, ...clientArgs },
  async run({ args }) {
    const options = iterationsOption(args.iterations);
    const password = await readNewPassword(processPasswordSources(args["new-password-file"]));
    await new Admin(oneShotClientOptions(args)).setPassword(args.name, password, options);
    console.log(`changed the password of ${args.name}`);
  },
});

export default defineCommand({
  meta: { name: "users", description: "Users: add, list, delete, change a password" },
  subCommands: { add, list, delete: deleteUser, passwd },
});

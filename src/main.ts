#!/usr/bin/env bun
/**
 * The one gafka executable: `gafka broker|produce|consume|admin|bench`. Each
 * subcommand lives in src/cli/ and is loaded only when it runs.
 */
import { defineCommand, renderUsage, runCommand, type CommandDef, type Resolvable, type SubCommandsDef } from "citty";
import packageJson from "../package.json" with { type: "json" };
import { forStream, stripAnsiStyle } from "./core/color.ts";
import { Interrupted } from "./cli/interrupted.ts";
import { unknownFlags } from "./cli/unknown-flags.ts";

export const main = defineCommand({
  meta: { name: "gafka", version: packageJson.version, description: "A Kafka-like durable message queue" },
  subCommands: {
    broker: () => import("./cli/broker.ts").then((module) => module.default),
    produce: () => import("./cli/produce.ts").then((module) => module.default),
    consume: () => import("./cli/consume.ts").then((module) => module.default),
    admin: () => import("./cli/admin.ts").then((module) => module.default),
    bench: () => import("./cli/bench.ts").then((module) => module.default),
  },
});

/**
 * Runs the command line and returns the exit code. `--help` and `--version`
 * work on every subcommand; any failure prints `error: <message>` on stderr
 * and gives 1 (with the usage, when the arguments were the problem). The
 * usage is coloured only where core/color.ts says so (a terminal, or
 * FORCE_COLOR); a command stopped by Ctrl-C gives 130 (cli/interrupted.ts).
 */
export async function runGafka(rawArgs: string[]): Promise<number> {
  const flags = rawArgs.includes("--") ? rawArgs.slice(0, rawArgs.indexOf("--")) : rawArgs;
  if (flags.includes("--version") || (flags.length === 1 && flags[0] === "-v")) {
    console.log(packageJson.version);
    return 0;
  }
  if (flags.includes("--help") || flags.includes("-h")) {
    console.log(forStream(await usageOf(rawArgs), process.stdout, process.env));
    return 0;
  }
  try {
    const named = await commandOf(rawArgs);
    if (named.command.subCommands === undefined) {
      const unknown = unknownFlags(await resolve(named.command.args ?? {}), rawArgs);
      if (unknown.length > 0) {
        console.error(`${forStream(await usageOfCommand(named), process.stderr, process.env)}\n`);
        console.error(`error: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);
        return 1;
      }
    }
    await runCommand(main, { rawArgs });
    return 0;
  } catch (error) {
    if (error instanceof Interrupted) return error.exitCode;
    // citty's own argument errors (unknown command, missing --topic) come with the usage.
    if (error instanceof Error && error.name === "CLIError") console.error(`${forStream(await usageOf(rawArgs), process.stderr, process.env)}\n`);
    console.error(`error: ${messageOf(error)}`);
    return 1;
  }
}

/** The usage of the deepest subcommand the arguments name, titled with its full path (`gafka admin verify`). */
async function usageOf(rawArgs: string[]): Promise<string> {
  return usageOfCommand(await commandOf(rawArgs));
}

function usageOfCommand({ command, path }: { command: CommandDef<any>; path: string[] }): Promise<string> {
  if (path.length === 0) return renderUsage(command);
  return renderUsage(command, { meta: { name: path.join(" "), version: packageJson.version } });
}

/** The deepest subcommand the arguments name, and the names of the commands above it. */
async function commandOf(rawArgs: string[]): Promise<{ command: CommandDef<any>; path: string[] }> {
  let command: CommandDef<any> = main;
  const path: string[] = [];
  for (const arg of rawArgs) {
    if (arg === "--") break;
    if (arg.startsWith("-")) continue;
    const subCommands = await resolve(command.subCommands);
    if (!subCommands) break;
    const subCommand = await findSubCommand(subCommands, arg);
    if (!subCommand) continue;
    path.push((await resolve(command.meta))?.name ?? "");
    command = subCommand;
  }
  return { command, path };
}

async function findSubCommand(subCommands: SubCommandsDef, name: string): Promise<CommandDef<any> | undefined> {
  if (name in subCommands) return resolve(subCommands[name]!);
  for (const candidate of Object.values(subCommands)) {
    const command = await resolve(candidate);
    const alias = (await resolve(command.meta))?.alias;
    if (alias === name || (Array.isArray(alias) && alias.includes(name))) return command;
  }
  return undefined;
}

function resolve<T>(value: Resolvable<T>): Promise<T> {
  return Promise.resolve(typeof value === "function" ? (value as () => T | Promise<T>)() : value);
}

function messageOf(error: unknown): string {
  return stripAnsiStyle(error instanceof Error ? error.message : String(error));
}

if (import.meta.main) {
  process.exit(await runGafka(process.argv.slice(2)));
}

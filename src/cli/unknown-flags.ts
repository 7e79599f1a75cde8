import type { ArgsDef } from "citty";

/**
 * The flags in `rawArgs` that `args` does not define. citty ignores an
 * unknown flag, so a typo (`gafka produce --value hello`, where the flag is
 * `--message`) would run the command without it and say nothing; main.ts
 * refuses such a command line instead, as Kafka's tools do.
 *
 * A flag is known by its name, its camelCase or kebab-case spelling (citty
 * accepts both), its aliases, and `--no-<name>` for a boolean. The token after
 * a value flag given without `=` is its value, even when it starts with `-`
 * (`--acks -1`). Everything after `--` is left alone.
 */
export function unknownFlags(args: ArgsDef, rawArgs: readonly string[]): string[] {
  const known = new Map<string, { takesValue: boolean }>();
  for (const [name, definition] of Object.entries(args)) {
    if (definition.type === "positional") continue;
    const takesValue = definition.type !== "boolean";
    const alias = "alias" in definition ? definition.alias : undefined;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const spelling of [name, toKebab(name), toCamel(name), ...aliases]) known.set(spelling, { takesValue });
    if (!takesValue) known.set(`no-${toKebab(name)}`, { takesValue: false });
  }
  const unknown: string[] = [];
  for (let index = 0; index < rawArgs.length; index++) {
    const token = rawArgs[index]!;
    if (token === "--") break;
    if (!token.startsWith("-") || token === "-") continue;
    const body = token.replace(/^--?/, "");
    const equals = body.indexOf("=");
    const name = equals === -1 ? body : body.slice(0, equals);
    const flag = known.get(name);
    if (flag === undefined) {
      unknown.push(equals === -1 ? token : token.slice(0, token.indexOf("=")));
      continue;
    }
    if (flag.takesValue && equals === -1) index++;
  }
  return unknown;
}

function toKebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

function toCamel(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

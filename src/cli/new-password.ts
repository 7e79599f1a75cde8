import { secretFile, UsageError } from "./shared-args.ts";

/** Where a new password may come from: never a flag's value (shell history, ps). */
export const newPasswordArgs = {
  "new-password-file": { type: "string", description: "File holding the new password (default: env GAFKA_NEW_PASSWORD, else stdin when it is not a terminal)", valueHint: "path" },
} as const;

export interface NewPasswordSources {
  file: string | undefined;
  /** GAFKA_NEW_PASSWORD. */
  env: Readonly<Record<string, string | undefined>>;
  /** Standard input: whether it is a terminal, and its whole text. */
  stdin: { isTerminal: boolean; text(): Promise<string> };
}

/**
 * A new password for `admin users add|passwd`: from --new-password-file,
 * else env GAFKA_NEW_PASSWORD, else standard input when it is not a
 * terminal (`… | gafka admin users add --name alice`). One trailing
 * newline is dropped; the broker checks the length.
 */
export async function readNewPassword(sources: NewPasswordSources): Promise<string> {
  if (sources.file !== undefined) return secretFile("new-password-file", sources.file);
  if (sources.env.GAFKA_NEW_PASSWORD !== undefined) return sources.env.GAFKA_NEW_PASSWORD;
  if (sources.stdin.isTerminal) {
    throw new UsageError("give the new password with --new-password-file PATH, env GAFKA_NEW_PASSWORD, or on standard input (not a terminal)");
  }
  return (await sources.stdin.text()).replace(/\r?\n$/, "");
}

/** The process's own sources. */
export function processPasswordSources(file: string | undefined): NewPasswordSources {
  return { file, env: process.env, stdin: { isTerminal: process.stdin.isTTY === true, text: () => Bun.stdin.text() } };
}

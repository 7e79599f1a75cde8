import { createConsola, type ConsolaInstance } from "consola";

/** The logger every component receives; consola underneath, anything in tests. */
export interface Logger {
  error(message: unknown, ...args: unknown[]): void;
  warn(message: unknown, ...args: unknown[]): void;
  info(message: unknown, ...args: unknown[]): void;
  debug(message: unknown, ...args: unknown[]): void;
}

export const LOG_LEVELS = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

export function createLogger(level: LogLevelName = "info", tag = "gafka"): Logger {
  // Logs go to stderr so that stdout stays clean for data (consume --json).
  return createConsola({
    level: LOG_LEVELS[level] ?? LOG_LEVELS.info,
    stdout: process.stderr,
    stderr: process.stderr,
  }).withTag(tag) satisfies ConsolaInstance;
}

/** A logger that records nothing, for tests. */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
};

import { createConsola, type ConsolaInstance } from "consola";
import { colorWanted, stripAnsiStyle } from "./color.ts";

/** The logger every component receives; consola underneath, anything in tests. */
export interface Logger {
  error(message: unknown, ...args: unknown[]): void;
  warn(message: unknown, ...args: unknown[]): void;
  info(message: unknown, ...args: unknown[]): void;
  debug(message: unknown, ...args: unknown[]): void;
}

export const LOG_LEVELS = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

export interface LoggerOptions {
  /** Whether lines carry ANSI colour; default: as core/color.ts decides for stderr (a terminal, NO_COLOR, FORCE_COLOR). */
  color?: boolean;
}

export function createLogger(level: LogLevelName = "info", tag = "gafka", options: LoggerOptions = {}): Logger {
  const color = options.color ?? colorWanted(process.stderr, process.env);
  // Logs go to stderr so that stdout stays clean for data (consume --json).
  const stream = color ? process.stderr : uncolored(process.stderr);
  return createConsola({
    level: LOG_LEVELS[level] ?? LOG_LEVELS.info,
    // consola picks its colours once, by its own reading of stdout and the environment
    // (FORCE_COLOR, NO_COLOR even when empty): where this stream gets none, its styles are
    // taken out on the way (uncolored); where it may have them, consola may still leave
    // them out (stdout piped, stderr a terminal), which is the harmless side.
    ...(color ? { fancy: true } : {}),
    stdout: stream,
    stderr: stream,
  }).withTag(tag) satisfies ConsolaInstance;
}

/** The stream, writing its text without ANSI styles (for a pipe or a file). */
function uncolored(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  const plain = {
    write: (chunk: string | Uint8Array) => stream.write(typeof chunk === "string" ? stripAnsiStyle(chunk) : chunk),
    get columns() {
      return stream.columns;
    },
  };
  return plain as unknown as NodeJS.WriteStream;
}

/** A logger that records nothing, for tests. */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
};

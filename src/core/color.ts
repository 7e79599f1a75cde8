/**
 * Whether ANSI colour goes to a stream, decided once for the help text and
 * the logs alike: colour only on a terminal, so pipes and files get plain
 * text. The conventions (no-color.org, Node's tty.getColorDepth):
 * `FORCE_COLOR` set to anything but `0`/`false` turns it on wherever the
 * stream goes, and wins over `NO_COLOR`; a non-empty `NO_COLOR` turns it
 * off; `TERM=dumb` is not a colour terminal.
 */
export function colorWanted(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return stream.isTTY === true && env.TERM !== "dumb";
}

/** SGR sequences (colour, bold, underline): what the libraries we print through add. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC (0x1B) opens every SGR sequence; matching it is the point.
const ANSI_STYLE = /\u001B\[[0-9;]*m/g;

export function stripAnsiStyle(text: string): string {
  return text.replace(ANSI_STYLE, "");
}

/** The text as it may go to the stream: unchanged when colour is wanted there, else without its styles. */
export function forStream(text: string, stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): string {
  return colorWanted(stream, env) ? text : stripAnsiStyle(text);
}

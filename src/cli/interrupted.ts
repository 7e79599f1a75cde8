import { constants } from "node:os";

/**
 * A command stopped by a signal, after it wrapped up cleanly (what it had to
 * say is printed). main.ts exits with the shell's code for it, 128 + the
 * signal's number (130 for Ctrl-C), and prints no error line.
 */
export class Interrupted extends Error {
  readonly exitCode: number;

  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
    this.exitCode = 128 + constants.signals[signal];
  }
}

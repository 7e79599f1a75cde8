/**
 * Durations as users write them: "500ms", "30s", "2m", "1h" (and "1.5s").
 * Returns milliseconds, or undefined when the text is not a duration.
 *
 * A bare number has no unit, and guessing one is how `--session-timeout=10`
 * became 10 ms; so it is refused unless the caller's contract names the unit
 * (`bareNumberUnit: "ms"`: the HTTP API's `timeout=30000`, documented as
 * milliseconds). "0" needs no unit: it is nothing in any of them (Go's
 * time.ParseDuration makes the same exception).
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export interface DurationOptions {
  /** The unit of a number written without one; without it, only "0" may go without a unit. */
  bareNumberUnit?: "ms";
}

export function parseDurationMs(text: string, options: DurationOptions = {}): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const unit = match[2] ?? options.bareNumberUnit ?? (Number(match[1]) === 0 ? "ms" : undefined);
  if (unit === undefined) return undefined;
  const value = Number(match[1]) * UNIT_MS[unit]!;
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** True for a number written without a unit ("10", "2.5"): worth its own error message. */
export function isBareNumber(text: string): boolean {
  return /^\s*\d+(?:\.\d+)?\s*$/.test(text);
}

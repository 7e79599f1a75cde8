/**
 * Durations as users write them: "500ms", "30s", "2m", "1h", or a bare
 * number of milliseconds. Returns milliseconds, or undefined when the text
 * is not a duration.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!;
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

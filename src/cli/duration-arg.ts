import { isBareNumber, parseDurationMs } from "../core/duration.ts";
import { UsageError } from "./shared-args.ts";

/**
 * A duration flag (`--session-timeout=10s`) in milliseconds, at least
 * `minimumMs` and at most `maximumMs`. The unit is required: a bare `10` is refused with the flag's
 * name and the form it takes, rather than read as 10 ms (or 10 s).
 */
export function durationArg(name: string, text: string, minimumMs = 0, maximumMs = Number.POSITIVE_INFINITY): number {
  const ms = parseDurationMs(text);
  if (ms === undefined && isBareNumber(text)) {
    throw new UsageError(`--${name} needs a unit: a duration such as ${text.trim()}s or ${text.trim()}ms (units ms, s, m, h), not '${text}'`);
  }
  if (ms === undefined) throw new UsageError(`--${name} must be a duration such as 500ms, 10s or 2m, not '${text}'`);
  if (ms < minimumMs || ms > maximumMs) {
    const range = maximumMs === Number.POSITIVE_INFINITY ? `at least ${minimumMs}ms` : `from ${minimumMs}ms to ${maximumMs}ms`;
    throw new UsageError(`--${name} must be ${range}, not '${text}'`);
  }
  return ms;
}

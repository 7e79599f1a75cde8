import { invalidRequest } from "../core/errors.ts";

/**
 * How many replicas must hold a produce before it is answered (Kafka's acks):
 * 0 answers at once (fire and forget), 1 once this broker holds it durably,
 * "all" once every in-sync replica does.
 */
export type Acks = 0 | 1 | "all";

/**
 * A door's `acks` as the client wrote it: 0, 1, "all" or -1 (Kafka's
 * spelling of all), as a number or a string; 1 when absent. Anything else is
 * invalid_request naming the field, whichever door it came in by.
 */
export function parseAcks(value: unknown): Acks {
  if (value === undefined || value === null) return 1;
  const text = String(value);
  if (text === "1") return 1;
  if (text === "0") return 0;
  if (text === "all" || text === "-1") return "all";
  throw invalidRequest(`'acks' must be 0, 1 or "all" (or -1), not ${JSON.stringify(value)}`, { field: "acks" });
}

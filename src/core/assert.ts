/**
 * Invariant checks. A failed assertion is a bug in gafka, never bad input:
 * it throws an AssertionError that is not a GafkaError, so the HTTP layer
 * answers 500 and logs it loudly.
 */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = "AssertionError";
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

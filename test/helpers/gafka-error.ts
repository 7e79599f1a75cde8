import { GafkaError } from "../../src/core/errors.ts";

/**
 * The GafkaError a call or a promise ends with; throws when it succeeds or
 * fails with anything else, so a test that expects a typed refusal cannot
 * pass on a success or a bug.
 */
export async function gafkaErrorOf(work: Promise<unknown> | (() => unknown)): Promise<GafkaError> {
  let failure: unknown;
  try {
    await (typeof work === "function" ? work() : work);
  } catch (error) {
    failure = error;
  }
  if (failure instanceof GafkaError) return failure;
  throw failure === undefined ? new Error("expected a GafkaError, but it succeeded") : failure;
}

import { expect, test } from "bun:test";

/**
 * Bun's default is 5 s per test, too little for an integration suite on a
 * busy machine. This test needs more than that: it fails "timed out after
 * 5000ms" unless the suite's own default (test/helpers/test-timeout.ts)
 * reaches every test file, whichever place in the run this one has.
 */
test("a test may run longer than Bun's 5 s default", async () => {
  const outcome = await new Promise<string>((resolve) => setTimeout(() => resolve("waited 6 s"), 6_000));
  expect(outcome).toBe("waited 6 s");
});

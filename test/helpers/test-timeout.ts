import { plugin } from "bun";
import { setDefaultTimeout } from "bun:test";

/**
 * Every test's default timeout, for `bun test` however it is started (the
 * preload in bunfig.toml). Integration suites start real broker processes, and
 * on a busy machine Bun's 5 s default fails them; their waits poll conditions
 * with their own generous bounds, so this is only the backstop.
 *
 * Bun 1.4 ignores bunfig.toml's `[test] timeout`, and a preload's
 * setDefaultTimeout() reaches only the first test file of a run (Bun resets
 * the default after each file: oven-sh/bun#43787). So it is set again as each
 * test file is loaded, before the file's tests are registered. npm test also
 * passes `--timeout` with the same value.
 */
export const TEST_TIMEOUT_MS = 60_000;

setDefaultTimeout(TEST_TIMEOUT_MS);

plugin({
  name: "gafka test timeout",
  setup(build) {
    build.onLoad({ filter: /\.test\.ts$/ }, async ({ path }) => {
      setDefaultTimeout(TEST_TIMEOUT_MS);
      return { contents: await Bun.file(path).text(), loader: "ts" };
    });
  },
});

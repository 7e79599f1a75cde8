import { afterAll, describe, expect, test } from "bun:test";
import { cleanupAll, makeTempDir, runCli, spawnCli, type CliResult } from "./helpers/broker-process.ts";

/**
 * Colour only on a terminal: the CLI run with stdout and stderr piped (as
 * in `gafka ... | less` or `2> broker.log`) writes no ANSI escape, unless
 * FORCE_COLOR asks for it. The test's environment is replaced by the one
 * each case names (the helpers set NO_COLOR=1 otherwise; CI and TEST would
 * turn citty's colours off on their own).
 */

afterAll(cleanupAll);

const ESC = "\u001B";
/** The environment of a user's shell, without the colour switches the test runner may carry. */
/** (An undefined value leaves the variable out of the child's environment.) */
const plain = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined, TEST: undefined } as unknown as Record<string, string>;

async function help(env: Record<string, string>): Promise<CliResult> {
  return runCli(["consume", "--help"], { env: { ...plain, ...env } });
}

/** A broker's first log lines (stderr), with stdout and stderr piped. */
async function brokerLogs(env: Record<string, string>): Promise<string> {
  const dataDir = await makeTempDir("gafka-color-");
  const broker = spawnCli(["broker", "--port=0", "--kafka-port=0", `--data-dir=${dataDir}`], { env: { ...plain, ...env } });
  await broker.waitForStdout(/listening on/);
  broker.process.kill("SIGTERM");
  const result = await broker.result;
  expect(result.exitCode).toBe(0);
  expect(result.stderr).toContain("stopped"); // its last log line: the logs are all there
  return result.stderr;
}

describe("help", () => {
  test("piped: no escape codes", async () => {
    const result = await help({});
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("USAGE");
    expect(result.stdout).not.toContain(ESC);
  });

  test("NO_COLOR (any value) keeps them out; FORCE_COLOR=1 puts them in a pipe", async () => {
    const noColor = await help({ NO_COLOR: "yes" });
    expect(noColor.stdout).toContain("USAGE");
    expect(noColor.stdout).not.toContain(ESC);
    const forced = await help({ FORCE_COLOR: "1" });
    expect(forced.stdout).toContain(`${ESC}[`);
  });

  test("usage printed with an argument error: none on a piped stderr", async () => {
    const result = await runCli(["produce", "--message=x"], { env: plain });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("USAGE");
    expect(result.stderr).not.toContain(ESC);
  });
});

describe("logs", () => {
  test("piped: no escape codes, even with FORCE_COLOR=0", async () => {
    expect(await brokerLogs({})).not.toContain(ESC);
    expect(await brokerLogs({ FORCE_COLOR: "0" })).not.toContain(ESC);
  });

  test("FORCE_COLOR=1 colours them in a pipe", async () => {
    expect(await brokerLogs({ FORCE_COLOR: "1" })).toContain(`${ESC}[`);
  });
});

import { afterAll, expect, test } from "bun:test";
import { cleanupAll, makeTempDir, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson } from "./helpers/http.ts";

afterAll(cleanupAll);

test("a second broker on a port in use exits 1 with 'address in use', and the first keeps the port", async () => {
  const first = await startBrokerProcess({ args: ["--id=1"] });
  const otherDataDir = await makeTempDir("gafka-second-");

  // Bound: a broker that wrongly shares the port runs until killed here.
  const second = await runCli(["broker", "--id=2", "--host=127.0.0.1", `--port=${first.port}`, `--data-dir=${otherDataDir}`], {
    timeoutMs: 20_000,
  });

  expect(second.timedOut).toBe(false);
  expect(second.exitCode).toBe(1);
  expect(second.stdout).not.toContain("listening on");
  const complaints = second.stderr.split("\n").filter((line) => line.includes("address in use"));
  expect(complaints).toEqual([`error: cannot listen on 127.0.0.1:${first.port}: address in use (is another broker running on this port?)`]);

  // Every connection still reaches the first broker (with a shared port they alternated).
  for (let i = 0; i < 20; i++) {
    const health = await getJson(`${first.url}/healthz`);
    expect(health.body.broker_id).toBe(1);
  }
});

/**
 * Long fuzz runs against real brokers (the same harness `npm test` runs with
 * a fixed seed, test/fuzz.test.ts):
 *
 *   bun bench/fuzz.ts --requests 200000 [--seed 7] [--concurrency 16] [--no-follower]
 *   bun bench/fuzz.ts --seed 7 --only 1234        # one request again, to reproduce a failure
 *   bun bench/fuzz.ts --requests 50000 --broker-arg=--cluster-secret-file=/path --peers-authenticated
 *
 * Exits 1 when a check fails (a 5xx, a 4xx without the JSON error shape, a
 * hang, a crash, /healthz failing, reference data changed, admin verify
 * unhappy), printing each failure with the seed and index that reproduce it.
 */
import { parseArgs } from "node:util";
import { cleanupAll } from "../test/helpers/broker-process.ts";
import { runFuzz } from "../test/helpers/fuzz/fuzz-run.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    seed: { type: "string" },
    concurrency: { type: "string", default: "16" },
    only: { type: "string" },
    "no-follower": { type: "boolean", default: false },
    "broker-arg": { type: "string", multiple: true, default: [] },
    "peers-authenticated": { type: "boolean", default: false },
  },
});

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
try {
  const report = await runFuzz({
    requests: Number(values.requests),
    seed,
    concurrency: Number(values.concurrency),
    only: values.only === undefined ? undefined : Number(values.only),
    follower: !values["no-follower"],
    brokerArgs: values["broker-arg"],
    peersAuthenticated: values["peers-authenticated"],
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify({ seed, requests: report.requests, seconds: Number(report.seconds.toFixed(1)), requests_per_second: report.requestsPerSecond, statuses: report.statuses }));
  for (const failure of report.failures) console.log(`\nFAILURE: ${failure}`);
  process.exitCode = report.failures.length === 0 ? 0 : 1;
} finally {
  await cleanupAll();
}

import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { clusterSecretArgs, status } from "./helpers/cluster.ts";
import { basic } from "./helpers/auth.ts";
import { waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

/**
 * `gafka admin cluster` asks the broker it is pointed at, then its leader and
 * the leader's followers: under --auth required every one of those questions
 * must carry the caller's credentials (a status needs DESCRIBE on the
 * cluster); before, the leader's row read "unreachable" for a leader that
 * had only refused an anonymous question.
 */
test("admin cluster under --auth required asks every broker with the caller's credentials", async () => {
  const secret = await clusterSecretArgs();
  const leader = await startBrokerProcess({ args: ["--id=1", "--role=leader", "--auth=required", ...secret] });
  const follower = await startBrokerProcess({ args: ["--id=2", "--role=follower", `--leader=${leader.hostPort}`, "--auth=required", ...secret] });
  const password = readFileSync(path.join(leader.dataDir, "admin-password"), "utf8").trim();
  // The follower knows the admin once the leader's users reached it.
  await waitFor(async () => {
    const answer = await fetch(`${follower.url}/api/v1/replication/status`, { headers: basic("admin", password) });
    return answer.status === 200 && ((await answer.json()) as { replication?: { connected?: boolean } }).replication?.connected === true;
  }, "the follower to hold the leader's users and stream from it");
  // Anonymous, the leader's status is refused: what the CLI used to ask.
  expect(await status(leader).then(() => "answered", (error: Error) => error.message)).toContain("401");

  const asked = await runCli(["admin", "cluster", "--json", `--broker=${follower.hostPort}`, "--user=admin"], { env: { GAFKA_PASSWORD: password } });
  expect(asked.exitCode).toBe(0);
  const rows = asked.stdout.trim().split("\n").map((line) => JSON.parse(line));
  expect(rows.map((row) => [row.broker_id, row.role, row.state])).toEqual([
    [1, "leader", "leading"],
    [2, "follower", expect.stringMatching(/in sync|following/)],
  ]);

});

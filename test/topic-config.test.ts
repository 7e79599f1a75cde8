import { afterAll, expect, test } from "bun:test";
import { cleanupAll, runCli, startBrokerProcess } from "./helpers/broker-process.ts";
import { produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

/** A topic's settings through the doors (HTTP, the CLI), kept across a restart, and replicated to a follower that keeps them after a promote. */

type Entry = { name: string; value: string; source: string };

function overridesOf(description: { configs: Entry[] }): Record<string, string> {
  return Object.fromEntries(description.configs.filter((entry) => entry.source === "topic").map((entry) => [entry.name, entry.value]));
}

function entryOf(description: { configs: Entry[] }, name: string): Entry | undefined {
  return description.configs.find((entry) => entry.name === name);
}

test("create with configs, describe with sources, alter set and delete, invalid changes refused (400) and nothing changed, kept across a restart", async () => {
  const broker = await startBrokerProcess({ args: ["--retention-ms=86400000", "--max-message-bytes=2000"] });
  const created = await postJson(`${broker.url}/api/v1/topics`, { name: "logs", partitions: 2, configs: { "retention.ms": "3600000", "segment.ms": 60000 } });
  expect(created.status).toBe(201);
  expect(overridesOf(created.body)).toEqual({ "retention.ms": "3600000", "segment.ms": "60000" });
  expect(entryOf(created.body, "max.message.bytes")).toEqual({ name: "max.message.bytes", value: "2000", source: "default" });
  const plain = await postJson(`${broker.url}/api/v1/topics`, { name: "plain" });
  expect(entryOf(plain.body, "retention.ms")).toEqual({ name: "retention.ms", value: "86400000", source: "default" });

  const altered = await postJson(`${broker.url}/api/v1/topics/logs/configs`, { set: { "cleanup.policy": "compact", "max.message.bytes": "100" }, delete: ["segment.ms"] });
  expect(altered.status).toBe(200);
  expect(overridesOf(altered.body)).toEqual({ "cleanup.policy": "compact", "max.message.bytes": "100", "retention.ms": "3600000" });
  // Keyed: the topic is compacted now, which refuses keyless records (400) before their size is weighed.
  expect((await produce(broker, "logs", [{ key: "k", value: "x".repeat(500) }])).status).toBe(413);
  expect((await produce(broker, "plain", [{ value: "x".repeat(500) }])).status).toBe(200);

  for (const body of [
    { set: { "retention.ms": "soon" } },
    { set: { "no.such.setting": "1" } },
    { delete: ["no.such.setting"] },
    { set: { "retention.ms": "1" }, delete: ["retention.ms"] },
    { set: { "min.insync.replicas": "0" } },
    { delete: "retention.ms" },
  ]) {
    const refused = await postJson(`${broker.url}/api/v1/topics/logs/configs`, body);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("invalid_request");
  }
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "bad", configs: { "segment.bytes": "10" } })).status).toBe(400);
  expect((await postJson(`${broker.url}/api/v1/topics/missing/configs`, { set: { "retention.ms": "1" } })).status).toBe(404);
  expect((await getJson(`${broker.url}/api/v1/topics/bad`)).status).toBe(404);
  expect(overridesOf((await getJson(`${broker.url}/api/v1/topics/logs`)).body)).toEqual({ "cleanup.policy": "compact", "max.message.bytes": "100", "retention.ms": "3600000" });

  await broker.restart();
  const reloaded = (await getJson(`${broker.url}/api/v1/topics/logs`)).body;
  expect(overridesOf(reloaded)).toEqual({ "cleanup.policy": "compact", "max.message.bytes": "100", "retention.ms": "3600000" });
  // Keyed: the topic is compacted now, which refuses keyless records (400) before their size is weighed.
  expect((await produce(broker, "logs", [{ key: "k", value: "x".repeat(500) }])).status).toBe(413);
});

test("the CLI: create-topic --config, alter-topic --config/--delete-config, describe-topic shows each value and its source", async () => {
  const broker = await startBrokerProcess();
  const at = `--broker=${broker.hostPort}`;
  const created = await runCli(["admin", "create-topic", at, "--name=events", "--config", "retention.ms=3600000", "--config=cleanup.policy=compact,delete"]);
  expect(created.exitCode).toBe(0);
  const described = await runCli(["admin", "describe-topic", at, "--name=events"]);
  expect(described.stdout).toMatch(/CONFIG\s+VALUE\s+SOURCE/);
  expect(described.stdout).toMatch(/retention\.ms\s+3600000\s+topic/);
  expect(described.stdout).toMatch(/cleanup\.policy\s+compact,delete\s+topic/);
  expect(described.stdout).toMatch(/segment\.ms\s+604800000\s+default/);
  const altered = await runCli(["admin", "alter-topic", at, "--name=events", "--config", "segment.ms=60000", "--delete-config", "retention.ms"]);
  expect(altered.exitCode).toBe(0);
  expect(altered.stdout).toContain("topic events: cleanup.policy=compact,delete, segment.ms=60000");
  const json = JSON.parse((await runCli(["admin", "describe-topic", at, "--name=events", "--json"])).stdout);
  expect(overridesOf(json)).toEqual({ "cleanup.policy": "compact,delete", "segment.ms": "60000" });
  const refused = await runCli(["admin", "alter-topic", at, "--name=events", "--config", "retention.ms=later"]);
  expect(refused.exitCode).not.toBe(0);
  expect(refused.stderr).toContain("retention.ms must be");
  const badDefault = await runCli(["broker", "--port=0", "--data-dir", `${broker.dataDir}-unused`, "--cleanup-policy=sometimes"]);
  expect(badDefault.exitCode).not.toBe(0);
  expect(badDefault.stderr).toContain("--cleanup-policy: cleanup.policy must be delete, compact or compact,delete");
});

test("settings replicate to a follower with the topic and with each alter, are kept there durably, and are in force after a promote", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: "t", partitions: 1, configs: { "retention.ms": "3600000" } })).status).toBe(201);
  const followerOverrides = async () => {
    const answer = await getJson(`${follower.url}/api/v1/topics/t`);
    return answer.status === 200 ? overridesOf(answer.body) : undefined;
  };
  await waitFor(async () => JSON.stringify(await followerOverrides()) === JSON.stringify({ "retention.ms": "3600000" }), "the follower to hold the topic's settings");
  expect((await postJson(`${leader.url}/api/v1/topics/t/configs`, { set: { "max.message.bytes": "100" }, delete: ["retention.ms"] })).status).toBe(200);
  await waitFor(async () => JSON.stringify(await followerOverrides()) === JSON.stringify({ "max.message.bytes": "100" }), "the follower to take the alter");
  // A follower refuses the change itself: only the leader takes writes.
  expect((await postJson(`${follower.url}/api/v1/topics/t/configs`, { set: { "retention.ms": "1" } })).status).toBe(421);
  expect((await produce(leader, "t", [{ value: "small" }], "all")).status).toBe(200);
  // min.insync.replicas per topic: 3 cannot be met by a leader and one follower; acks=1 does not ask.
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: "strict", configs: { "min.insync.replicas": "3" } })).status).toBe(201);
  await waitCaughtUp(leader, [follower]);
  const refused = await produce(leader, "strict", [{ value: "v" }], "all");
  expect(refused.status).toBe(503);
  expect(refused.body.error.code).toBe("not_enough_replicas");
  expect((await produce(leader, "strict", [{ value: "v" }], 1)).status).toBe(200);
  expect((await postJson(`${leader.url}/api/v1/topics/strict/configs`, { set: { "min.insync.replicas": "2" } })).status).toBe(200);
  expect((await produce(leader, "strict", [{ value: "v" }], "all")).status).toBe(200);
  await waitCaughtUp(leader, [follower]);

  await follower.restart(); // kept in its topics.json
  expect(await followerOverrides()).toEqual({ "max.message.bytes": "100" });
  await waitCaughtUp(leader, [follower]);
  await leader.stop();
  const promoted = await runCli(["admin", "promote", `--broker=${follower.hostPort}`, "--force"]);
  expect(promoted.exitCode).toBe(0);
  await waitFor(async () => (await status(follower)).role === "leader", "the follower to lead");
  expect((await produce(follower, "t", [{ value: "x".repeat(500) }])).status).toBe(413);
  expect((await produce(follower, "t", [{ value: "ok" }])).status).toBe(200);
  expect((await postJson(`${follower.url}/api/v1/topics/t/configs`, { delete: ["max.message.bytes"] })).status).toBe(200);
  expect((await produce(follower, "t", [{ value: "x".repeat(500) }])).status).toBe(200);
});

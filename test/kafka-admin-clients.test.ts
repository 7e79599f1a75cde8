/**
 * Kafka admin clients against the Kafka door: kafkajs and @platformatic/kafka
 * create, list, describe and delete topics; a topic made over Kafka is seen
 * over HTTP with its configs, and the reverse.
 */
import { afterAll, expect, test } from "bun:test";
import { Admin as PlatformaticAdmin } from "@platformatic/kafka";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson } from "./helpers/http.ts";

afterAll(cleanupAll);

const broker = await startBrokerProcess({ args: ["--id=3"] });
const bootstrap = `127.0.0.1:${broker.kafkaPort!}`;

async function withKafkajsAdmin(work: (admin: ReturnType<Kafka["admin"]>) => Promise<void>): Promise<void> {
  const kafka = new Kafka({ clientId: "admin-test", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.disconnect();
  }
}

test("kafkajs: createTopics with configs and validateOnly, listTopics, describeConfigs, deleteTopics; HTTP sees the same topics", async () => {
  await withKafkajsAdmin(async (admin) => {
    // kafkajs waits for the leaders of what it created unless told not to; a validation creates nothing to wait for.
    expect(await admin.createTopics({ timeout: 10_000, validateOnly: true, waitForLeaders: false, topics: [{ topic: "kjs-validated", numPartitions: 2 }] })).toBe(true);
    expect((await getJson(`${broker.url}/api/v1/topics/kjs-validated`)).status).toBe(404);

    expect(
      await admin.createTopics({
        topics: [{ topic: "kjs-orders", numPartitions: 3, configEntries: [{ name: "retention.ms", value: "86400000" }] }],
      }),
    ).toBe(true);
    const overHttp = (await getJson(`${broker.url}/api/v1/topics/kjs-orders`)).body;
    expect(overHttp.partitions).toHaveLength(3);
    expect(overHttp.configs).toContainEqual({ name: "retention.ms", value: "86400000", source: "topic" });
    // Created again: kafkajs reports false (TOPIC_ALREADY_EXISTS), it does not throw.
    expect(await admin.createTopics({ timeout: 10_000, topics: [{ topic: "kjs-orders" }] })).toBe(false);
    const refusal = await admin.createTopics({ timeout: 10_000, topics: [{ topic: "kjs-bad", configEntries: [{ name: "retention.ms", value: "later" }] }] }).catch((error) => error);
    expect(refusal.errors.map((error: { type: string; topic: string }) => [error.type, error.topic])).toEqual([["INVALID_CONFIG", "kjs-bad"]]);

    // Made over HTTP, described over Kafka.
    expect((await postJson(`${broker.url}/api/v1/topics`, { name: "kjs-from-http", partitions: 2, configs: { "cleanup.policy": "compact" } })).status).toBe(201);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(["kjs-orders", "kjs-from-http"]));
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: "kjs-from-http", configNames: ["cleanup.policy", "retention.ms"] }],
    });
    const entries = described.resources[0]!.configEntries;
    expect(entries.map((entry) => [entry.configName, entry.configValue, entry.isDefault]).sort()).toEqual([
      ["cleanup.policy", "compact", false],
      ["retention.ms", String(7 * 24 * 3600 * 1000), true],
    ]);
    const brokerConfigs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: "3" }] });
    expect(brokerConfigs.resources[0]!.configEntries.find((entry) => entry.configName === "broker.id")?.configValue).toBe("3");

    await admin.deleteTopics({ topics: ["kjs-orders", "kjs-from-http"] });
    expect((await getJson(`${broker.url}/api/v1/topics`)).body.topics.map((topic: { name: string }) => topic.name)).not.toContain("kjs-orders");
    await expect(admin.deleteTopics({ topics: ["kjs-never"] })).rejects.toThrow(/does not host this topic-partition/);
  });
});

test("@platformatic/kafka: createTopics, listTopics, deleteTopics", async () => {
  const admin = new PlatformaticAdmin({ clientId: "platformatic-admin-test", bootstrapBrokers: [bootstrap], retries: 1 });
  try {
    const created = await admin.createTopics({ topics: ["pk-events"], partitions: 2, replicas: -1, configs: [{ name: "segment.ms", value: "3600000" }] });
    expect(created.map((topic) => topic.name)).toEqual(["pk-events"]);
    const overHttp = (await getJson(`${broker.url}/api/v1/topics/pk-events`)).body;
    expect(overHttp.partitions).toHaveLength(2);
    expect(overHttp.configs).toContainEqual({ name: "segment.ms", value: "3600000", source: "topic" });
    expect(await admin.listTopics()).toContain("pk-events");
    await admin.deleteTopics({ topics: ["pk-events"] });
    expect(await admin.listTopics()).not.toContain("pk-events");
    expect((await getJson(`${broker.url}/api/v1/topics/pk-events`)).status).toBe(404);
  } finally {
    await admin.close();
  }
});

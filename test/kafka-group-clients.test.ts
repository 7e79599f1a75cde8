/**
 * Kafka clients' consumer groups on a real broker's Kafka door: committed
 * offsets shared with the HTTP side (status, metrics) and resumed after a
 * restart, @platformatic/kafka's consumer, kcat's balanced consumer
 * (librdkafka), and the clear refusals when one group name is used by an
 * HTTP consumer and a Kafka consumer at once.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { Consumer as PlatformaticConsumer, stringDeserializers } from "@platformatic/kafka";
import { type Consumer, Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!().catch(() => {});
});

function kafkaClient(broker: BrokerProcess): Kafka {
  return new Kafka({ clientId: "group-clients", brokers: [`127.0.0.1:${broker.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
}

/** Records through the HTTP door, alternating between partitions 0 and 1: this file tests the groups, not Produce. */
async function produce(broker: BrokerProcess, topic: string, values: string[]): Promise<void> {
  const records = values.map((value, index) => ({ value, partition: index % 2 }));
  expect((await postJson(`${broker.url}/api/v1/produce`, { topic, records })).status).toBe(200);
}

/** A kafkajs consumer of `topic` in `group` that collects the values it reads (committing as it goes). */
async function consumeInto(broker: BrokerProcess, group: string, topic: string, seen: string[]): Promise<Consumer> {
  const consumer = kafkaClient(broker).consumer({ groupId: group, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
  closers.push(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  return consumer;
}

test("a kafkajs group's commits show over HTTP and in /metrics, and the group resumes from them after a broker restart", async () => {
  const broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "resumed", partitions: 2 })).status).toBe(201);
  await produce(broker, "resumed", ["a", "b", "c", "d"]);

  const first: string[] = [];
  const consumer = await consumeInto(broker, "resuming", "resumed", first);
  await waitFor(() => first.length === 4, "the first four records");
  await consumer.disconnect();
  expect(first.sort()).toEqual(["a", "b", "c", "d"]);

  const status = (await getJson(`${broker.url}/api/v1/consumer-groups/resuming/status`)).body;
  expect(status.partitions.map((p: { committed_offset: number; lag: number }) => [p.committed_offset, p.lag])).toEqual([
    [2, 0],
    [2, 0],
  ]);
  const metrics = await (await fetch(`${broker.url}/metrics`)).text();
  expect(metrics).toContain('gafka_group_lag_total{group="resuming"} 0');

  await broker.restart();
  await produce(broker, "resumed", ["e", "f"]);
  const second: string[] = [];
  await consumeInto(broker, "resuming", "resumed", second);
  await waitFor(() => second.length === 2, "the two records produced after the restart");
  await Bun.sleep(300);
  expect(second.sort()).toEqual(["e", "f"]);
}, 30_000);

test("@platformatic/kafka's consumer reads in a group and commits", async () => {
  const broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "platformatic-group", partitions: 2 })).status).toBe(201);
  await produce(broker, "platformatic-group", ["one", "two", "three"]);
  const consumer = new PlatformaticConsumer({
    groupId: "platformatic",
    clientId: "platformatic-test",
    bootstrapBrokers: [`127.0.0.1:${broker.kafkaPort}`],
    deserializers: stringDeserializers,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
  });
  closers.push(() => consumer.close(true));
  const stream = await consumer.consume({ autocommit: true, topics: ["platformatic-group"], mode: "earliest" });
  const seen: string[] = [];
  stream.on("data", (message) => {
    seen.push(message.value);
    void message.commit();
  });
  await waitFor(() => seen.length === 3, "three records through @platformatic/kafka");
  expect(seen.sort()).toEqual(["one", "three", "two"]);
  await waitFor(async () => {
    const status = (await getJson(`${broker.url}/api/v1/consumer-groups/platformatic/status`)).body;
    return status.partitions?.reduce((sum: number, p: { committed_offset: number | null }) => sum + (p.committed_offset ?? 0), 0) === 3;
  }, "the platformatic group's commits over HTTP");
}, 30_000);

test.skipIf(Bun.which("kcat") === null)("kcat -G: two members of one group get disjoint partitions", async () => {
  const broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "kcat-group", partitions: 4 })).status).toBe(201);
  const start = () => {
    const child = Bun.spawn(["kcat", "-b", `127.0.0.1:${broker.kafkaPort}`, "-G", "kcat-members", "-X", "session.timeout.ms=6000", "-q", "kcat-group"], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    closers.push(async () => {
      child.kill("SIGKILL");
      await child.exited;
    });
    return child;
  };
  start();
  start();
  await waitFor(async () => {
    const status = (await getJson(`${broker.url}/api/v1/consumer-groups/kcat-members/status`)).body;
    if (status.members?.length !== 2) return false;
    const owned = status.members.flatMap((m: { assignment: { partition: number }[] }) => m.assignment.map((tp) => tp.partition));
    return status.members.every((m: { assignment: unknown[] }) => m.assignment.length > 0) && owned.length === 4 && new Set(owned).size === 4;
  }, "two kcat members sharing the four partitions");
}, 30_000);
if (Bun.which("kcat") === null) console.warn("kafka-group-clients.test.ts: kcat is not installed; the kcat -G test is skipped");

test("one group name used by an HTTP consumer and a Kafka consumer: each is refused clearly while the other is live", async () => {
  const broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "shared-name", partitions: 1 })).status).toBe(201);
  const join = (member: string) => postJson(`${broker.url}/api/v1/consumer-groups/mixed/members/${member}`, { topics: ["shared-name"] });

  // An HTTP member first: a Kafka consumer's JoinGroup answers INCONSISTENT_GROUP_PROTOCOL.
  expect((await join("http-one")).status).toBe(200);
  const refused = kafkaClient(broker).consumer({ groupId: "mixed", retry: { retries: 0 } });
  closers.push(() => refused.disconnect());
  await refused.connect();
  await refused.subscribe({ topic: "shared-name" });
  const crashed = new Promise<{ error: { type?: string } }>((resolve) => refused.on(refused.events.CRASH, ({ payload }) => resolve(payload as never)));
  await refused.run({ eachMessage: async () => {} }).catch(() => {});
  expect((await crashed).error.type).toBe("INCONSISTENT_GROUP_PROTOCOL");
  await refused.disconnect();
  expect((await fetch(`${broker.url}/api/v1/consumer-groups/mixed/members/http-one`, { method: "DELETE" })).ok).toBe(true);

  // Now a Kafka member: an HTTP join answers 409 inconsistent_group_protocol.
  const seen: string[] = [];
  await consumeInto(broker, "mixed", "shared-name", seen);
  await waitFor(async () => (await getJson(`${broker.url}/api/v1/consumer-groups/mixed/status`)).body.members?.length === 1, "the Kafka member in the group");
  const answer = await join("http-two");
  expect(answer.status).toBe(409);
  expect(answer.body.error.code).toBe("inconsistent_group_protocol");
}, 30_000);

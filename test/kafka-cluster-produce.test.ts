/**
 * Kafka clients bootstrapped at a follower produce to the leader by
 * themselves (Metadata names it), and keep producing across `admin promote`
 * and the old leader's SIGKILL: every record acknowledged with acks=-1 is on
 * the new leader.
 */
import { afterAll, expect, test } from "bun:test";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { cleanupAll, runCli } from "./helpers/broker-process.ts";
import { createTopic, startFollower, startLeader, status } from "./helpers/cluster.ts";
import { readPartition, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

function producerAt(port: number): Producer {
  const kafka = new Kafka({
    clientId: "cluster-produce",
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 },
  });
  return kafka.producer({ allowAutoTopicCreation: false });
}

test("a kafkajs producer bootstrapped at the follower alone writes to the leader", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "orders", 1, [follower]);
  const producer = producerAt(follower.kafkaPort!);
  await producer.connect();
  try {
    const [answer] = await producer.send({ topic: "orders", acks: -1, messages: [{ value: "a" }, { value: "b" }] });
    expect(answer).toMatchObject({ topicName: "orders", partition: 0, errorCode: 0, baseOffset: "0" });
  } finally {
    await producer.disconnect();
  }
  expect((await readPartition(leader.url, "orders", 0)).map((record) => record.value)).toEqual(["a", "b"]);
});

test("a kafkajs producer (acks=-1) keeps producing across admin promote and the old leader's SIGKILL; every acknowledged record is on the new leader", async () => {
  const leader = await startLeader();
  const follower = await startFollower(leader, 2);
  await createTopic(leader, "events", 1, [follower]);
  const producer = producerAt(follower.kafkaPort!);
  await producer.connect();
  const acknowledged: string[] = [];
  let stop = false;
  const sending = (async () => {
    for (let index = 0; !stop; index++) {
      const value = `r${index}`;
      await producer.send({ topic: "events", acks: -1, messages: [{ value }] });
      acknowledged.push(value);
    }
  })();
  try {
    await waitFor(() => acknowledged.length >= 20, "records acknowledged by the first leader");
    const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`]);
    expect(promote.exitCode).toBe(0);
    await waitFor(async () => (await status(leader)).role === "follower", "the old leader to step down");
    await leader.kill();
    const atKill = acknowledged.length;
    await waitFor(() => acknowledged.length >= atKill + 20, "records acknowledged by the new leader");
  } finally {
    stop = true;
    await sending.catch(() => undefined);
    await producer.disconnect();
  }
  const stored = new Set((await readPartition(follower.url, "events", 0)).map((record) => record.value));
  expect(acknowledged.filter((value) => !stored.has(value))).toEqual([]);
});

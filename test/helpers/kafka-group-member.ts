/**
 * One kafkajs consumer-group member, as its own process, for the Kafka
 * group tests (so one member can be killed with SIGKILL): joins group
 * `argv[3]` on topic `argv[4]` at 127.0.0.1:`argv[2]` with session timeout
 * `argv[5]` ms, and prints one JSON line per assignment it receives
 * ({"memberId","partitions"}). SIGTERM disconnects it
 * cleanly (a LeaveGroup), then it exits.
 *
 *   bun test/helpers/kafka-group-member.ts <kafkaPort> <group> <topic> <sessionTimeoutMs>
 */
import { Kafka, logLevel } from "kafkajs";

const [kafkaPort, groupId, topic, sessionTimeoutMs] = process.argv.slice(2);
const kafka = new Kafka({ clientId: "group-member", brokers: [`127.0.0.1:${kafkaPort}`], logLevel: process.env.KAFKAJS_DEBUG ? logLevel.DEBUG : logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: Number(sessionTimeoutMs),
  rebalanceTimeout: 10_000,
  heartbeatInterval: 300,
  maxWaitTimeInMs: 200,
});

consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const partitions = (payload.memberAssignment[topic] ?? []).slice().sort((a: number, b: number) => a - b);
  process.stdout.write(`${JSON.stringify({ memberId: payload.memberId, partitions })}\n`);
});

process.on("SIGTERM", () => {
  void consumer.disconnect().finally(() => process.exit(0));
});

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({ eachMessage: async () => {} });

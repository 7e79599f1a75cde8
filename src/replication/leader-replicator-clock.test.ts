import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { LeaderReplicator } from "./leader-replicator.ts";
import { StreamDecoder } from "./stream-codec.ts";

const LAG_MAX_MS = 1000;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

test("the leader's tick runs on its clock: a silent follower leaves the in-sync set at the first tick past replica.lag.max.ms", async () => {
  const temp = makeTempDir("gafka-leader-clock-");
  cleanups.push(temp.remove);
  const clock = new ManualClock();
  const broker = await Broker.open(testBrokerConfig(temp.dir), { leaderEpoch: () => 0 });
  await broker.createTopic("t", 1);
  const replicator = new LeaderReplicator({
    broker,
    clock,
    logger: silentLogger,
    leaderId: 1,
    leaderEpoch: 0,
    clusterId: "AAAAAAAAAAAAAAAAAAAAAA",
    replicaLagMaxMs: LAG_MAX_MS, // ticks every 250 ms, heartbeats every 250 ms
    minInsyncReplicas: 1,
    checkpoint: new Map(),
    knownFollowers: [],
    offsetsSnapshot: () => ({ sequence: 0, entries: [] }),
    onFollowerSeen: () => {},
  });
  cleanups.push(async () => {
    replicator.stop(new GafkaError("shutting_down", "test over", { retriable: true }));
    await broker.close();
  });
  const createdAtMs = broker.topicMetadata()[0]!.createdAtMs;
  const session = replicator.openSession(
    { followerId: 2, address: "127.0.0.1:2", leaderEpoch: 0, clusterId: null, partitions: [{ topic: "t", topicCreatedAtMs: createdAtMs, partition: 0, logEndOffset: 0, durableEndOffset: 0, epochs: [] }] },
    () => [],
  );
  const { value } = await session.stream.getReader().read();
  const sentAt = new StreamDecoder().push(value!).find((message) => message.type === "sent_at");
  expect(sentAt).toMatchObject({ sentAtMs: clock.monotonicMs() });
  const inSync = () => replicator.status()[0]!.partitions[0]!.inSync;
  replicator.acknowledge(2, session.id, [{ topic: "t", partition: 0, offset: 0 }], { sentAtMs: clock.monotonicMs() });
  expect(inSync()).toBe(true);

  clock.advance(LAG_MAX_MS); // ticks at 250, 500, 750, 1000: caught up exactly lag.max ago is still recent
  expect(inSync()).toBe(true);
  clock.advance(249);
  expect(inSync()).toBe(true); // no tick between 1000 and 1250
  clock.advance(1); // the tick at 1250 finds it silent for longer than lag.max
  expect(inSync()).toBe(false);
});

import { afterAll, expect, test } from "bun:test";
import { Consumer, Producer } from "../src/client/index.ts";
import { cleanupAll } from "./helpers/broker-process.ts";
import { createTopic, produce, startFollower, startLeader, status, waitCaughtUp } from "./helpers/cluster.ts";
import { waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

/**
 * An acks=all write refused for too few in-sync replicas (503
 * not_enough_replicas) is refused before its append: nothing is stored, so
 * the SDK producer's retry stores the record once. (Stored and then refused,
 * each retry added a copy: a consumer read the record twice.)
 */

test("acks=all with too few replicas in sync stores nothing; the SDK's retries store the record once", async () => {
  const leader = await startLeader(["--fsync=never", "--min-insync-replicas=2"]);
  await createTopic(leader, "t", 1);

  // No follower yet: only the leader is in sync.
  const refused = await produce(leader, "t", [{ partition: 0, value: "refused" }], "all");
  expect(refused.status).toBe(503);
  expect(refused.body.error).toMatchObject({ code: "not_enough_replicas", retriable: true, in_sync_replicas: 1, min_insync_replicas: 2 });
  expect((await status(leader)).partitions[0].log_end_offset).toBe(0);

  // The SDK retries the refusal until a follower is in sync; the follower starts once it has been refused.
  let refusals = 0;
  const producer = new Producer({ broker: leader.url, acks: "all", retryDeadlineMs: 30_000, onRetry: () => void refusals++ });
  const sent = producer.send({ topic: "t", partition: 0, value: "one" });
  await waitFor(() => refusals > 0, "the producer to be refused");
  const follower = await startFollower(leader, 2, ["--fsync=never"]);
  expect((await sent).offset).toBe(0);
  await producer.send({ topic: "t", partition: 0, value: "two" });
  await producer.close();
  await waitCaughtUp(leader, [follower]);

  const consumer = new Consumer({ broker: follower.url, topic: "t", partition: 0 });
  const records: string[] = [];
  await waitFor(async () => {
    records.push(...(await consumer.poll({ maxRecords: 10, waitMs: 100 })).map((record) => String(record.value)));
    return records.length >= 2;
  }, "the follower to serve the records");
  await consumer.close();
  expect(records).toEqual(["one", "two"]);
  expect(consumer.highWatermark()).toBe(2);
});

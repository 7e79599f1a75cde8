import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { silentLogger } from "../core/logger.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { mayExpire } from "./follower-expiry.ts";
import { NEVER, newFollowerReplica } from "./follower-replica.ts";
import type { StreamRequest } from "./follower-requests.ts";
import { LeaderLease } from "./leader-lease.ts";
import { LeaderReplicator } from "./leader-replicator.ts";
import { type StreamMessage, StreamDecoder } from "./stream-codec.ts";
import type { StreamSession } from "./stream-session.ts";

const LAG_MAX_MS = 1000;
const EXPIRY_MS = 5000;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function leader(knownFollowers: { id: number; address: string }[] = [], replicasStated?: number) {
  const temp = makeTempDir("gafka-expiry-");
  cleanups.push(temp.remove);
  const clock = new ManualClock();
  const broker = await Broker.open(testBrokerConfig(temp.dir), { leaderEpoch: () => 0 });
  await broker.createTopic("t", 1);
  const expired: number[][] = [];
  const replicator = new LeaderReplicator({
    broker,
    clock,
    logger: silentLogger,
    leaderId: 1,
    leaderEpoch: 0,
    clusterId: "AAAAAAAAAAAAAAAAAAAAAA",
    replicaLagMaxMs: LAG_MAX_MS,
    minInsyncReplicas: 2,
    checkpoint: new Map(),
    knownFollowers,
    offsetsSnapshot: () => ({ sequence: 0, entries: [] }),
    onFollowerSeen: () => {},
    followerExpiryMs: EXPIRY_MS,
    replicasStated,
    onFollowersExpired: (ids) => expired.push(ids),
  });
  cleanups.push(async () => {
    replicator.stop(new GafkaError("shutting_down", "test over", { retriable: true }));
    await broker.close();
  });
  const createdAtMs = broker.topicMetadata()[0]!.createdAtMs;
  const request = (followerId: number): StreamRequest => ({
    followerId,
    address: `127.0.0.1:${followerId}`,
    leaderEpoch: 0,
    clusterId: null,
    partitions: [{ topic: "t", topicCreatedAtMs: createdAtMs, partition: 0, logEndOffset: 0, durableEndOffset: 0, epochs: [] }],
  });
  const ids = () => replicator.status().map((follower) => follower.id);
  return { clock, replicator, request, expired, ids };
}

async function firstMessages(stream: ReadableStream<Uint8Array>): Promise<StreamMessage[]> {
  const { value } = await stream.getReader().read();
  return new StreamDecoder().push(value!);
}

test("a follower unheard for --follower-expiry and in no in-sync set is dropped; one heard from keeps its slot", async () => {
  const { clock, replicator, request, expired, ids } = await leader();
  // Follower 2 catches up and joins the in-sync set, then its stream ends.
  const real = replicator.openSession(request(2), () => []);
  replicator.acknowledge(2, real.id, [{ topic: "t", partition: 0, offset: 0 }], { sentAtMs: clock.monotonicMs() });
  expect(replicator.status()[0]!.partitions[0]!.inSync).toBe(true);
  // Follower 3 opens a stream and never acknowledges anything.
  const fake = replicator.openSession(request(3), () => []);
  fake.close();
  real.close();
  expect(ids()).toEqual([2, 3]);

  clock.advance(EXPIRY_MS - 1);
  expect(ids()).toEqual([2, 3]);
  expect(expired).toEqual([]);
  clock.advance(250); // the next tick: both unheard for --follower-expiry; 2 left the in-sync set a lag.max after its last catch-up
  expect(ids()).toEqual([]);
  expect(expired.flat().sort()).toEqual([2, 3]);

  // A follower that is heard from keeps its slot however long it lives.
  const again = replicator.openSession(request(2), () => []);
  clock.advance(EXPIRY_MS * 3);
  expect(ids()).toEqual([2]);
  again.close();
});

test("only a follower that counts for nothing may expire: no stream, unheard, in no in-sync set, caught up nowhere recently, not in the lease", () => {
  const lease = new LeaderLease(LAG_MAX_MS, 2);
  const rules = { expiryMs: EXPIRY_MS, replicaLagMaxMs: LAG_MAX_MS, lease };
  const now = 100_000;
  const follower = newFollowerReplica(2, "127.0.0.1:2", now - EXPIRY_MS);
  follower.partitions.set("t-0", { ackedOffset: 5, lastCaughtUpMs: NEVER, inSync: false, sent: [] });
  expect(mayExpire(follower, now, rules)).toBe(true);
  expect(mayExpire(follower, now - 1, rules)).toBe(false); // unheard for less than --follower-expiry

  const replica = follower.partitions.get("t-0")!;
  replica.inSync = true; // in the in-sync set (a restored checkpoint, say): it counts for the commit rule
  expect(mayExpire(follower, now, rules)).toBe(false);
  replica.inSync = false;
  replica.lastCaughtUpMs = now - LAG_MAX_MS; // caught up recently: it holds the high watermark back until it joins
  expect(mayExpire(follower, now, rules)).toBe(false);
  replica.lastCaughtUpMs = NEVER;
  lease.renew(2, now - 10, now); // it keeps the leader's lease
  expect(mayExpire(follower, now, rules)).toBe(false);
  lease.forget(2);
  follower.session = {} as StreamSession; // a stream is open
  expect(mayExpire(follower, now, rules)).toBe(false);
  follower.session = undefined;
  // Never sooner than --replica-lag-max, whatever --follower-expiry says: the offsets quorum counts a follower that long.
  expect(mayExpire(follower, now, { ...rules, expiryMs: 1 })).toBe(true);
  expect(mayExpire(newFollowerReplica(3, "127.0.0.1:3", now - LAG_MAX_MS + 1), now, { ...rules, expiryMs: 1 })).toBe(false);
});

test("full slots: a new follower gets a retriable 429 while the others live, and takes an expired one's slot", async () => {
  const known = Array.from({ length: limits.followersMax }, (_, i) => ({ id: 100 + i, address: `127.0.0.1:${100 + i}` }));
  // As after a restart: the slots are full of followers from replication.json, not heard from since.
  const { clock, replicator, request, ids } = await leader(known, 1 + limits.followersMax);
  let refusal: unknown;
  try {
    replicator.openSession(request(2), () => []);
  } catch (error) {
    refusal = error;
  }
  expect(refusal).toBeInstanceOf(GafkaError);
  expect(refusal).toMatchObject({ code: "too_many_requests", retriable: true, details: { followers_max: limits.followersMax, follower_expiry_ms: EXPIRY_MS } });

  clock.advance(EXPIRY_MS - 100); // not yet: a restarted leader gives each a whole --follower-expiry to come back
  expect(ids()).toHaveLength(limits.followersMax);
  clock.advance(100); // the slot is freed when the new follower asks, not only at the next tick
  const session = replicator.openSession(request(2), () => []);
  expect(ids()).toEqual([2]);
  // R stated to the follower is not lowered by the expiry: the high watermark may have moved with copies on those gone.
  const metadata = (await firstMessages(session.stream)).find((message) => message.type === "metadata");
  expect(metadata).toMatchObject({ followers: [{ id: 2, address: "127.0.0.1:2" }], replicas: 1 + limits.followersMax });
});

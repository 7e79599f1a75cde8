import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import { GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { LeaderReplicator } from "./leader-replicator.ts";
import { StreamDecoder } from "./stream-codec.ts";
import type { StreamSession } from "./stream-session.ts";

const LAG_MAX_MS = 1000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Monotonic time moves only when the test says so. */
class FakeClock implements Clock {
  ms = 50_000;
  nowMs(): number {
    return 1_764_000_000_000 + this.ms;
  }
  monotonicMs(): number {
    return this.ms;
  }
  setTimeout = systemClock.setTimeout;
  setInterval = systemClock.setInterval;
}

/** A leader over a real broker (one partition) and the replicator under test, driven by a fake clock. */
async function leaderWith(minInsyncReplicas: number) {
  const temp = makeTempDir("gafka-leader-");
  cleanups.push(temp.remove);
  const clock = new FakeClock();
  const broker = await Broker.open(testBrokerConfig(temp.dir), { leaderEpoch: () => 0 });
  await broker.createTopic("t", 1);
  const log = broker.partitionEntries()[0]!.log!;
  const replicator = new LeaderReplicator({
    broker,
    clock,
    logger: silentLogger,
    leaderId: 1,
    leaderEpoch: 0,
    clusterId: "AAAAAAAAAAAAAAAAAAAAAA",
    replicaLagMaxMs: LAG_MAX_MS,
    minInsyncReplicas,
    checkpoint: new Map(),
    knownFollowers: [],
    offsetsSnapshot: () => ({ sequence: 0, entries: [] }),
    onFollowerSeen: () => {},
  });
  log.onDurable(() => replicator.durableAdvanced(log));
  cleanups.push(async () => {
    replicator.stop(new GafkaError("shutting_down", "test over", { retriable: true }));
    await broker.close();
  });
  const produce = async (count: number) => {
    const value = new TextEncoder().encode("v");
    await broker.produce("t", Array.from({ length: count }, () => ({ partition: 0, key: null, value, headers: [] })));
  };
  return { clock, broker, log, replicator, produce, follower: () => new TestFollower(replicator, broker, log) };
}

/** Follower 2's side of one stream: reads what the leader sends and acknowledges what the test says. */
class TestFollower {
  readonly session: StreamSession;
  private readonly reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> };
  private readonly decoder = new StreamDecoder();
  private pending: Promise<{ done: boolean; value?: Uint8Array }> | undefined;
  /** The newest `sent_at` stamp received. */
  sentAtMs: number | undefined;

  constructor(
    private readonly replicator: LeaderReplicator,
    broker: Broker,
    log: PartitionLogApi,
  ) {
    const createdAtMs = broker.topicMetadata()[0]!.createdAtMs;
    this.session = replicator.openSession(
      {
        followerId: 2,
        address: "127.0.0.1:2",
        leaderEpoch: 0,
        clusterId: null,
        partitions: [{ topic: "t", topicCreatedAtMs: createdAtMs, partition: 0, logEndOffset: 0, durableEndOffset: 0, epochs: [] }],
      },
      () => [],
    );
    this.reader = this.session.stream.getReader();
    void log;
  }

  /** Takes in everything the leader has put out by now (each read makes the leader send more). */
  async receive(): Promise<void> {
    for (;;) {
      this.pending ??= this.reader.read();
      const result = await Promise.race([this.pending, Bun.sleep(30).then(() => undefined)]);
      if (result === undefined) return;
      this.pending = undefined;
      if (result.done || result.value === undefined) return;
      for (const message of this.decoder.push(result.value)) if (message.type === "sent_at") this.sentAtMs = message.sentAtMs;
    }
  }

  /** Reports holding offsets below `offset` durably, echoing the newest stamp unless told not to. */
  ack(offset: number, echo = true): void {
    const accepted = this.replicator.acknowledge(2, this.session.id, [{ topic: "t", partition: 0, offset }], { sentAtMs: echo ? this.sentAtMs : undefined });
    expect(accepted).toBe(true);
  }

  inSync(): boolean {
    return this.replicator.status()[0]!.partitions[0]!.inSync;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await Bun.sleep(10);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

async function rejection(promise: Promise<unknown>): Promise<GafkaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GafkaError)) throw new Error(`expected a GafkaError, got ${String(error)}`);
  return error;
}

test("min.insync.replicas 2: the high watermark stays at what 2 replicas hold when the follower falls out, and an acks=all wait fails", async () => {
  const { clock, log, replicator, produce, follower } = await leaderWith(2);
  const f = follower();
  await f.receive();
  f.ack(0);
  expect(f.inSync()).toBe(true);
  expect(replicator.leaseHeld()).toBe(true);

  await produce(5);
  expect(log.durableEndOffset).toBe(5);
  expect(log.highWatermark).toBe(0); // one copy only
  await f.receive();
  f.ack(5);
  expect(log.highWatermark).toBe(5);

  await produce(5);
  const waiting = replicator.waitForInSync(log, 10);
  clock.ms += LAG_MAX_MS + 1; // the follower goes silent
  const failed = await rejection(waiting);
  expect(failed.code).toBe("not_enough_replicas_after_append");
  expect(failed.retriable).toBe(true);
  expect(failed.details).toMatchObject({ in_sync_replicas: 1, min_insync_replicas: 2 });
  expect(f.inSync()).toBe(false);
  expect(replicator.leaseHeld()).toBe(false);

  // acks=1 goes on; nothing past the second copy becomes visible.
  await produce(5);
  expect(log.durableEndOffset).toBe(15);
  expect(log.highWatermark).toBe(5);
  // Before an append: refused with nothing written. After one: stored, not acknowledged.
  let refused: unknown;
  try {
    replicator.checkInSync(log);
  } catch (error) {
    refused = error;
  }
  expect(refused).toMatchObject({ code: "not_enough_replicas", retriable: true, details: { in_sync_replicas: 1, min_insync_replicas: 2 } });
  expect((await rejection(replicator.waitForInSync(log, 15))).code).toBe("not_enough_replicas_after_append");

  // Heard again and caught up: it rejoins and the high watermark follows it.
  await f.receive();
  f.ack(15);
  expect(f.inSync()).toBe(true);
  expect(replicator.leaseHeld()).toBe(true);
  expect(log.highWatermark).toBe(15);
});

test("a follower caught up to the leader's log end as of a recent send rejoins, though the leader keeps appending", async () => {
  // Scenario G: with N = 1 and no follower in sync the high watermark is the log end, which runs on.
  const { clock, log, replicator, produce, follower } = await leaderWith(1);
  const f = follower();
  await f.receive();
  f.ack(0);
  expect(f.inSync()).toBe(true);
  await produce(5); // which it does not acknowledge
  clock.ms += LAG_MAX_MS + 1;
  await until(() => !f.inSync(), "the lagging follower to fall out");

  let rounds = 0;
  while (!f.inSync() && rounds < 5) {
    rounds++;
    await produce(5);
    await f.receive(); // everything the leader held, sent at one time
    const held = log.durableEndOffset;
    await produce(5); // the leader runs on before the follower's ack arrives
    clock.ms += 200;
    const highWatermarkBefore = log.highWatermark;
    f.ack(held);
    expect(log.highWatermark).toBeGreaterThanOrEqual(highWatermarkBefore); // never back
  }
  expect(f.inSync()).toBe(true);
  expect(rounds).toBeLessThanOrEqual(2);
  void replicator;
});

test("the lease runs from the echoed send time and needs an echo", async () => {
  const { clock, log, replicator, produce, follower } = await leaderWith(2);
  expect(replicator.leaseHeld()).toBe(false); // no follower heard yet
  const f = follower();
  await f.receive();
  const sentAtMs = f.sentAtMs!;
  expect(sentAtMs).toBe(clock.ms);

  clock.ms += LAG_MAX_MS - 100;
  f.ack(0); // arrives late, but within the period of its send
  expect(replicator.leaseHeld()).toBe(true);
  expect(replicator.leaseStatus()).toMatchObject({ held: true, followersHeard: 1, followersNeeded: 1, remainingMs: 100 });
  clock.ms += 200; // the ack came only 200 ms ago; its stamp is older than the period
  expect(replicator.leaseHeld()).toBe(false);
  f.ack(0); // the same stamp again renews nothing
  expect(replicator.leaseHeld()).toBe(false);

  // Acks without an echo prove nothing: in sync by its positions, yet the high watermark does not move.
  await produce(3);
  await f.receive();
  f.ack(3, false);
  expect(f.inSync()).toBe(true);
  expect(replicator.leaseHeld()).toBe(false);
  expect(log.highWatermark).toBe(0);

  await f.receive(); // a heartbeat at least is due by now, with a fresh stamp
  expect(f.sentAtMs).toBe(clock.ms);
  f.ack(3);
  expect(replicator.leaseHeld()).toBe(true);
  expect(log.highWatermark).toBe(3);

  // A follower leaving cleanly stops counting at once.
  expect(replicator.acknowledge(2, f.session.id, [], { leaving: true })).toBe(true);
  expect(replicator.leaseHeld()).toBe(false);
});

test("with min.insync.replicas 1 the leader alone holds its lease and its high watermark runs with its log", async () => {
  const { log, replicator, produce } = await leaderWith(1);
  expect(replicator.leaseHeld()).toBe(true);
  expect(replicator.leaseStatus()).toMatchObject({ held: true, followersNeeded: 0, remainingMs: null });
  await produce(4);
  expect(log.highWatermark).toBe(4);
  await replicator.waitForInSync(log, 4);
});

test("an ack counts only under the follower's current session, whose id cannot be guessed; one past the log end is refused and counts for nothing", async () => {
  const { log, replicator, produce, follower } = await leaderWith(2);
  const f = follower();
  expect(f.session.id).toMatch(/^[0-9a-f]{32}$/);
  await f.receive();
  f.ack(0);
  await produce(2);
  await f.receive();
  f.ack(1); // the follower holds 1 of the 2 records
  expect(log.highWatermark).toBe(1);
  const waiting = replicator.waitForInSync(log, 2);
  let done = false;
  void waiting.then(() => (done = true), () => (done = true));

  // A forged ack naming a guessed session (the first, under the old sequential ids) is not counted.
  expect(replicator.acknowledge(2, "00000000000000000000000000000001", [{ topic: "t", partition: 0, offset: 9_000_000_000 }], { sentAtMs: f.sentAtMs })).toBe(false);
  // Nor one past what the leader holds, even under the right session: a 400, and nothing of it counts.
  let refused: unknown;
  try {
    replicator.acknowledge(2, f.session.id, [{ topic: "t", partition: 0, offset: 9_000_000_000 }], { sentAtMs: f.sentAtMs });
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(GafkaError);
  expect((refused as GafkaError).code).toBe("invalid_request");
  await Bun.sleep(20);
  expect(done).toBe(false);
  expect(log.highWatermark).toBe(1);
  expect(replicator.status()[0]!.partitions[0]!.ackedOffset).toBe(1);

  f.ack(2);
  await waiting;
  expect(log.highWatermark).toBe(2);
});

test("every stream session gets a fresh random id, and the previous one stops counting", async () => {
  const { replicator, follower } = await leaderWith(1);
  const first = follower();
  const second = follower();
  expect(second.session.id).not.toBe(first.session.id);
  expect(replicator.acknowledge(2, first.session.id, [])).toBe(false);
  expect(replicator.acknowledge(2, second.session.id, [])).toBe(true);
});

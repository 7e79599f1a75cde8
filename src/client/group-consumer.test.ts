import { describe, expect, test } from "bun:test";
import { GafkaClientError } from "./client-error.ts";
import { defaultConsumerId, GroupConsumer, type GroupConsumerOptions } from "./group-consumer.ts";
import type { FetchFunction } from "./http-client.ts";
import { batchAnswerBytes, batchResponse, storedBatch, utf8 } from "./record-batch-answer.fixture.ts";
import { RECORD_BATCH_MEDIA_TYPE } from "./wire.ts";

/** One request as the scripted broker saw it. */
interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  body: any;
  accept: string | undefined;
}

type Handler = (request: Seen, signal: AbortSignal | undefined) => Response | Promise<Response>;

/**
 * A scripted broker: every request is recorded, and the handler for its
 * `METHOD kind` (join, heartbeat, leave, consume, commit) answers it. A
 * missing handler is a test bug and answers 500.
 */
function scriptedBroker(handlers: Partial<Record<"join" | "heartbeat" | "leave" | "consume" | "commit", Handler>>) {
  const seen: Seen[] = [];
  const fetchFunction: FetchFunction = async (url, init) => {
    const parsed = new URL(url);
    const request: Seen = {
      method: init.method ?? "GET",
      path: parsed.pathname,
      query: parsed.searchParams,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
      accept: (init.headers as Record<string, string> | undefined)?.accept,
    };
    seen.push(request);
    const handler = handlers[kindOf(request)];
    if (handler === undefined) return Response.json({ error: { code: "internal_error", message: `no script for ${kindOf(request)}` } }, { status: 500 });
    return handler(request, init.signal ?? undefined);
  };
  const kinds = () => seen.map(kindOf);
  const consumer = (options: Partial<GroupConsumerOptions> = {}) =>
    new GroupConsumer({ groupId: "g", consumerId: "c1", topics: ["t"], fetch: fetchFunction, retryBackoffMs: 1, ...options });
  return { seen, kinds, consumer };
}

function kindOf(request: Seen): "join" | "heartbeat" | "leave" | "consume" | "commit" {
  if (request.path === "/api/v1/consume") return "consume";
  if (request.path.endsWith("/heartbeat")) return "heartbeat";
  if (request.path.endsWith("/offsets")) return "commit";
  return request.method === "DELETE" ? "leave" : "join";
}

const membership = (generation: number, assignment: [string, number][], sessionTimeoutMs = 10_000) => ({
  group_id: "g",
  consumer_id: "c1",
  generation,
  assignment: assignment.map(([topic, partition]) => ({ topic, partition })),
  session_timeout_ms: sessionTimeoutMs,
});

const record = (topic: string, partition: number, offset: number) => ({
  topic,
  partition,
  offset,
  key: null,
  value: `${topic}-${partition}-${offset}`,
  headers: {},
  timestamp: 1,
});

const conflict = (code: string, generation: number, assignment: [string, number][]) =>
  Response.json(
    { error: { code, message: `${code} (test)`, generation, member_id: "c1", assignment: assignment.map(([topic, partition]) => ({ topic, partition })) } },
    { status: 409 },
  );

/** A commit handler that notes the offsets of each commit and answers that they were committed. */
function committing(commits: unknown[]): Handler {
  return (request) => {
    commits.push(request.body.offsets);
    return Response.json({ group_id: "g", committed: request.body.offsets });
  };
}

/** Holds a long poll until the request is aborted, then fails as fetch does. */
function hangUntilAborted(signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true }));
}

async function until(condition: () => boolean, what: string, waitMs = 5_000): Promise<void> {
  const deadline = performance.now() + waitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

describe("GroupConsumer", () => {
  test("joins, long-polls with its generation, and the next poll acknowledges the batch", async () => {
    let consumes = 0;
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: () => Response.json({ ...membership(1, [["t", 0]]), records: consumes++ === 0 ? [record("t", 0, 0), record("t", 0, 1)] : [] }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer({ sessionTimeoutMs: 3_000, assignor: "sticky", maxRecords: 7 });
    const batch = await consumer.poll({ waitMs: 250 });
    expect(batch.map((each) => [each.topic, each.partition, each.offset, each.value])).toEqual([
      ["t", 0, 0, "t-0-0"],
      ["t", 0, 1, "t-0-1"],
    ]);
    const [join, consume] = broker.seen;
    expect(join!.method).toBe("POST");
    expect(join!.path).toBe("/api/v1/consumer-groups/g/members/c1");
    expect(join!.body).toEqual({ topics: ["t"], session_timeout_ms: 3_000, assignor: "sticky" });
    expect(Object.fromEntries(consume!.query)).toEqual({
      topic: "t",
      group_id: "g",
      consumer_id: "c1",
      generation: "1",
      count: "7",
      timeout: "250ms",
      session_timeout_ms: "3000",
      assignor: "sticky",
    });
    expect(consumer.membership()).toEqual({ groupId: "g", consumerId: "c1", generation: 1, assignment: [{ topic: "t", partition: 0 }], sessionTimeoutMs: 10_000, leaderEpoch: 0 });
    // Asking again is the acknowledgement: no explicit commit goes out.
    expect(await consumer.poll()).toEqual([]);
    expect(broker.kinds()).toEqual(["join", "consume", "consume"]);
    await consumer.close();
    expect(broker.kinds().at(-1)).toBe("leave");
  });

  test("a 409 stale_generation is followed with the generation and assignment it carries", async () => {
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0], ["t", 1]])),
      consume: (request) =>
        request.query.get("generation") === "1"
          ? conflict("stale_generation", 2, [["t", 1]])
          : Response.json({ ...membership(2, [["t", 1]]), records: [record("t", 1, 4)] }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    expect((await consumer.poll()).map((each) => each.offset)).toEqual([4]);
    expect(broker.seen.filter((each) => each.path === "/api/v1/consume").map((each) => each.query.get("generation"))).toEqual(["1", "2"]);
    expect(consumer.membership()?.assignment).toEqual([{ topic: "t", partition: 1 }]);
    await consumer.close();
  });

  test("a 404 unknown_member from the heartbeat makes the next poll join again", async () => {
    let joins = 0;
    const broker = scriptedBroker({
      join: () => Response.json(membership(++joins, [["t", 0]])),
      heartbeat: () => Response.json({ error: { code: "unknown_member", message: "session expired" } }, { status: 404 }),
      consume: (request) => Response.json({ ...membership(Number(request.query.get("generation")), [["t", 0]]), records: [] }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer({ heartbeatIntervalMs: 5 });
    await consumer.join();
    await until(() => consumer.membership() === undefined, "the heartbeat to notice the lost session");
    await consumer.poll();
    expect(joins).toBe(2);
    expect(broker.seen.find((each) => each.path === "/api/v1/consume")!.query.get("generation")).toBe("2");
    await consumer.close();
  });

  test("heartbeats run in the background at a third of the session timeout the broker confirmed", async () => {
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]], 150)),
      heartbeat: () => Response.json(membership(2, [["t", 0], ["t", 1]], 150)),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    await consumer.join();
    await until(() => broker.kinds().filter((kind) => kind === "heartbeat").length >= 3, "three heartbeats");
    // A heartbeat that reports a new generation updates the membership.
    expect(consumer.membership()?.generation).toBe(2);
    await consumer.close();
    const heartbeats = broker.kinds().filter((kind) => kind === "heartbeat").length;
    await Bun.sleep(200); // a settle, not an assertion on time: no heartbeat may follow close()
    expect(broker.kinds().filter((kind) => kind === "heartbeat").length).toBe(heartbeats);
  });

  test("a lost consume answer makes it leave and join again, so no unseen record is acknowledged", async () => {
    let consumes = 0;
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: () => {
        if (consumes++ === 0) throw Object.assign(new TypeError("socket closed"), { code: "ECONNRESET" });
        return Response.json({ ...membership(1, [["t", 0]]), records: [record("t", 0, 0)] });
      },
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    expect((await consumer.poll()).map((each) => each.offset)).toEqual([0]);
    expect(broker.kinds()).toEqual(["join", "consume", "leave", "join", "consume"]);
    await consumer.close();
  });

  test("a broker restart: the lost answer, refused connections while it is down, then a broker that no longer knows the member", async () => {
    let down = false;
    let restarted = false;
    const refuse = () => {
      throw Object.assign(new TypeError("Failed to connect"), { code: "ECONNREFUSED" });
    };
    const broker = scriptedBroker({
      join: () => (down ? refuse() : Response.json(membership(restarted ? 1 : 4, [["t", 0]]))),
      consume: () => {
        if (down) return refuse();
        if (!restarted) {
          down = true; // killed mid long poll: the answer is lost
          throw Object.assign(new TypeError("socket closed"), { code: "ECONNRESET" });
        }
        // A new broker process: generation 1 again, and the committed offset is where reading resumes.
        return Response.json({ ...membership(1, [["t", 0]]), records: [record("t", 0, 7)] });
      },
      leave: () => {
        if (down) return refuse();
        return Response.json({ error: { code: "unknown_member", message: "unknown member c1" } }, { status: 404 });
      },
    });
    const retries: number[] = [];
    const consumer = broker.consumer({
      retryBackoffMaxMs: 2,
      // Comes back after eight failed attempts, far more than a fixed count of retries would ride out.
      onRetry: ({ failures }) => {
        retries.push(failures);
        if (retries.length === 8) {
          down = false;
          restarted = true;
        }
      },
    });
    expect((await consumer.poll()).map((each) => each.offset)).toEqual([7]);
    expect(consumer.membership()?.generation).toBe(1);
    const kinds = broker.kinds().filter((kind) => kind !== "heartbeat");
    expect(kinds.slice(0, 2)).toEqual(["join", "consume"]);
    expect(kinds.slice(-3)).toEqual(["leave", "join", "consume"]); // the unknown member counts as left
    await consumer.close();
  });

  test("a broker that stays away: the poll gives up once retryDeadlineMs has passed", async () => {
    const broker = scriptedBroker({
      join: () => {
        throw Object.assign(new TypeError("Failed to connect"), { code: "ECONNREFUSED" });
      },
    });
    const consumer = broker.consumer({ retryBackoffMaxMs: 5, retryDeadlineMs: 50 });
    const error = (await consumer.poll().catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error).toBeInstanceOf(GafkaClientError);
    expect(error.code).toBe("network_error");
    expect(error.message).toMatch(/^gave up after \d+ms and \d+ attempts: cannot reach broker at http:\/\/localhost:9001 \(ECONNREFUSED\)$/);
    await consumer.close();
  });

  test("commit() sends the offsets after the last batch, with its id and generation, and follows a rebalance", async () => {
    const commits: any[] = [];
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0], ["t", 1]])),
      consume: () => Response.json({ ...membership(1, [["t", 0], ["t", 1]]), records: [record("t", 0, 5), record("t", 0, 6), record("t", 1, 3)] }),
      commit: (request) => {
        commits.push(request.body);
        if (request.body.generation === 1) return conflict("stale_generation", 2, [["t", 0]]);
        return Response.json({ group_id: "g", committed: request.body.offsets });
      },
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    await consumer.poll();
    expect(await consumer.commit()).toEqual([{ topic: "t", partition: 0, offset: 7 }]);
    expect(commits).toEqual([
      {
        consumer_id: "c1",
        generation: 1,
        offsets: [
          { topic: "t", partition: 0, offset: 7 },
          { topic: "t", partition: 1, offset: 4 },
        ],
      },
      // t/1 was taken away: its new owner gets offset 3 again.
      { consumer_id: "c1", generation: 2, offsets: [{ topic: "t", partition: 0, offset: 7 }] },
    ]);
    expect(await consumer.commit()).toEqual([]); // nothing new handed out
    expect(commits).toHaveLength(2);
    await consumer.close();
  });

  test("autoCommitIntervalMs: polls commit nothing; positions are committed in the background once the interval passes, and at close", async () => {
    let consumes = 0;
    const commits: any[] = [];
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0], ["t", 1]])),
      consume: () => {
        consumes++;
        const records = consumes === 1 ? [record("t", 0, 0), record("t", 1, 0)] : consumes === 2 ? [record("t", 0, 1)] : [];
        return Response.json({ ...membership(1, [["t", 0], ["t", 1]]), records });
      },
      commit: committing(commits),
      leave: () => Response.json({ left: true }),
    });
    expect(() => broker.consumer({ autoCommitIntervalMs: -1 })).toThrow("autoCommitIntervalMs");
    const consumer = broker.consumer({ autoCommitIntervalMs: 500 });
    expect((await consumer.poll({ waitMs: 1_000 })).map((r) => r.offset)).toEqual([0, 0]);
    expect(broker.seen[1]!.query.get("commit")).toBe("none");
    // Within the interval: nothing is committed, not even by asking again.
    expect((await consumer.poll({ waitMs: 1_000 })).map((r) => r.offset)).toEqual([1]);
    expect(commits).toEqual([]);
    await Bun.sleep(550);
    // The first poll after the interval commits everything handed out so far, without waiting for it.
    await consumer.poll({ waitMs: 1_000 });
    await until(() => commits.length === 1, "the background commit");
    expect(commits[0]).toEqual([
      { topic: "t", partition: 0, offset: 2 },
      { topic: "t", partition: 1, offset: 1 },
    ]);
    expect(broker.seen.filter((request) => kindOf(request) === "consume").every((request) => request.query.get("commit") === "none")).toBe(true);
    // Nothing new since: neither the next interval nor close commits again.
    await Bun.sleep(550);
    await consumer.poll({ waitMs: 1_000 });
    await consumer.close({ commit: true });
    expect(commits).toHaveLength(1);
    expect(broker.kinds().at(-1)).toBe("leave");
  });

  test("autoCommitIntervalMs: the next consume call goes out when a poll returns; its records are handed out (and committed) only by a later poll", async () => {
    let consumes = 0;
    let releaseSecond: (() => void) | undefined;
    const commits: any[] = [];
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: async (_, signal) => {
        consumes++;
        if (consumes === 1) return Response.json({ ...membership(1, [["t", 0]]), records: [record("t", 0, 0)] });
        if (consumes === 2) {
          await new Promise<void>((resolve) => (releaseSecond = resolve));
          return Response.json({ ...membership(1, [["t", 0]]), records: [record("t", 0, 1), record("t", 0, 2)] });
        }
        return hangUntilAborted(signal);
      },
      commit: committing(commits),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer({ autoCommitIntervalMs: 60_000 });
    expect((await consumer.poll({ waitMs: 1_000 })).map((r) => r.offset)).toEqual([0]);
    // The next call is already out, waiting at the broker, before the caller polls again.
    await until(() => consumes === 2, "the call sent ahead");
    // A poll that may not wait as long as that call takes returns nothing; the call goes on.
    expect(await consumer.poll({ waitMs: 20 })).toEqual([]);
    expect(consumes).toBe(2);
    // Only what was handed out is committed: offset 1, not what the call ahead will bring.
    expect(await consumer.commit()).toEqual([{ topic: "t", partition: 0, offset: 1 }]);
    releaseSecond!();
    expect((await consumer.poll({ waitMs: 1_000 })).map((r) => r.offset)).toEqual([1, 2]);
    await until(() => consumes === 3, "the next call sent ahead");
    await consumer.close({ commit: true });
    expect(commits).toEqual([[{ topic: "t", partition: 0, offset: 1 }], [{ topic: "t", partition: 0, offset: 3 }]]);
    expect(broker.kinds().at(-1)).toBe("leave");
  });

  test("autoCommitIntervalMs: a poll asking for fewer records than its call ahead brought gets that many; the rest go to the next poll", async () => {
    let consumes = 0;
    const commits: any[] = [];
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: (_, signal) => {
        consumes++;
        if (consumes <= 2) return Response.json({ ...membership(1, [["t", 0]]), records: [0, 1, 2].map((i) => record("t", 0, (consumes - 1) * 3 + i)) });
        return hangUntilAborted(signal);
      },
      commit: committing(commits),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer({ autoCommitIntervalMs: 60_000 });
    expect((await consumer.poll({ waitMs: 1_000, maxRecords: 3 })).map((r) => r.offset)).toEqual([0, 1, 2]);
    expect((await consumer.poll({ waitMs: 1_000, maxRecords: 2 })).map((r) => r.offset)).toEqual([3, 4]);
    expect(await consumer.commit()).toEqual([{ topic: "t", partition: 0, offset: 5 }]);
    // Offset 5 was brought but not handed out: no call goes out for it.
    expect(consumes).toBe(2);
    expect((await consumer.poll({ waitMs: 1_000, maxRecords: 2 })).map((r) => r.offset)).toEqual([5]);
    await until(() => consumes === 3, "the next call sent ahead");
    await consumer.close({ commit: true });
    expect(commits.at(-1)).toEqual([{ topic: "t", partition: 0, offset: 6 }]);
  });

  test("close() ends a poll in flight, commits the last batch when asked, and leaves", async () => {
    let consumes = 0;
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: (_, signal) =>
        consumes++ === 0 ? Response.json({ ...membership(1, [["t", 0]]), records: [record("t", 0, 0)] }) : hangUntilAborted(signal),
      commit: (request) => Response.json({ group_id: "g", committed: request.body.offsets }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    await consumer.poll();
    const waiting = consumer.poll({ waitMs: 30_000 });
    await until(() => consumes === 2, "the second poll to be waiting");
    await consumer.close({ commit: true });
    expect(await waiting).toEqual([]);
    expect(consumer.closed).toBe(true);
    expect(broker.kinds()).toEqual(["join", "consume", "consume", "commit", "leave"]);
    expect(broker.seen[3]!.body.offsets).toEqual([{ topic: "t", partition: 0, offset: 1 }]);
    const error = (await consumer.poll().catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error.code).toBe("client_closed");
  });

  test("for await yields batches, and leaving the loop leaves the group", async () => {
    let consumes = 0;
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: () => Response.json({ ...membership(1, [["t", 0]]), records: consumes < 3 ? [record("t", 0, consumes++)] : [] }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    const offsets: number[] = [];
    for await (const batch of consumer) {
      offsets.push(...batch.map((each) => each.offset));
      if (offsets.length === 2) break;
    }
    expect(offsets).toEqual([0, 1]);
    expect(consumer.closed).toBe(true);
    expect(broker.kinds().at(-1)).toBe("leave");
  });

  test("errors that are not about membership reach the caller", async () => {
    const broker = scriptedBroker({
      join: () => Response.json({ error: { code: "topic_not_found", message: "topic 't' does not exist" } }, { status: 404 }),
    });
    const error = (await broker.consumer().poll().catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error).toBeInstanceOf(GafkaClientError);
    expect(error.code).toBe("topic_not_found");
  });

  test("the default consumer id follows the broker's id rules and differs per consumer", () => {
    const id = defaultConsumerId();
    expect(id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(id).toContain(`-${process.pid}-`);
    expect(new GroupConsumer({ groupId: "g", topics: "a,b" }).topics).toEqual(["a", "b"]);
    expect(new GroupConsumer({ groupId: "g", topics: "a" }).consumerId).not.toBe(new GroupConsumer({ groupId: "g", topics: "a" }).consumerId);
  });

  test("record batches: asks for them, hands out each chunk's records, and commits after the last of each", async () => {
    const values = (from: number) =>
      [0, 1, 2].map((index) => ({ key: null, value: utf8(`v${from + index}`), headers: [], timestampMs: 1 }));
    const a = storedBatch(10, values(10)); // 10..12, of which 11..12 are delivered
    const b = storedBatch(0, values(0)); // 0..2, of which 0..1 are delivered
    const answer = batchAnswerBytes(membership(1, [["t", 0], ["t", 1]]), [
      { topic: "t", partition: 0, offset: 11, nextOffset: 13, batches: [a.bytes] },
      { topic: "t", partition: 1, offset: 0, nextOffset: 2, batches: [b.bytes] },
    ]);
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0], ["t", 1]])),
      consume: () => batchResponse(answer),
      commit: (request) => Response.json({ group_id: "g", committed: request.body.offsets }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    const batch = await consumer.poll();
    expect(batch.map((each) => [each.topic, each.partition, each.offset, each.value])).toEqual([
      ["t", 0, 11, "v11"],
      ["t", 0, 12, "v12"],
      ["t", 1, 0, "v0"],
      ["t", 1, 1, "v1"],
    ]);
    expect(batch[0]).toEqual({ topic: "t", partition: 0, offset: 11, timestamp: 1, key: null, value: "v11", headers: [] });
    expect(broker.seen.find((each) => each.path === "/api/v1/consume")!.accept).toBe(RECORD_BATCH_MEDIA_TYPE);
    expect(consumer.membership()?.generation).toBe(1);
    expect(await consumer.commit()).toEqual([
      { topic: "t", partition: 0, offset: 13 },
      { topic: "t", partition: 1, offset: 2 },
    ]);
    await consumer.close();
  });

  test("with format json it does not ask for record batches", async () => {
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: () => Response.json({ ...membership(1, [["t", 0]]), records: [record("t", 0, 0)] }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer({ format: "json" });
    expect((await consumer.poll()).map((each) => each.value)).toEqual(["t-0-0"]);
    expect(broker.seen.find((each) => each.path === "/api/v1/consume")!.accept).toBeUndefined();
    await consumer.close();
  });

  test("an answer it cannot read (a corrupt batch) makes it leave and join again, so nothing unseen is acknowledged", async () => {
    const { bytes } = storedBatch(0, [{ key: null, value: utf8("v"), headers: [], timestampMs: 1 }]);
    bytes[bytes.length - 1] ^= 0xff;
    let consumes = 0;
    const broker = scriptedBroker({
      join: () => Response.json(membership(1, [["t", 0]])),
      consume: () =>
        consumes++ === 0
          ? batchResponse(batchAnswerBytes(membership(1, [["t", 0]]), [{ topic: "t", partition: 0, offset: 0, nextOffset: 1, batches: [bytes] }]))
          : Response.json({ ...membership(1, [["t", 0]]), records: [] }),
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer();
    const error = (await consumer.poll().catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error.code).toBe("invalid_response");
    expect(await consumer.poll()).toEqual([]);
    expect(broker.kinds()).toEqual(["join", "consume", "leave", "join", "consume"]);
    await consumer.close();
  });

  test("an answer under a lower leader epoch than one seen is dropped: no records handed out, the member owns nothing and joins again", async () => {
    // Epoch 2 (the new leader's coordinator) first; then a deposed coordinator under epoch 1 answers
    // with both partitions and records; then the new one again.
    const answers = [
      { ...membership(1, [["t", 0]]), leader_epoch: 2 },
      { ...membership(3, [["t", 0], ["t", 1]]), leader_epoch: 1, records: [record("t", 1, 7)] },
    ];
    let consumes = 0;
    let joins = 0;
    const broker = scriptedBroker({
      join: () => Response.json(joins++ === 0 ? answers[0] : { ...membership(2, [["t", 0]]), leader_epoch: 2 }),
      consume: () => {
        consumes++;
        if (consumes === 1) return Response.json({ ...answers[0], records: [record("t", 0, 0)] });
        if (consumes === 2) return Response.json(answers[1]);
        return Response.json({ ...membership(2, [["t", 0]]), leader_epoch: 2, records: [record("t", 0, 1)] });
      },
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer({ format: "json" });
    expect((await consumer.poll()).map((each) => each.value)).toEqual(["t-0-0"]);
    expect(consumer.membership()).toMatchObject({ generation: 1, leaderEpoch: 2 });
    // The epoch-1 answer's records (t-1-7) are never handed out, nor is its assignment taken.
    const next = await consumer.poll();
    expect(next.map((each) => each.value)).toEqual(["t-0-1"]);
    expect(consumer.membership()).toMatchObject({ generation: 2, leaderEpoch: 2, assignment: [{ topic: "t", partition: 0 }] });
    expect(broker.kinds()).toEqual(["join", "consume", "consume", "join", "consume"]);
    await consumer.close();
  });

  test("a heartbeat answered under a lower leader epoch drops the assignment; a newer epoch's generation 1 replaces generation 3", async () => {
    let heartbeats = 0;
    const broker = scriptedBroker({
      join: () => Response.json({ ...membership(3, [["t", 0], ["t", 1]]), leader_epoch: 4 }),
      heartbeat: () => {
        heartbeats++;
        if (heartbeats === 1) return Response.json({ ...membership(1, [["t", 1]]), leader_epoch: 5 });
        return Response.json({ ...membership(4, [["t", 0], ["t", 1]]), leader_epoch: 4 });
      },
      leave: () => Response.json({ left: true }),
    });
    const consumer = broker.consumer({ heartbeatIntervalMs: 5 });
    await consumer.join();
    await waitUntil(() => heartbeats >= 1 && consumer.membership()?.leaderEpoch === 5);
    // The new leader's coordinator counts generations afresh: its generation 1 is taken over generation 3.
    expect(consumer.membership()).toMatchObject({ generation: 1, leaderEpoch: 5, assignment: [{ topic: "t", partition: 1 }] });
    // The deposed one (epoch 4) answers next: its assignment is dropped, the member owns nothing.
    await waitUntil(() => heartbeats >= 2 && consumer.membership() === undefined);
    await consumer.close();
  });
});

async function waitUntil(condition: () => boolean, boundMs = 10_000): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(2);
  }
}

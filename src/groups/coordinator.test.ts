import { afterEach, describe, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { type ErrorCode, GafkaError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { TopicPartition } from "./assignor.ts";
import { type GroupConsumeResult, GroupCoordinator } from "./coordinator.ts";

interface Fixture {
  broker: Broker;
  groups: GroupCoordinator;
  clock: ManualClock;
  dataDir: string;
  reopen(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fixture(): Promise<Fixture> {
  const temp = makeTempDir("gafka-groups-");
  cleanups.push(temp.remove);
  const clock = new ManualClock();
  const open = async () => {
    const broker = await Broker.open(testBrokerConfig(temp.dir, { clock }));
    const groups = GroupCoordinator.open({ broker, dataDir: temp.dir, fs: nodeFileSystem, clock, logger: silentLogger, sweepIntervalMs: 5 });
    return { broker, groups };
  };
  const state = { ...(await open()), clock, dataDir: temp.dir } as Fixture;
  const close = async () => {
    await state.groups.close();
    await state.broker.close();
  };
  cleanups.push(() => close());
  state.reopen = async () => {
    await close();
    Object.assign(state, await open());
  };
  return state;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function produce(broker: Broker, topic: string, partition: number, values: string[]): Promise<void> {
  await broker.produce(topic, values.map((value) => ({ partition, key: null, value: enc.encode(value), headers: [] })));
}

function names(assignment: TopicPartition[]): string[] {
  return assignment.map((tp) => `${tp.topic}-${tp.partition}`);
}

function valuesOf(result: GroupConsumeResult): string[] {
  return result.records.map((r) => dec.decode(r.value!));
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

async function expectGafkaError(promise: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<GafkaError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaError);
    expect((error as GafkaError).code).toBe(code);
    return error as GafkaError;
  }
  throw new Error(`expected ${code}`);
}

const poll = (f: Fixture, member: string, extra: Partial<Parameters<GroupCoordinator["consume"]>[2]> = {}, group = "g", topics = ["t"]) =>
  f.groups.consume(group, member, { topics, maxRecords: 100, waitMs: 0, ...extra });

describe("membership and assignment", () => {
  test("two members own one partition each; a third owns nothing until one leaves", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 2);
    f.groups.join("g", "a", { topics: ["t"] });
    const b = f.groups.join("g", "b", { topics: ["t"] });
    const a = f.groups.heartbeat("g", "a");
    expect(a.generation).toBe(2);
    expect(a.assignment).toHaveLength(1);
    expect(b.assignment).toHaveLength(1);
    expect(names(a.assignment)).not.toEqual(names(b.assignment));
    const c = f.groups.join("g", "c", { topics: ["t"] });
    expect(c.assignment).toEqual([]);
    expect(c.generation).toBe(3);
    f.groups.leave("g", "a");
    expect(f.groups.heartbeat("g", "c").assignment).toHaveLength(1);
    expect(f.groups.status("g").members.map((m) => m.memberId)).toEqual(["b", "c"]);
  });

  test("four partitions over three members: each owns one or two; status shows generation, members, assignment", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 4);
    for (const m of ["a", "b", "c"]) f.groups.join("g", m, { topics: ["t"] });
    const status = f.groups.status("g");
    expect(status.state).toBe("stable");
    expect(status.generation).toBe(3);
    for (const member of status.members) expect([1, 2]).toContain(member.assignment.length);
    expect(status.partitions.map((p) => p.owner).every((owner) => owner !== null)).toBe(true);
  });

  test("the sticky assignor moves only the partitions of the member that left", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 6);
    for (const m of ["a", "b", "c"]) f.groups.join("g", m, { topics: ["t"], assignor: "sticky" });
    const before = Object.fromEntries(["a", "c"].map((m) => [m, names(f.groups.heartbeat("g", m).assignment)]));
    f.groups.leave("g", "b");
    for (const m of ["a", "c"]) {
      const after = names(f.groups.heartbeat("g", m).assignment);
      for (const kept of before[m]!) expect(after).toContain(kept);
      expect(after).toHaveLength(3);
    }
  });

  test("members subscribed to different topics only get their topics' partitions", async () => {
    const f = await fixture();
    await f.broker.createTopic("x", 2);
    await f.broker.createTopic("y", 3);
    f.groups.join("g", "a", { topics: ["x"] });
    f.groups.join("g", "b", { topics: ["x", "y"] });
    const a = f.groups.heartbeat("g", "a").assignment;
    const b = f.groups.heartbeat("g", "b").assignment;
    expect(a.every((tp) => tp.topic === "x")).toBe(true);
    expect(a.length + b.length).toBe(5);
    expect(b.filter((tp) => tp.topic === "y")).toHaveLength(3);
  });

  test("a member that misses its session timeout loses its partitions to the survivors", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 2);
    f.groups.join("g", "a", { topics: ["t"], sessionTimeoutMs: 1000 });
    f.groups.join("g", "b", { topics: ["t"], sessionTimeoutMs: 1000 });
    f.clock.advance(600);
    f.groups.heartbeat("g", "a");
    f.clock.advance(600);
    await waitFor(() => f.groups.status("g").members.length === 1, "b to expire");
    expect(f.groups.heartbeat("g", "a").assignment).toHaveLength(2);
    await expectGafkaError(() => f.groups.heartbeat("g", "b"), "unknown_member");
  });
});

describe("delivery", () => {
  test("at least once: a dead member's delivered-but-uncommitted records go to the next owner; nothing is skipped", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 2);
    for (let p = 0; p < 2; p++) await produce(f.broker, "t", p, ["r0", "r1", "r2", "r3"].map((v) => `p${p}-${v}`));
    const received = new Map<string, number>();
    const note = (result: GroupConsumeResult) => {
      for (const r of result.records) received.set(dec.decode(r.value!), (received.get(dec.decode(r.value!)) ?? 0) + 1);
    };
    note(await poll(f, "a", { maxRecords: 2, sessionTimeoutMs: 1000 }));
    note(await poll(f, "b", { maxRecords: 2, sessionTimeoutMs: 1000 }));
    // a's first call is acknowledged by its second; b's two records stay uncommitted.
    const aPartition = f.groups.heartbeat("g", "a").assignment[0]!.partition;
    const bPartition = 1 - aPartition;
    note(await poll(f, "a", { maxRecords: 2 }));
    f.clock.advance(800);
    f.groups.heartbeat("g", "a");
    f.clock.advance(800);
    await waitFor(() => f.groups.status("g").members.length === 1, "b to expire");
    // Produce during and after: all of it reaches a.
    await produce(f.broker, "t", bPartition, [`p${bPartition}-r4`]);
    const perPartition: Record<number, number[]> = { 0: [], 1: [] };
    for (let i = 0; i < 10; i++) {
      const result = await poll(f, "a", { maxRecords: 3 });
      note(result);
      for (const r of result.records) perPartition[r.partition]!.push(r.offset);
    }
    for (let p = 0; p < 2; p++) for (let i = 0; i < 4; i++) expect(received.get(`p${p}-r${i}`)).toBeGreaterThanOrEqual(1);
    expect(received.get(`p${bPartition}-r4`)).toBe(1);
    // Offsets arrive in order per partition.
    for (const offsets of Object.values(perPartition)) expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    // The only duplicates are what b was handed and never committed.
    const duplicates = [...received].filter(([, count]) => count > 1).map(([value]) => value).sort();
    expect(duplicates).toEqual([`p${bPartition}-r0`, `p${bPartition}-r1`]);
    const status = f.groups.status("g");
    expect(status.partitions.map((p) => p.lag)).toEqual([0, 0]);
  });

  test("two groups on the same topic each receive every record", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 2);
    await produce(f.broker, "t", 0, ["a", "b"]);
    await produce(f.broker, "t", 1, ["c"]);
    for (const group of ["g1", "g2"]) {
      const result = await poll(f, "m", {}, group);
      expect(valuesOf(result).sort()).toEqual(["a", "b", "c"]);
    }
  });

  test("a consume for another member's partition or with a stale generation answers 409 with the current assignment", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 2);
    f.groups.join("g", "a", { topics: ["t"] });
    const b = f.groups.join("g", "b", { topics: ["t"] });
    const notMine = f.groups.heartbeat("g", "a").assignment.find((tp) => tp.partition !== undefined)!;
    const other = { topic: "t", partition: 1 - notMine.partition };
    const conflict = await expectGafkaError(poll(f, "a", { only: other }), "partition_not_owned");
    expect(conflict.details).toMatchObject({ generation: b.generation, member_id: "a", assignment: [notMine] });
    const stale = await expectGafkaError(poll(f, "a", { generation: 1 }), "stale_generation");
    expect(stale.details?.generation).toBe(2);
    expect((await poll(f, "a", { only: notMine, generation: 2 })).records).toEqual([]);
  });

  test("a group long poll answers when any owned partition gets data, and ends early on a rebalance", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 3);
    await poll(f, "a");
    const waiting = poll(f, "a", { waitMs: 20_000 });
    await Bun.sleep(10);
    await produce(f.broker, "t", 2, ["late"]);
    expect(valuesOf(await waiting)).toEqual(["late"]);

    const second = poll(f, "a", { waitMs: 20_000 });
    await Bun.sleep(10);
    f.groups.join("g", "b", { topics: ["t"] });
    const ended = await second;
    expect(ended.records).toEqual([]);
    expect(ended.generation).toBe(2);
    expect(ended.assignment.length).toBeLessThan(3);
  });

  test("commit none: polls read on without committing; explicit commits never move the read position; a new owner starts from the last commit", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 1);
    await produce(f.broker, "t", 0, ["a", "b", "c", "d", "e"]);
    const none = { commit: "none" as const };
    expect(valuesOf(await poll(f, "m", { ...none, maxRecords: 2 }))).toEqual(["a", "b"]);
    expect(valuesOf(await poll(f, "m", { ...none, maxRecords: 1 }))).toEqual(["c"]);
    expect(f.groups.status("g").partitions[0]).toMatchObject({ committedOffset: null, lag: 5 });
    // An older position committed in the background does not rewind the member.
    await f.groups.commit("g", "m", undefined, [{ topic: "t", partition: 0, offset: 2 }]);
    expect(f.groups.status("g").partitions[0]!.committedOffset).toBe(2);
    // The long poll waits from where the member is, not from the commit: records past it answer at once.
    expect(valuesOf(await poll(f, "m", { ...none, waitMs: 20_000 }))).toEqual(["d", "e"]);
    const waiting = poll(f, "m", { ...none, waitMs: 20_000 });
    await Bun.sleep(10);
    await produce(f.broker, "t", 0, ["f"]);
    expect(valuesOf(await waiting)).toEqual(["f"]);
    expect(f.groups.status("g").partitions[0]!.committedOffset).toBe(2);
    // The member goes; the next owner starts from the commit: c..f again, nothing skipped.
    f.groups.leave("g", "m");
    expect(valuesOf(await poll(f, "n", none))).toEqual(["c", "d", "e", "f"]);
    // A member may go back to committing on each call: it then acknowledges what it was handed.
    expect(valuesOf(await poll(f, "n"))).toEqual([]);
    expect(f.groups.status("g").partitions[0]!.committedOffset).toBe(6);
  });

  test("committed offsets survive a restart, explicit commits included", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 1);
    await produce(f.broker, "t", 0, ["a", "b", "c", "d"]);
    await poll(f, "m", { maxRecords: 2 });
    await poll(f, "m", { maxRecords: 1 }); // commits 2, delivers c
    await f.groups.commit("g", "m", undefined, [{ topic: "t", partition: 0, offset: 3 }]);
    await f.reopen();
    expect(f.groups.status("g").partitions[0]).toMatchObject({ committedOffset: 3, logEndOffset: 4, lag: 1, owner: null });
    expect(valuesOf(await poll(f, "m2"))).toEqual(["d"]);
  });
});

describe("admin", () => {
  test("reset offsets of a stopped group to earliest, latest, an offset or a timestamp; 409 while members live", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 1);
    await f.broker.produce("t", [0, 1, 2, 3].map((i) => ({ partition: 0, key: null, value: enc.encode(`v${i}`), headers: [], timestampMs: 1000 * (i + 1) })));
    await poll(f, "m");
    await expectGafkaError(f.groups.resetOffsets("g", "t", undefined, { to: "earliest" }), "group_not_empty");
    await expectGafkaError(f.groups.deleteGroup("g"), "group_not_empty");
    f.groups.leave("g", "m");
    expect((await f.groups.resetOffsets("g", "t", undefined, { to: "latest" }))[0]!.offset).toBe(4);
    expect((await f.groups.resetOffsets("g", "t", [0], { to: "earliest" }))[0]!.offset).toBe(0);
    expect((await f.groups.resetOffsets("g", "t", [0], { to: "offset", offset: 2 }))[0]!.offset).toBe(2);
    expect((await f.groups.resetOffsets("g", "t", [0], { to: "timestamp", timestampMs: 2500 }))[0]!.offset).toBe(2);
    expect((await f.groups.resetOffsets("g", "t", [0], { to: "timestamp", timestampMs: 99_999 }))[0]!.offset).toBe(4);
    await f.groups.resetOffsets("g", "t", [0], { to: "offset", offset: 2 });
    expect(valuesOf(await poll(f, "n"))).toEqual(["v2", "v3"]);
  });

  test("delete a group; unknown groups 404; bad ids 400; nothing changes on a refused call", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 1);
    await expectGafkaError(() => f.groups.status("nope"), "group_not_found");
    await expectGafkaError(() => f.groups.join("bad group", "m", { topics: ["t"] }), "invalid_request");
    await expectGafkaError(() => f.groups.join("g", "x".repeat(129), { topics: ["t"] }), "invalid_request");
    await expectGafkaError(() => f.groups.join("g", "m", { topics: ["missing"] }), "topic_not_found");
    await expectGafkaError(() => f.groups.join("g", "m", { topics: ["t"], sessionTimeoutMs: 5 }), "invalid_request");
    expect(f.groups.list()).toEqual([]);
    await produce(f.broker, "t", 0, ["a"]);
    await poll(f, "m");
    await poll(f, "m");
    f.groups.leave("g", "m");
    expect(f.groups.list()).toEqual([{ groupId: "g", state: "empty", generation: 2, members: 0 }]);
    await f.groups.deleteGroup("g");
    await expectGafkaError(() => f.groups.status("g"), "group_not_found");
    await f.reopen();
    expect(f.groups.list()).toEqual([]);
  });
});

test("a consume whose implicit commit cannot be made durable is not answered with records", async () => {
  const f = await fixture();
  await f.broker.createTopic("t", 1);
  await produce(f.broker, "t", 0, ["a", "b"]);
  const faulty = new FaultyFileSystem();
  const temp = makeTempDir("gafka-groups-faulty-");
  cleanups.push(temp.remove);
  const groups = GroupCoordinator.open({ broker: f.broker, dataDir: temp.dir, fs: faulty, clock: f.clock, logger: silentLogger });
  cleanups.push(() => groups.close());
  const first = await groups.consume("g", "m", { topics: ["t"], maxRecords: 1, waitMs: 0 });
  expect(valuesOf(first)).toEqual(["a"]);
  faulty.failSyncs = 1;
  await expectGafkaError(groups.consume("g", "m", { topics: ["t"], maxRecords: 1, waitMs: 0 }), "storage_failed");
});

/** Holds the offsets file's fdatasyncs once `hold` is set, until the test releases each. */
class HeldOffsetsSync extends FaultyFileSystem {
  hold = false;
  held: (() => void) | undefined;
  private offsetsFd = -1;
  override openReadWrite = (filePath: string) => {
    const fd = nodeFileSystem.openReadWrite(filePath);
    if (filePath.endsWith("consumer-offsets.log")) this.offsetsFd = fd;
    return fd;
  };
  override fdatasync = async (fd: number): Promise<void> => {
    if (fd === this.offsetsFd && this.hold) await new Promise<void>((resolve) => (this.held = resolve));
    return nodeFileSystem.fdatasync(fd);
  };
}

test("records made durable while a consume's implicit commit syncs go out with its answer", async () => {
  const f = await fixture();
  await f.broker.createTopic("t", 1);
  await produce(f.broker, "t", 0, ["a"]);
  const fs = new HeldOffsetsSync();
  const temp = makeTempDir("gafka-groups-held-");
  cleanups.push(temp.remove);
  const groups = GroupCoordinator.open({ broker: f.broker, dataDir: temp.dir, fs, clock: f.clock, logger: silentLogger });
  cleanups.push(() => groups.close());
  expect(valuesOf(await groups.consume("g", "m", { topics: ["t"], maxRecords: 10, waitMs: 0 }))).toEqual(["a"]);
  await produce(f.broker, "t", 0, ["b"]);
  fs.hold = true;
  // Commits "a"; "b" is there on arrival, but the answer waits for the commit's fsync.
  const answer = groups.consume("g", "m", { topics: ["t"], maxRecords: 10, waitMs: 1000 });
  await waitFor(() => fs.held !== undefined, "the commit's fsync");
  await produce(f.broker, "t", 0, ["c"]);
  fs.hold = false;
  fs.held!();
  expect(valuesOf(await answer)).toEqual(["b", "c"]);
  // Nothing twice: the next call starts after "c".
  await produce(f.broker, "t", 0, ["d"]);
  expect(valuesOf(await groups.consume("g", "m", { topics: ["t"], maxRecords: 10, waitMs: 0 }))).toEqual(["d"]);
  expect(groups.status("g").partitions.map((p) => p.committedOffset)).toEqual([3]);
});

describe("commits acknowledged by a commit guard (replication)", () => {
  /** A guard whose acknowledgements the test gives or refuses by hand. */
  function handGuard() {
    const settling: { sequence: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
    return {
      settling,
      refuseAdmission: false,
      admitCommit() {
        if (this.refuseAdmission) throw new GafkaError("not_enough_replicas", "too few replicas", { retriable: true });
        return 1;
      },
      settleCommit(_term: number, sequence: number) {
        return new Promise<void>((resolve, reject) => settling.push({ sequence, resolve, reject }));
      },
    };
  }

  const committedOf = (f: Fixture) => f.groups.status("g").partitions.map((p) => p.committedOffset);

  test("an explicit commit answers only once acknowledged; a refused one is never reported as committed", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 1);
    await produce(f.broker, "t", 0, ["a", "b", "c", "d"]);
    const guard = handGuard();
    f.groups.setCommitGuard(guard);
    let answered = false;
    const first = f.groups.commit("g", undefined, undefined, [{ topic: "t", partition: 0, offset: 2 }]).then(() => (answered = true));
    await waitFor(() => guard.settling.length === 1, "the commit to wait for its acknowledgement");
    expect(answered).toBe(false);
    expect(committedOf(f)).toEqual([]);
    guard.settling.shift()!.resolve();
    await first;
    expect(committedOf(f)).toEqual([2]);

    const refused = f.groups.commit("g", undefined, undefined, [{ topic: "t", partition: 0, offset: 4 }]);
    await waitFor(() => guard.settling.length === 1, "the second commit to wait");
    guard.settling.shift()!.reject(new GafkaError("not_enough_replicas_after_append", "no copies", { retriable: true }));
    await expectGafkaError(refused, "not_enough_replicas_after_append");
    expect(committedOf(f)).toEqual([2]);
  });

  test("a group consume's implicit commit holds the answer until acknowledged; refused up front, the next poll commits again", async () => {
    const f = await fixture();
    await f.broker.createTopic("t", 1);
    await produce(f.broker, "t", 0, ["a", "b", "c"]);
    const guard = handGuard();
    f.groups.setCommitGuard(guard);
    expect(valuesOf(await poll(f, "m", { maxRecords: 2 }))).toEqual(["a", "b"]);
    let answered = false;
    const second = poll(f, "m", { maxRecords: 2 }).then((result) => {
      answered = true;
      return result;
    });
    await waitFor(() => guard.settling.length === 1, "the implicit commit to wait for its acknowledgement");
    await Bun.sleep(20);
    expect(answered).toBe(false);
    guard.settling.shift()!.resolve();
    expect(valuesOf(await second)).toEqual(["c"]);
    expect(committedOf(f)).toEqual([2]);

    guard.refuseAdmission = true;
    await expectGafkaError(poll(f, "m"), "not_enough_replicas");
    guard.refuseAdmission = false;
    const third = poll(f, "m");
    await waitFor(() => guard.settling.length === 1, "the retried commit");
    guard.settling.shift()!.resolve();
    expect(valuesOf(await third)).toEqual([]);
    expect(committedOf(f)).toEqual([3]);
  });
});

test("the session sweep runs on the clock: a member expires at the first sweep past its session timeout, with no real wait", async () => {
  const f = await fixture(); // sweeps every 5 ms of clock time
  await f.broker.createTopic("t", 2);
  f.groups.join("g", "a", { topics: ["t"], sessionTimeoutMs: 1000 });
  f.groups.join("g", "b", { topics: ["t"], sessionTimeoutMs: 1000 });
  f.clock.advance(600);
  f.groups.heartbeat("g", "a");
  f.clock.advance(400); // b was last seen exactly 1000 ms ago: not past its timeout yet
  expect(f.groups.status("g").members.map((m) => m.memberId)).toEqual(["a", "b"]);
  f.clock.advance(5); // the next sweep finds b past it
  expect(f.groups.status("g").members.map((m) => m.memberId)).toEqual(["a"]);
  expect(f.groups.heartbeat("g", "a").assignment).toHaveLength(2);
  await expectGafkaError(() => f.groups.heartbeat("g", "b"), "unknown_member");
});

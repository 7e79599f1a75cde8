import { afterEach, describe, expect, test } from "bun:test";
import { ManualClock } from "../core/manual-clock.ts";
import { silentLogger } from "../core/logger.ts";
import type { GroupProtocol, JoinAnswer, SyncAnswer } from "./classic-group.ts";
import { ClassicGroups, type JoinRequest } from "./classic-groups.ts";

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;

const opened: ClassicGroups[] = [];
afterEach(() => {
  while (opened.length > 0) opened.pop()!.close();
});

function setup(): { groups: ClassicGroups; clock: ManualClock } {
  const clock = new ManualClock();
  let next = 0;
  const groups = new ClassicGroups({ clock, logger: silentLogger, sweepIntervalMs: 10, newMemberId: (clientId) => `${clientId}-${++next}` });
  opened.push(groups);
  return { groups, clock };
}

function protocols(...names: string[]): GroupProtocol[] {
  return names.map((name) => ({ name, metadata: new TextEncoder().encode(`meta-${name}`) }));
}

function request(memberId: string, overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId,
    clientId: "client",
    clientHost: "/127.0.0.1",
    protocolType: "consumer",
    protocols: protocols("range"),
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    requireKnownMemberId: false,
    ...overrides,
  };
}

/** Lets resolved promises' callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Watches a promise: `value` is set once it resolves. */
function watch<T>(promise: Promise<T>): { value: T | undefined } {
  const box: { value: T | undefined } = { value: undefined };
  void promise.then((value) => (box.value = value));
  return box;
}

async function joinAlone(groups: ClassicGroups, groupId: string, overrides: Partial<JoinRequest> = {}): Promise<JoinAnswer> {
  const answer = await groups.join(groupId, request("", overrides));
  expect(answer.error).toBeNull();
  return answer;
}

/** A second member joins `a`'s group "g" and `a` rejoins: generation 2 forms with both; the second's join answer. */
async function joinSecond(groups: ClassicGroups, a: JoinAnswer): Promise<JoinAnswer> {
  const bJoin = watch(groups.join("g", request("")));
  await groups.join("g", request(a.memberId));
  await settle();
  return bJoin.value!;
}

describe("joining", () => {
  test("the first member joins alone at once and leads generation 1", async () => {
    const { groups } = setup();
    const answer = await joinAlone(groups, "g");
    expect(answer.generationId).toBe(1);
    expect(answer.leader).toBe(answer.memberId);
    expect(answer.members.map((m) => m.memberId)).toEqual([answer.memberId]);
    expect(groups.groups.get("g")!.state).toBe("CompletingRebalance");
  });

  test("from JoinGroup v4 a member without an id is handed a fresh one (MEMBER_ID_REQUIRED) and joins with it", async () => {
    const { groups } = setup();
    const first = await groups.join("g", request("", { requireKnownMemberId: true }));
    expect(first.error).toBe("member_id_required");
    expect(first.memberId).toStartWith("client-");
    expect(groups.groups.get("g")!.isLive).toBe(true);
    const second = await groups.join("g", request(first.memberId, { requireKnownMemberId: true }));
    expect(second.error).toBeNull();
    expect(second.memberId).toBe(first.memberId);
    expect(second.generationId).toBe(1);
  });

  test("member ids are random by default: two joins never get the same, and none is guessable from the client id alone", async () => {
    const groups = new ClassicGroups({ clock: new ManualClock(), logger: silentLogger });
    opened.push(groups);
    const a = await groups.join("g", request("", { requireKnownMemberId: true }));
    const b = await groups.join("g", request("", { requireKnownMemberId: true }));
    expect(a.memberId).not.toBe(b.memberId);
    expect(a.memberId).toMatch(/^client-[0-9a-f-]{36}$/);
  });

  test("an unknown member id, a bad session timeout, a bad group id and an empty protocol list are refused", async () => {
    const { groups } = setup();
    expect((await groups.join("g", request("nobody"))).error).toBe("unknown_member_id");
    expect((await groups.join("g", request("", { sessionTimeoutMs: 1000 }))).error).toBe("invalid_session_timeout");
    expect((await groups.join("g", request("", { sessionTimeoutMs: 3_600_000 }))).error).toBe("invalid_session_timeout");
    expect((await groups.join("a b", request(""))).error).toBe("invalid_group_id");
    expect((await groups.join("g", request("", { protocols: [] }))).error).toBe("inconsistent_group_protocol");
    expect(groups.groups.size).toBe(0);
  });

  test("a member of another protocol type, or sharing no protocol with the members, is refused", async () => {
    const { groups } = setup();
    await joinAlone(groups, "g", { protocols: protocols("range", "roundrobin") });
    expect((await groups.join("g", request("", { protocolType: "connect" }))).error).toBe("inconsistent_group_protocol");
    expect((await groups.join("g", request("", { protocols: protocols("sticky") }))).error).toBe("inconsistent_group_protocol");
  });
});

describe("rebalancing", () => {
  test("a second member starts a rebalance that completes when the first rejoins; the leader stays, the protocol is chosen by votes", async () => {
    const { groups } = setup();
    const a = await joinAlone(groups, "g", { protocols: protocols("range", "roundrobin") });
    const bJoin = watch(groups.join("g", request("", { protocols: protocols("roundrobin", "range") })));
    await settle();
    expect(bJoin.value).toBeUndefined();
    expect(groups.heartbeat("g", a.memberId, 1)).toBe("rebalance_in_progress");
    // c votes roundrobin too: two votes to one.
    const cJoin = watch(groups.join("g", request("", { protocols: protocols("roundrobin", "range") })));
    const aRejoin = await groups.join("g", request(a.memberId, { protocols: protocols("range", "roundrobin") }));
    await settle();
    expect(aRejoin.generationId).toBe(2);
    expect(aRejoin.leader).toBe(a.memberId);
    expect(aRejoin.protocolName).toBe("roundrobin");
    expect(aRejoin.members).toHaveLength(3);
    expect(aRejoin.members.find((m) => m.memberId === a.memberId)!.metadata).toEqual(new TextEncoder().encode("meta-roundrobin"));
    expect(bJoin.value!.leader).toBe(a.memberId);
    expect(bJoin.value!.members).toEqual([]);
    expect(cJoin.value!.generationId).toBe(2);
  });

  test("a tie of votes goes to the protocol the leader prefers", async () => {
    const { groups } = setup();
    const a = await joinAlone(groups, "g", { protocols: protocols("range", "roundrobin") });
    watch(groups.join("g", request("", { protocols: protocols("roundrobin", "range") })));
    const rejoin = await groups.join("g", request(a.memberId, { protocols: protocols("range", "roundrobin") }));
    expect(rejoin.protocolName).toBe("range");
  });

  test("a member that does not rejoin within the rebalance timeout is removed, and the join completes without it", async () => {
    const { groups, clock } = setup();
    const a = await joinAlone(groups, "g");
    await groups.sync("g", a.memberId, 1, new Map());
    const bJoin = watch(groups.join("g", request("")));
    // a keeps heartbeating (so its session lives) but never rejoins.
    for (let ms = 0; ms < REBALANCE_MS; ms += 5_000) {
      clock.advance(5_000);
      groups.heartbeat("g", a.memberId, 1);
    }
    clock.advance(10);
    await settle();
    expect(bJoin.value!.error).toBeNull();
    expect(bJoin.value!.generationId).toBe(2);
    expect(bJoin.value!.leader).toBe(bJoin.value!.memberId);
    expect([...groups.groups.get("g")!.members.keys()]).toEqual([bJoin.value!.memberId]);
    expect(groups.heartbeat("g", a.memberId, 2)).toBe("unknown_member_id");
  });

  test("a member whose session expires is removed and the others rebalance without it", async () => {
    const { groups, clock } = setup();
    const a = await joinAlone(groups, "g");
    const b = await joinSecond(groups, a);
    const aSync = watch(groups.sync("g", a.memberId, 2, new Map([[a.memberId, new Uint8Array([1])], [b.memberId, new Uint8Array([2])]])));
    await groups.sync("g", b.memberId, 2, new Map());
    await settle();
    expect(aSync.value!.assignment).toEqual(new Uint8Array([1]));
    // b heartbeats, a falls silent.
    for (let ms = 0; ms < SESSION_MS; ms += 2_000) {
      clock.advance(2_000);
      expect(groups.heartbeat("g", b.memberId, 2)).toBeNull();
    }
    clock.advance(2_000);
    expect(groups.groups.get("g")!.members.has(a.memberId)).toBe(false);
    expect(groups.heartbeat("g", b.memberId, 2)).toBe("rebalance_in_progress");
    const rejoin = await groups.join("g", request(b.memberId));
    expect(rejoin.generationId).toBe(3);
    expect(rejoin.members.map((m) => m.memberId)).toEqual([b.memberId]);
  });

  test("a member id handed out with MEMBER_ID_REQUIRED and never used expires after its session timeout", async () => {
    const { groups, clock } = setup();
    await groups.join("g", request("", { requireKnownMemberId: true }));
    expect(groups.groups.has("g")).toBe(true);
    clock.advance(SESSION_MS + 100);
    expect(groups.groups.has("g")).toBe(false);
  });
});

describe("sync, heartbeat, leave, commits", () => {
  test("followers wait for the leader's sync; each gets its own assignment; then the group is Stable", async () => {
    const { groups } = setup();
    const a = await joinAlone(groups, "g");
    const b = await joinSecond(groups, a);
    const bSync = watch(groups.sync("g", b.memberId, 2, new Map()));
    await settle();
    expect(bSync.value).toBeUndefined();
    expect(groups.heartbeat("g", b.memberId, 2)).toBeNull();
    const aSync = await groups.sync("g", a.memberId, 2, new Map([[b.memberId, new Uint8Array([7])]]));
    await settle();
    expect(aSync).toEqual({ error: null, assignment: new Uint8Array(0) });
    expect(bSync.value).toEqual({ error: null, assignment: new Uint8Array([7]) });
    expect(groups.groups.get("g")!.state).toBe("Stable");
    // A sync once Stable answers at once.
    expect(await groups.sync("g", b.memberId, 2, new Map())).toEqual({ error: null, assignment: new Uint8Array([7]) });
  });

  test("sync and heartbeat errors: unknown member, illegal generation, rebalance in progress", async () => {
    const { groups } = setup();
    const a = await joinAlone(groups, "g");
    expect((await groups.sync("g", "nobody", 1, new Map())).error).toBe("unknown_member_id");
    expect((await groups.sync("g", a.memberId, 7, new Map())).error).toBe("illegal_generation");
    expect((await groups.sync("other", a.memberId, 1, new Map())).error).toBe("unknown_member_id");
    expect(groups.heartbeat("g", "nobody", 1)).toBe("unknown_member_id");
    expect(groups.heartbeat("g", a.memberId, 0)).toBe("illegal_generation");
    expect(groups.heartbeat("g", a.memberId, 1)).toBeNull();
    watch(groups.join("g", request("")));
    expect((await groups.sync("g", a.memberId, 1, new Map())).error).toBe("rebalance_in_progress");
  });

  test("a rebalance while followers wait for their assignment answers them rebalance_in_progress", async () => {
    const { groups } = setup();
    const a = await joinAlone(groups, "g");
    const b = await joinSecond(groups, a);
    const bSync = watch<SyncAnswer>(groups.sync("g", b.memberId, 2, new Map()));
    watch(groups.join("g", request("")));
    await settle();
    expect(bSync.value!.error).toBe("rebalance_in_progress");
  });

  test("leave (a batch of members) rebalances the rest; the last leaving empties the group", async () => {
    const { groups } = setup();
    const a = await joinAlone(groups, "g");
    const b = await joinSecond(groups, a);
    expect(groups.leave("g", [a.memberId, "nobody"])).toEqual([null, "unknown_member_id"]);
    expect(groups.groups.get("g")!.state).toBe("PreparingRebalance");
    const rejoin = await groups.join("g", request(b.memberId));
    expect(rejoin.generationId).toBe(3);
    expect(rejoin.leader).toBe(b.memberId);
    expect(groups.leave("g", [b.memberId])).toEqual([null]);
    expect(groups.groups.has("g")).toBe(false);
    expect(groups.leave("g", [b.memberId])).toEqual(["unknown_member_id"]);
  });

  test("commits: a member of the current generation once it has its assignment; generation -1 without a member only for a group without members", async () => {
    const { groups } = setup();
    expect(groups.commitCheck("g", "", -1)).toBeNull();
    const a = await joinAlone(groups, "g");
    expect(groups.commitCheck("g", a.memberId, 1)).toBe("rebalance_in_progress");
    await groups.sync("g", a.memberId, 1, new Map());
    expect(groups.commitCheck("g", a.memberId, 1)).toBeNull();
    expect(groups.commitCheck("g", a.memberId, 0)).toBe("illegal_generation");
    expect(groups.commitCheck("g", "nobody", 1)).toBe("unknown_member_id");
    expect(groups.commitCheck("g", "", -1)).toBe("unknown_member_id");
    groups.leave("g", [a.memberId]);
    expect(groups.commitCheck("g", "", -1)).toBeNull();
  });

  test("close answers every held request", async () => {
    const { groups } = setup();
    const a = await joinAlone(groups, "g");
    const bJoin = watch(groups.join("g", request("")));
    await settle();
    groups.close();
    await settle();
    expect(bJoin.value!.error).toBe("coordinator_not_available");
    expect(a.error).toBeNull();
  });
});

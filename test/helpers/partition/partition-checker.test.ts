import { describe, expect, test } from "bun:test";
import { checkHistory, overlappingOwners } from "./partition-checker.ts";
import { emptyHistory, type FinalState, type OwnershipClaim } from "./history.ts";

const A = "http://a:9092";
const B = "http://b:9092";

function final(records: Record<number, string[]>, committed: Record<number, number> = {}): FinalState {
  return {
    records: new Map(Object.entries(records).map(([p, values]) => [Number(p), values.map((value, offset) => ({ offset, value }))])),
    committed: new Map(Object.entries(committed).map(([p, o]) => [Number(p), o])),
  };
}

function claim(member: string, partition: number, fromMs: number, toMs: number, coordinator = A, generation = 1, leaderEpoch: number | null = 0): OwnershipClaim {
  return { member, partition, fromMs, toMs, coordinator, generation, leaderEpoch };
}

describe("acknowledged writes", () => {
  test("all present at their offsets: nothing lost", () => {
    const history = emptyHistory();
    history.produced.push({ value: "v0", partition: 0, offset: 0, acks: "all", broker: A, atMs: 1 });
    history.produced.push({ value: "v1", partition: 0, offset: 1, acks: "1", broker: A, atMs: 2 });
    const report = checkHistory(history, final({ 0: ["v0", "v1"] }));
    expect(report.lostAll).toEqual([]);
    expect(report.lostOne).toEqual([]);
    expect(report.acknowledged).toEqual({ all: 1, one: 1, zero: 0 });
  });

  test("an acks=all write whose offset now holds another record is lost, and says what is there", () => {
    const history = emptyHistory();
    history.produced.push({ value: "mine", partition: 1, offset: 1, acks: "all", broker: A, atMs: 1 });
    const report = checkHistory(history, final({ 1: ["x", "theirs"] }));
    expect(report.lostAll).toEqual([{ value: "mine", partition: 1, offset: 1, acks: "all", broker: A, foundValue: "theirs" }]);
  });

  test("a truncated acks=1 write is reported apart from acks=all", () => {
    const history = emptyHistory();
    history.produced.push({ value: "v5", partition: 0, offset: 5, acks: "1", broker: A, atMs: 1 });
    const report = checkHistory(history, final({ 0: ["a"] }));
    expect(report.lostAll).toEqual([]);
    expect(report.lostOne.map((l) => [l.value, l.foundValue])).toEqual([["v5", undefined]]);
  });

  test("acks=0 writes carry no offset and are only counted", () => {
    const history = emptyHistory();
    history.produced.push({ value: "z", partition: 0, offset: -1, acks: "0", broker: A, atMs: 1 });
    const report = checkHistory(history, final({ 0: [] }));
    expect(report.acknowledged.zero).toBe(1);
    expect(report.lostOne.length + report.lostAll.length).toBe(0);
  });

  test("a value stored twice is a duplicate", () => {
    const report = checkHistory(emptyHistory(), final({ 0: ["a", "b"], 1: ["a"] }));
    expect(report.duplicated).toEqual(["a"]);
  });
});

describe("dirty reads", () => {
  test("a read that the final log still holds is clean; one it does not is dirty", () => {
    const history = emptyHistory();
    history.reads.push({ value: "v0", partition: 0, offset: 0, broker: A, atMs: 1 });
    history.reads.push({ value: "gone", partition: 0, offset: 1, broker: A, atMs: 2 });
    history.reads.push({ value: "past-end", partition: 0, offset: 7, broker: A, atMs: 3 });
    const report = checkHistory(history, final({ 0: ["v0", "other"] }));
    expect(report.readsChecked).toBe(3);
    expect(report.dirtyReads.map((d) => [d.value, d.foundValue])).toEqual([
      ["gone", "other"],
      ["past-end", undefined],
    ]);
  });
});

describe("committed offsets", () => {
  test("a final commit at or past every acknowledged one is fine", () => {
    const history = emptyHistory();
    history.commits.push({ group: "g", partition: 0, offset: 10, broker: A, atMs: 1 });
    history.commits.push({ group: "g", partition: 0, offset: 12, broker: B, atMs: 2 });
    expect(checkHistory(history, final({ 0: [] }, { 0: 12 })).commitsBackwards).toEqual([]);
    expect(checkHistory(history, final({ 0: [] }, { 0: 15 })).commitsBackwards).toEqual([]);
  });

  test("a final commit below an acknowledged one (or none at all) went backwards", () => {
    const history = emptyHistory();
    history.commits.push({ group: "g", partition: 0, offset: 296, broker: A, atMs: 1 });
    history.commits.push({ group: "g", partition: 1, offset: 176, broker: A, atMs: 1 });
    const report = checkHistory(history, final({}, { 0: 181 }));
    expect(report.commitsBackwards).toEqual([
      { partition: 0, acknowledged: 296, broker: A, final: 181 },
      { partition: 1, acknowledged: 176, broker: A, final: undefined },
    ]);
  });
});

describe("owners", () => {
  test("a hand-off inside one coordinator (a later generation) is not two owners", () => {
    const claims = [claim("m1", 0, 0, 150, A, 1), claim("m2", 0, 100, 300, A, 2)];
    expect(overlappingOwners(claims)).toEqual([]);
  });

  test("two coordinators handing out one partition at once are two owners, for as long as both hold it", () => {
    const claims = [claim("m-a", 1, 0, 7300, A, 3), claim("m-b", 1, 1000, 9000, B, 1, null)];
    const found = overlappingOwners(claims);
    expect(found).toEqual([
      { partition: 1, members: ["m-a", "m-b"], coordinators: [`${A}@0`, `${B}@?`], generations: [3, 1], fromMs: 1000, toMs: 7300 },
    ]);
    expect(checkHistory({ ...emptyHistory(), ownership: claims }, final({})).twoOwnersLongestMs).toBe(6300);
  });

  test("one broker under two leader epochs counts as two coordinators", () => {
    expect(overlappingOwners([claim("m1", 0, 0, 100, A, 5, 1), claim("m2", 0, 50, 200, A, 1, 2)])).toHaveLength(1);
  });

  test("two members in the same generation of one coordinator are two owners", () => {
    expect(overlappingOwners([claim("m1", 0, 0, 100, A, 2), claim("m2", 0, 50, 200, A, 2)])).toHaveLength(1);
  });

  test("claims that only touch, or are the same member's, or are on other partitions, do not count", () => {
    const claims = [claim("m1", 0, 0, 100, A), claim("m2", 0, 100, 200, B), claim("m1", 0, 50, 100, B), claim("m2", 1, 0, 100, B)];
    expect(overlappingOwners(claims)).toEqual([]);
  });
});

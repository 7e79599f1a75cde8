import { describe, expect, test } from "bun:test";
import type { Assignment, AssignorMember, TopicPartition } from "./assignor.ts";
import { roundRobinAssignor } from "./round-robin-assignor.ts";
import { stickyAssignor } from "./sticky-assignor.ts";

const member = (memberId: string, topics: string[], owned: TopicPartition[] = []): AssignorMember => ({ memberId, topics, owned });
const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));
const names = (assignment: Assignment, memberId: string) =>
  assignment.get(memberId)!.map((tp) => `${tp.topic}-${tp.partition}`);

function everyPartitionOnce(assignment: Assignment, expected: number): void {
  const all = [...assignment.values()].flat().map((tp) => `${tp.topic}-${tp.partition}`);
  expect(new Set(all).size).toBe(all.length);
  expect(all.length).toBe(expected);
}

for (const assignor of [roundRobinAssignor, stickyAssignor]) {
  describe(`${assignor.name} assignor`, () => {
    test("two members on two partitions own one each; a third owns nothing", () => {
      const two = assignor.assign([member("a", ["t"]), member("b", ["t"])], counts({ t: 2 }));
      expect(names(two, "a").length).toBe(1);
      expect(names(two, "b").length).toBe(1);
      everyPartitionOnce(two, 2);
      const three = assignor.assign(
        [member("a", ["t"], two.get("a")), member("b", ["t"], two.get("b")), member("c", ["t"])],
        counts({ t: 2 }),
      );
      everyPartitionOnce(three, 2);
      expect([...three.values()].filter((owned) => owned.length === 0)).toHaveLength(1);
    });

    test("four partitions over three members: each owns one or two", () => {
      const result = assignor.assign([member("a", ["t"]), member("b", ["t"]), member("c", ["t"])], counts({ t: 4 }));
      everyPartitionOnce(result, 4);
      for (const owned of result.values()) expect(owned.length === 1 || owned.length === 2).toBe(true);
    });

    test("members with different subscriptions: every partition of a subscribed topic has an owner", () => {
      const result = assignor.assign(
        [member("a", ["x"]), member("b", ["x", "y"]), member("c", ["y"]), member("d", ["z"])],
        counts({ x: 3, y: 5, z: 1, unused: 4 }),
      );
      everyPartitionOnce(result, 9);
      for (const [memberId, owned] of result) {
        const topics = { a: ["x"], b: ["x", "y"], c: ["y"], d: ["z"] }[memberId]!;
        for (const tp of owned) expect(topics).toContain(tp.topic);
      }
    });

    test("is deterministic whatever the members' order", () => {
      const members = [member("m2", ["t"]), member("m1", ["t"]), member("m3", ["t"])];
      const forward = assignor.assign(members, counts({ t: 7 }));
      const backward = assignor.assign([...members].reverse(), counts({ t: 7 }));
      expect([...forward.entries()].sort()).toEqual([...backward.entries()].sort());
    });
  });
}

test("round-robin deals sorted partitions in member order", () => {
  const result = roundRobinAssignor.assign([member("b", ["t"]), member("a", ["t"])], counts({ t: 3 }));
  expect(names(result, "a")).toEqual(["t-0", "t-2"]);
  expect(names(result, "b")).toEqual(["t-1"]);
});

test("sticky moves only the partitions of the member that left", () => {
  const start = stickyAssignor.assign([member("a", ["t"]), member("b", ["t"]), member("c", ["t"])], counts({ t: 6 }));
  const after = stickyAssignor.assign([member("a", ["t"], start.get("a")), member("c", ["t"], start.get("c"))], counts({ t: 6 }));
  everyPartitionOnce(after, 6);
  for (const survivor of ["a", "c"]) for (const tp of names(start, survivor)) expect(names(after, survivor)).toContain(tp);
  expect(names(after, "a").length).toBe(3);
  expect(names(after, "c").length).toBe(3);
});

test("sticky gives a joining member just enough to even the load", () => {
  const start = stickyAssignor.assign([member("a", ["t"]), member("b", ["t"])], counts({ t: 6 }));
  const after = stickyAssignor.assign(
    [member("a", ["t"], start.get("a")), member("b", ["t"], start.get("b")), member("c", ["t"])],
    counts({ t: 6 }),
  );
  everyPartitionOnce(after, 6);
  for (const owned of after.values()) expect(owned.length).toBe(2);
  const kept = ["a", "b"].reduce((sum, m) => sum + names(after, m).filter((tp) => names(start, m).includes(tp)).length, 0);
  expect(kept).toBe(4);
});

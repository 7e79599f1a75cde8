import { expect, test } from "bun:test";
import { assignedPartitions, subscribedTopics } from "./consumer-protocol.ts";

test("a consumer-protocol subscription's topics and an assignment's partitions are read; anything else reads as nothing", () => {
  // version 1, topics ["ab", "c"], user data null, then v1's owned partitions (not read).
  const subscription = new Uint8Array([0, 1, 0, 0, 0, 2, 0, 2, 97, 98, 0, 1, 99, 255, 255, 255, 255, 0, 0, 0, 0]);
  expect(subscribedTopics(subscription)).toEqual(["ab", "c"]);
  // version 0, [{topic "c", partitions [3, 1]}], user data empty.
  const assignment = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 1, 99, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0]);
  expect(assignedPartitions(assignment)).toEqual([
    { topic: "c", partition: 3 },
    { topic: "c", partition: 1 },
  ]);
  expect(subscribedTopics(new Uint8Array(0))).toEqual([]);
  expect(assignedPartitions(new Uint8Array([0, 0, 0x7f, 0xff, 0xff, 0xff]))).toEqual([]);
  expect(subscribedTopics(new Uint8Array([0, 0, 0, 0, 0, 1, 0, 9, 97]))).toEqual([]);
});

import { expect, test } from "bun:test";
import { limits } from "../core/limits.ts";
import { POOL_CAPACITY_MIN } from "../storage/descriptor-pool.ts";
import { openFilesMax, segmentFilesOpenMax, segmentFilesOpenMaxFor } from "./open-files.ts";
import { partitionsMax } from "./partitions-max.ts";

test("the partition cap is its own limit, not the open-file limit's: 10,000 by default, a flag sets it", () => {
  expect(limits.partitionsPerBrokerMaxDefault).toBe(10_000);
  expect(partitionsMax(undefined)).toBe(limits.partitionsPerBrokerMaxDefault);
  expect(partitionsMax(3)).toBe(3);
  // Above what the open-file limit here (20,000) used to allow (7,500): partitions hold no descriptor while idle.
  expect(partitionsMax(50_000)).toBe(50_000);
});

test("the descriptor pool takes at most half the open-file limit, and 1,000 by default", () => {
  expect(segmentFilesOpenMaxFor(20_000)).toBe(limits.segmentFilesOpenMaxDefault);
  expect(segmentFilesOpenMaxFor(1024)).toBe(512); // a common default soft limit
  expect(segmentFilesOpenMaxFor(5)).toBe(POOL_CAPACITY_MIN); // never below the pool's minimum
  expect(segmentFilesOpenMaxFor(Number.MAX_SAFE_INTEGER)).toBe(limits.segmentFilesOpenMaxDefault);
});

test("this process's limit is read through getrlimit, and the flag never takes the pool past half of it", () => {
  const limit = openFilesMax();
  const shell = Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim(); // a child inherits the limit
  expect(limit).toBe(shell === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(shell));
  expect(segmentFilesOpenMax(undefined)).toBe(segmentFilesOpenMaxFor(limit));
  expect(segmentFilesOpenMax(8)).toBe(8);
  expect(segmentFilesOpenMax(Number.MAX_SAFE_INTEGER)).toBe(Math.max(POOL_CAPACITY_MIN, Math.floor(limit / 2)));
});

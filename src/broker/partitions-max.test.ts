import { expect, test } from "bun:test";
import { limits } from "../core/limits.ts";
import { openFilesMax, partitionsMax, partitionsMaxFor } from "./partitions-max.ts";

test("the cap leaves a quarter of the open-file limit (at least 256) and counts two descriptors per partition", () => {
  expect(limits.descriptorsPerPartition).toBe(2);
  expect(partitionsMaxFor(20_000)).toBe((20_000 - 5_000) / 2); // the limit that failed with EMFILE at 19,900 partitions
  expect(partitionsMaxFor(1024)).toBe((1024 - 256) / 2); // a common default soft limit
  expect(partitionsMaxFor(600)).toBe((600 - 256) / 2); // the reserve's floor binds
  expect(partitionsMaxFor(257)).toBe(1); // never below one: the broker can still be used
  expect(partitionsMaxFor(1_048_576)).toBe(limits.partitionsPerBrokerMax); // memory and restart time bind first
  expect(partitionsMaxFor(Number.MAX_SAFE_INTEGER)).toBe(limits.partitionsPerBrokerMax);
});

test("the derivation keeps the broker's descriptors under the limit with room to spare", () => {
  for (const limit of [300, 1024, 4096, 20_000, 65_536]) {
    const partitions = partitionsMaxFor(limit);
    expect(partitions * limits.descriptorsPerPartition).toBeLessThanOrEqual(limit - limits.descriptorsReservedMin);
  }
});

test("this process's limit is read through getrlimit, and a flag only lowers the cap", () => {
  const limit = openFilesMax();
  const shell = Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim(); // a child inherits the limit
  expect(limit).toBe(shell === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(shell));
  expect(partitionsMax(undefined)).toBe(partitionsMaxFor(limit));
  expect(partitionsMax(3)).toBe(3);
  expect(partitionsMax(Number.MAX_SAFE_INTEGER)).toBe(partitionsMaxFor(limit));
});

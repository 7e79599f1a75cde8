import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { silentLogger } from "../core/logger.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { GroupCoordinator } from "./coordinator.ts";
import type { GroupStatus } from "./coordinator-types.ts";

/**
 * summaryAll() (the default metrics' view) counts what statusAll() shows,
 * without a status per partition: committed offsets, a committed offset
 * below the log start, partitions assigned to live members without a
 * commit, and a topic deleted under a group's offsets.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** What summaryAll() claims to give for a status: GroupSummary's definition. */
function summaryOf(status: GroupStatus) {
  return {
    groupId: status.groupId,
    members: status.members.length,
    partitions: status.partitions.length,
    lag: status.partitions.reduce((sum, partition) => sum + (partition.lag ?? 0), 0),
  };
}

test("summaryAll gives each group's members, partitions and total lag as statusAll counts them", async () => {
  const temp = makeTempDir("gafka-group-summary-");
  cleanups.push(temp.remove);
  const clock = new ManualClock();
  const broker = await Broker.open(testBrokerConfig(temp.dir, { clock }));
  const groups = GroupCoordinator.open({ broker, dataDir: temp.dir, fs: nodeFileSystem, clock, logger: silentLogger, sweepIntervalMs: 5 });
  cleanups.push(async () => {
    await groups.close();
    await broker.close();
  });

  const value = new TextEncoder().encode("v");
  await broker.createTopic("t", 3);
  await broker.createTopic("gone", 2);
  for (let round = 0; round < 5; round++) {
    await broker.produce("t", [0, 1, 2].map((partition) => ({ partition, key: null, headers: [], value })));
  }
  await broker.produce("gone", [{ partition: 0, key: null, headers: [], value }]);

  await groups.commit("committed", undefined, undefined, [{ topic: "t", partition: 0, offset: 2 }, { topic: "t", partition: 1, offset: 5 }]);
  await groups.commit("below", undefined, undefined, [{ topic: "t", partition: 2, offset: 1 }]);
  broker.deleteRecords("t", [{ partition: 2, before: 3 }]);
  await groups.commit("live", undefined, undefined, [{ topic: "t", partition: 1, offset: 3 }]);
  groups.join("live", "m", { topics: ["t"] });
  await groups.commit("orphan", undefined, undefined, [{ topic: "gone", partition: 0, offset: 0 }, { topic: "t", partition: 0, offset: 4 }]);
  await broker.deleteTopic("gone");

  const summaries = groups.summaryAll();
  expect(summaries).toEqual(groups.statusAll().map(summaryOf));
  // The cases above were all met: 3 + 0 lag; 5 - 3 from the log start; 2 + two assigned partitions
  // without a commit, read from their log starts (5 - 0, 5 - 3); the deleted topic's partition has no lag.
  expect(summaries.find((summary) => summary.groupId === "committed")).toEqual({ groupId: "committed", members: 0, partitions: 2, lag: 3 });
  expect(summaries.find((summary) => summary.groupId === "below")).toEqual({ groupId: "below", members: 0, partitions: 1, lag: 2 });
  expect(summaries.find((summary) => summary.groupId === "live")).toEqual({ groupId: "live", members: 1, partitions: 3, lag: 9 });
  expect(summaries.find((summary) => summary.groupId === "orphan")?.lag).toBe(1);
});

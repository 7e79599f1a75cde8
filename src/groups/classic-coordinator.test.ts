import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { ANONYMOUS } from "../broker/write-gate.ts";
import { GafkaError } from "../core/errors.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { silentLogger } from "../core/logger.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { JoinRequest } from "./classic-groups.ts";
import { GroupCoordinator } from "./coordinator.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fixture(groupsMax?: number): Promise<{ broker: Broker; groups: GroupCoordinator; clock: ManualClock }> {
  const temp = makeTempDir("gafka-classic-");
  cleanups.push(temp.remove);
  const clock = new ManualClock();
  const broker = await Broker.open(testBrokerConfig(temp.dir, { clock }));
  const groups = GroupCoordinator.open({ broker, dataDir: temp.dir, fs: nodeFileSystem, clock, logger: silentLogger, sweepIntervalMs: 5, groupsMax });
  cleanups.push(async () => {
    await groups.close();
    await broker.close();
  });
  await broker.createTopic("t", 2);
  await broker.produce("t", [0, 0, 0, 1].map((partition) => ({ partition, key: null, value: new Uint8Array([1]), headers: [] })));
  return { broker, groups, clock };
}

/** A consumer-protocol subscription to `topics` (version 0), and an assignment of `partitions` of topic t. */
function subscription(...topics: string[]): Uint8Array {
  const parts: number[] = [0, 0, 0, 0, 0, topics.length];
  for (const topic of topics) parts.push(0, topic.length, ...new TextEncoder().encode(topic));
  parts.push(0xff, 0xff, 0xff, 0xff);
  return new Uint8Array(parts);
}

function assignment(...partitions: number[]): Uint8Array {
  const parts: number[] = [0, 0, 0, 0, 0, 1, 0, 1, "t".charCodeAt(0), 0, 0, 0, partitions.length];
  for (const partition of partitions) parts.push(0, 0, 0, partition);
  parts.push(0xff, 0xff, 0xff, 0xff);
  return new Uint8Array(parts);
}

function join(memberId = ""): JoinRequest {
  return {
    memberId,
    clientId: "kafka-client",
    clientHost: "/127.0.0.1",
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: subscription("t") }],
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    requireKnownMemberId: false,
  };
}

test("a Kafka member's commits land in the shared offset store and show in the group's status with its assignment", async () => {
  const { groups } = await fixture();
  const joined = await groups.classic.join("kg", join(), ANONYMOUS);
  await groups.classic.sync("kg", joined.memberId, 1, new Map([[joined.memberId, assignment(0, 1)]]), ANONYMOUS);
  const answers = await groups.classic.commit("kg", joined.memberId, 1, [{ topic: "t", partition: 0, offset: 2 }, { topic: "t", partition: 5, offset: 0 }, { topic: "t", partition: 1, offset: 9 }], ANONYMOUS);
  expect(answers.map((a) => [a.partition, a.error === null ? null : a.error instanceof GafkaError ? a.error.code : a.error])).toEqual([
    [0, null],
    [5, "partition_not_found"],
    [1, "offset_out_of_range"],
  ]);
  expect(groups.classic.fetchOffsets("kg", null, ANONYMOUS).map((o) => [o.partition, o.offset])).toEqual([[0, 2]]);
  expect(groups.classic.fetchOffsets("kg", [{ topic: "t", partitions: [0, 1] }], ANONYMOUS).map((o) => o.offset)).toEqual([2, -1]);
  const status = groups.describeGroup("kg");
  expect(status.state).toBe("stable");
  expect(status.assignor).toBe("range");
  expect(status.members).toEqual([expect.objectContaining({ memberId: joined.memberId, topics: ["t"], assignment: [{ topic: "t", partition: 0 }, { topic: "t", partition: 1 }] })]);
  expect(status.partitions.map((p) => [p.partition, p.committedOffset, p.lag, p.owner])).toEqual([
    [0, 2, 1, joined.memberId],
    [1, null, 1, joined.memberId],
  ]);
  expect(groups.list()).toEqual([{ groupId: "kg", state: "stable", generation: 1, members: 1 }]);
  expect(groups.classic.describe("kg", ANONYMOUS).state).toBe("Stable");
  expect(groups.classic.describe("nothing", ANONYMOUS).state).toBe("Dead");
});

test("a group is one kind while live: HTTP members keep Kafka members out and the reverse; an empty group takes either, with its offsets", async () => {
  const { groups } = await fixture();
  groups.join("mixed", "http-member", { topics: ["t"] });
  const refused = await groups.classic.join("mixed", join(), ANONYMOUS);
  expect(refused.error).toBe("inconsistent_group_protocol");
  const commit = await groups.classic.commit("mixed", "", -1, [{ topic: "t", partition: 0, offset: 1 }], ANONYMOUS);
  expect(commit[0].error).toBe("inconsistent_group_protocol");
  groups.leave("mixed", "http-member");

  const joined = await groups.classic.join("mixed", join(), ANONYMOUS);
  expect(joined.error).toBeNull();
  const codeOf = (call: () => unknown) => {
    try {
      call();
      return null;
    } catch (error) {
      return (error as GafkaError).code;
    }
  };
  expect(codeOf(() => groups.join("mixed", "http-member", { topics: ["t"] }))).toBe("inconsistent_group_protocol");
  expect(await groups.consume("mixed", "http-member", { topics: ["t"], maxRecords: 1, waitMs: 0 }).catch((e: GafkaError) => e.code)).toBe("inconsistent_group_protocol");
  expect(await groups.commit("mixed", undefined, undefined, [{ topic: "t", partition: 0, offset: 1 }]).catch((e: GafkaError) => e.code)).toBe("group_not_empty");
  expect(await groups.deleteGroup("mixed").catch((e: GafkaError) => e.code)).toBe("group_not_empty");

  groups.classic.leave("mixed", [joined.memberId], ANONYMOUS);
  // Empty again: a simple commit (generation -1, no member) is taken, and HTTP members may join.
  const simple = await groups.classic.commit("mixed", "", -1, [{ topic: "t", partition: 0, offset: 3 }], ANONYMOUS);
  expect(simple[0].error).toBeNull();
  expect(groups.join("mixed", "http-member", { topics: ["t"] }).assignment.length).toBe(2);
  expect(groups.describeGroup("mixed").partitions[0].committedOffset).toBe(3);
});

test("every call passes the broker's gate: a follower refuses (not_leader)", async () => {
  const { broker, groups } = await fixture();
  const gate = broker as unknown as { admit: Broker["admit"] };
  const admit = gate.admit.bind(broker);
  gate.admit = (principal, operation, resource) => {
    if (resource.kind === "group") throw new GafkaError("not_leader", "not the leader");
    return admit(principal, operation, resource);
  };
  expect(() => groups.classic.join("kg", join(), ANONYMOUS)).toThrow("not the leader");
  expect(() => groups.classic.heartbeat("kg", "m", 1, ANONYMOUS)).toThrow("not the leader");
  expect(() => groups.classic.fetchOffsets("kg", null, ANONYMOUS)).toThrow("not the leader");
});

test("a new Kafka group counts against the groups cap as an HTTP group does", async () => {
  const { groups } = await fixture(1);
  groups.join("http-group", "m", { topics: ["t"] });
  expect(() => groups.classic.join("kafka-group", join(), ANONYMOUS)).toThrow("consumer groups");
  groups.leave("http-group", "m");
  await groups.deleteGroup("http-group").catch(() => {});
  expect((await groups.classic.join("kafka-group", join(), ANONYMOUS)).error).toBeNull();
  expect(() => groups.join("http-group", "m", { topics: ["t"] })).toThrow("consumer groups");
});

import { afterAll, expect, test } from "bun:test";
import { runBroker, type RunningBroker } from "../src/run-broker.ts";
import { testRunConfig } from "./helpers/broker-config.ts";
import { makeTempDir } from "./helpers/temp-dir.ts";

/**
 * GET /metrics stays small with many groups on a many-partition topic: by
 * default a group has a few series of its own (members, total lag,
 * partitions), not one per partition; `--metrics-group-partitions` brings
 * the per group-partition committed offset and lag back. Before, 3,000
 * groups on a 100-partition topic made a 22 MB scrape.
 */

const temp = makeTempDir("gafka-metrics-bounds-");
let running: RunningBroker | undefined;

afterAll(async () => {
  await running?.stop();
  temp.remove();
});

const GROUPS = 100;
const PARTITIONS = 100;
/** Series one group adds by default: gafka_group_members, gafka_group_lag_total, gafka_group_partitions. */
const SERIES_PER_GROUP = 3;
/** Bytes a series' line takes at most here (name, a group label, a value). */
const SERIES_LINE_BYTES_MAX = 80;

async function scrape(broker: RunningBroker): Promise<string[]> {
  const response = await fetch(`${broker.url}/metrics`);
  expect(response.status).toBe(200);
  return (await response.text()).split("\n").filter((line) => line !== "" && !line.startsWith("#"));
}

test("the default scrape has a few series per group, none per group and partition; the flag brings those back", async () => {
  running = await runBroker(testRunConfig(temp.dir, { fsyncPolicy: { kind: "never" } }));
  await running.broker.createTopic("wide", PARTITIONS);
  await running.broker.produce("wide", Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, key: null, headers: [], value: new TextEncoder().encode("v") })));
  const before = await scrape(running);
  const bytesBefore = before.join("\n").length;

  const commits = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: "wide", partition, offset: 0 }));
  for (let group = 0; group < GROUPS; group++) await running.groups.commit(`g${group}`, undefined, undefined, commits);

  const after = await scrape(running);
  expect(after.filter((line) => line.startsWith("gafka_group_lag{") || line.startsWith("gafka_group_committed_offset{"))).toEqual([]);
  const groupSeries = after.filter((line) => line.startsWith("gafka_group_"));
  expect(groupSeries.length).toBe(GROUPS * SERIES_PER_GROUP);
  expect(after).toContain(`gafka_group_lag_total{group="g7"} ${PARTITIONS}`);
  expect(after).toContain(`gafka_group_partitions{group="g7"} ${PARTITIONS}`);
  expect(after).toContain('gafka_group_members{group="g7"} 0');
  // The scrape grows with the groups, not with groups × partitions.
  expect(after.join("\n").length - bytesBefore).toBeLessThanOrEqual(GROUPS * SERIES_PER_GROUP * SERIES_LINE_BYTES_MAX);

  await running.stop();
  running = await runBroker(testRunConfig(temp.dir, { fsyncPolicy: { kind: "never" }, metricsGroupPartitions: true }));
  const detailed = await scrape(running);
  expect(detailed.filter((line) => line.startsWith("gafka_group_lag{")).length).toBe(GROUPS * PARTITIONS);
  expect(detailed.filter((line) => line.startsWith("gafka_group_committed_offset{")).length).toBe(GROUPS * PARTITIONS);
  expect(detailed).toContain('gafka_group_lag{group="g7",topic="wide",partition="3"} 1');
});

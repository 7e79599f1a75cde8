import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { getJson, postJson } from "./helpers/http.ts";

afterAll(cleanupAll);

const TOPICS = 100;
const PARTITIONS_PER_TOPIC = 100;
const CREATES_IN_FLIGHT = 4;

/** Open descriptors of a process (entries of /proc/PID/fd). */
function descriptorsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

test("a broker with 10,000 partitions restarts and serves, holding no descriptor per idle partition", async () => {
  // The default cap (10,000) admits them all, whatever the open-file limit (20,000 here used to cap the broker at 7,500).
  const broker = await startBrokerProcess();
  let next = 0;
  const creator = async () => {
    while (next < TOPICS) {
      const name = `many-${next++}`;
      const created = await postJson(`${broker.url}/api/v1/topics`, { name, partitions: PARTITIONS_PER_TOPIC });
      expect([name, created.status]).toEqual([name, 201]);
    }
  };
  await Promise.all(Array.from({ length: CREATES_IN_FLIGHT }, creator));
  // The pool holds at most 1,000 segment files open, whatever the partitions.
  expect(descriptorsOf(broker.process.pid)).toBeLessThanOrEqual(1_100);
  expect(await broker.stop()).toBe(0);

  await broker.restart();
  // A clean stop: no partition's segment file is opened at start.
  expect(descriptorsOf(broker.process.pid)).toBeLessThanOrEqual(1_100);
  const listed = (await getJson(`${broker.url}/api/v1/topics`)).body;
  expect(JSON.stringify(listed)).toContain("many-99");
  for (const [topic, partition] of [[0, 0], [57, 42], [99, 99]] as const) {
    const produced = await postJson(`${broker.url}/api/v1/produce`, { topic: `many-${topic}`, partition, value: `after the restart ${topic}-${partition}` });
    expect(produced.status).toBe(200);
    const consumed = await getJson(`${broker.url}/api/v1/consume?topic=many-${topic}&partition=${partition}&offset=0&count=10&timeout=0`);
    expect(consumed.body.records.map((r: { value: string }) => r.value)).toEqual([`after the restart ${topic}-${partition}`]);
  }
  expect(descriptorsOf(broker.process.pid)).toBeLessThanOrEqual(1_100);
  await broker.cleanup();
}, 60_000);

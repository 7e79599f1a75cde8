import { afterAll, expect, test } from "bun:test";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { postJson, readPartition } from "./helpers/http.ts";

afterAll(cleanupAll);

const TOTAL = 100_000;
const PER_REQUEST = 2_000;

test("order within a partition holds for 100,000 messages read back", async () => {
  const broker = await startBrokerProcess();
  expect((await postJson(`${broker.url}/api/v1/topics`, { name: "order", partitions: 2 })).status).toBe(201);

  // Two producers at once, each sending its own sequence with keys spread over both partitions.
  const produce = async (producer: string) => {
    for (let start = 0; start < TOTAL / 2; start += PER_REQUEST) {
      const records = Array.from({ length: PER_REQUEST }, (_, i) => ({ key: `key-${(start + i) % 97}`, value: `${producer}:${start + i}` }));
      const { status, body } = await postJson(`${broker.url}/api/v1/produce`, { topic: "order", records });
      expect(status).toBe(200);
      expect(body.results).toHaveLength(PER_REQUEST);
    }
  };
  await Promise.all([produce("a"), produce("b")]);

  let total = 0;
  for (const partition of [0, 1]) {
    const records = await readPartition(broker.url, "order", partition);
    total += records.length;
    const last: Record<string, number> = { a: -1, b: -1 };
    records.forEach((record, index) => {
      expect(record.offset).toBe(index);
      const [producer, seq] = record.value.split(":") as [string, string];
      expect(Number(seq)).toBeGreaterThan(last[producer]!);
      last[producer] = Number(seq);
    });
  }
  expect(total).toBe(TOTAL);
  await broker.cleanup();
});

import { afterAll, expect, test } from "bun:test";
import { cleanupAll, startBrokerProcess } from "./helpers/broker-process.ts";
import { postJson, readPartition, waitFor, type WireRecord } from "./helpers/http.ts";

afterAll(cleanupAll);

const CLIENTS = 6;
const ACKED_BEFORE_KILL = 3000;

interface Ack {
  partition: number;
  offset: number;
}

test("kill -9 under concurrent load: every acknowledged record is there exactly once, in order", async () => {
  await crashUnderLoad(3, []);
}, 180_000);

test("kill -9 under concurrent load over 32 partitions, small rounds in the commit journal checkpointed every 64 KiB: every acknowledged record is there exactly once, in order", async () => {
  await crashUnderLoad(32, ["--journal-checkpoint-bytes=65536"]);
}, 180_000);

async function crashUnderLoad(partitions: number, args: string[]): Promise<void> {
  const broker = await startBrokerProcess({ args });
  const created = await postJson(`${broker.url}/api/v1/topics`, { name: "crash", partitions });
  expect(created.status).toBe(201);

  const acked = new Map<string, Ack>();
  const sent = new Set<string>();
  let stopped = false;

  // Half the clients send one record per request, half send batches of 10; each
  // client waits for an answer before its next request, so its own records are
  // ordered within each partition.
  const client = async (id: number) => {
    const batched = id % 2 === 1;
    for (let seq = 0; !stopped; seq += batched ? 10 : 1) {
      const values = Array.from({ length: batched ? 10 : 1 }, (_, i) => `c${id}-${seq + i}`);
      for (const value of values) sent.add(value);
      try {
        const url = `${broker.url}/api/v1/produce`;
        if (batched) {
          const { status, body } = await postJson(url, {
            topic: "crash",
            records: values.map((value, i) => ({ key: `k${id}-${(seq + i) % 5}`, value })),
          });
          if (status === 200) body.results.forEach((r: Ack, i: number) => acked.set(values[i]!, r));
        } else {
          const { status, body } = await postJson(url, { topic: "crash", key: `k${id}-${seq % 5}`, value: values[0] });
          if (status === 200) acked.set(values[0]!, body);
        }
      } catch {
        return; // the broker is gone
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, id) => client(id));
  await waitFor(() => acked.size >= ACKED_BEFORE_KILL, `${ACKED_BEFORE_KILL} acknowledged records`, 120_000);
  await broker.kill();
  stopped = true;
  await Promise.all(clients);

  await broker.restart();
  const stored: WireRecord[][] = [];
  for (let partition = 0; partition < partitions; partition++) stored.push(await readPartition(broker.url, "crash", partition));

  const seen = new Map<string, Ack>();
  for (const records of stored) {
    records.forEach((record, index) => {
      expect(record.offset).toBe(index); // no gap, no repeat
      expect(sent.has(record.value)).toBe(true); // never garbage, never half a record
      expect(seen.has(record.value)).toBe(false); // exactly once
      seen.set(record.value, { partition: record.partition, offset: record.offset });
    });
    // Each client's records keep their order within the partition.
    const lastSeq = new Map<string, number>();
    for (const record of records) {
      const [clientId, seq] = record.value.split("-") as [string, string];
      expect(Number(seq)).toBeGreaterThan(lastSeq.get(clientId) ?? -1);
      lastSeq.set(clientId, Number(seq));
    }
  }
  for (const [value, ack] of acked) expect(seen.get(value)).toEqual({ partition: ack.partition, offset: ack.offset });
  expect(acked.size).toBeGreaterThanOrEqual(ACKED_BEFORE_KILL);

  // The restarted broker takes writes after the recovered tail.
  const after = await postJson(`${broker.url}/api/v1/produce`, { topic: "crash", partition: 0, value: "after-restart" });
  expect(after.status).toBe(200);
  expect(after.body.offset).toBe(stored[0]!.length);
  await broker.cleanup();
}

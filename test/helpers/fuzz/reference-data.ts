import type { BrokerProcess } from "../broker-process.ts";
import type { Prng } from "./prng.ts";

/**
 * The records and committed offsets a fuzz run writes before it starts, and
 * reads back after: nothing the fuzzer sends may change them. Keys, values
 * and header values are random bytes, sent and read as base64, so "the same"
 * means byte for byte.
 */

export interface ReferenceRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: number;
}

export interface ReferenceData {
  records: ReferenceRecord[];
  /** `partition:offset` committed for the reference group. */
  committed: string[];
}

export const REFERENCE_PARTITIONS = 2;

async function call(url: string, method: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function expectStatus(what: string, answer: Promise<{ status: number; body: any }>, status: number): Promise<any> {
  const { status: got, body } = await answer;
  if (got !== status) throw new Error(`${what} answered ${got}: ${JSON.stringify(body)}`);
  return body;
}

export async function writeReference(leader: BrokerProcess, rng: Prng, topic: string, group: string, recordCount: number): Promise<ReferenceData> {
  await expectStatus("creating the reference topic", call(`${leader.url}/api/v1/topics`, "POST", { name: topic, partitions: REFERENCE_PARTITIONS }), 201);
  const base64 = (bytes: number) => Buffer.from(rng.bytes(bytes)).toString("base64");
  const sent = Array.from({ length: recordCount }, (_, i) => ({
    partition: i % REFERENCE_PARTITIONS,
    key: i % 5 === 0 ? null : base64(rng.int(1, 40)),
    value: base64(rng.int(0, 2000)),
    headers: (i % 3 === 0 ? { trace: base64(8) } : {}) as Record<string, string>,
    timestamp: 1_764_000_000_000 + i,
  }));
  const answer = await expectStatus(
    "producing the reference records",
    call(`${leader.url}/api/v1/produce`, "POST", { topic, value_encoding: "base64", key_encoding: "base64", acks: "all", records: sent }),
    200,
  );
  const records = sent.map(({ partition, key, value, headers, timestamp }, i) => ({ partition, offset: answer.results[i].offset as number, key, value, headers, timestamp }));
  const offsets = Array.from({ length: REFERENCE_PARTITIONS }, (_, partition) => ({ topic, partition, offset: 1 + partition }));
  await expectStatus("committing the reference group's offsets", call(`${leader.url}/api/v1/consumer-groups/${group}/offsets`, "POST", { offsets }), 200);
  return { records, committed: offsets.map((o) => `${o.partition}:${o.offset}`) };
}

/** What differs between the reference data and what `broker` serves now; empty when nothing does. */
export async function referenceDifferences(broker: BrokerProcess, topic: string, group: string | undefined, expected: ReferenceData): Promise<string[]> {
  const differences: string[] = [];
  for (let partition = 0; partition < REFERENCE_PARTITIONS; partition++) {
    const want = expected.records.filter((record) => record.partition === partition).sort((a, b) => a.offset - b.offset);
    const url = `${broker.url}/api/v1/consume?topic=${topic}&partition=${partition}&offset=0&count=10000&value_encoding=base64`;
    const { status, body } = await call(url, "GET");
    if (status !== 200) {
      differences.push(`reading reference partition ${partition} answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
      continue;
    }
    const got = body.records.map((r: any) => ({ partition: r.partition, offset: r.offset, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }));
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const at = want.findIndex((record, i) => JSON.stringify(got[i]) !== JSON.stringify(record));
      differences.push(
        `reference partition ${partition} on ${broker.hostPort}: ${got.length} records read back, ${want.length} written; first difference: read ${JSON.stringify(got[at])?.slice(0, 300)}, wrote ${JSON.stringify(want[at])?.slice(0, 300)}`,
      );
    }
  }
  if (group !== undefined) {
    const { status, body } = await call(`${broker.url}/api/v1/consumer-groups/${group}/status`, "GET");
    const committed = status === 200 ? body.partitions.filter((p: any) => p.topic === topic).map((p: any) => `${p.partition}:${p.committed_offset}`).sort() : [];
    if (JSON.stringify(committed) !== JSON.stringify(expected.committed)) {
      differences.push(`reference group offsets: ${JSON.stringify(committed)} (status ${status}), committed ${JSON.stringify(expected.committed)}`);
    }
  }
  return differences;
}

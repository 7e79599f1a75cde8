import { afterAll, beforeAll, expect, test } from "bun:test";
import { runBroker, type RunningBroker } from "../../run-broker.ts";
import { decodeRecordBatch } from "../../protocol/record-batch.ts";
import type { StoredRecord } from "../../protocol/record.ts";
import { testRunConfig } from "../../../test/helpers/broker-config.ts";
import { parseSamples } from "../../../test/helpers/metrics.ts";
import { makeTempDir } from "../../../test/helpers/temp-dir.ts";

/**
 * The binary consume (docs/api.md "Binary consume") against a real server:
 * records produced with the JSON API, consumed in both forms, must be the
 * same records, and a group member's binary consumes must commit exactly
 * what the previous one delivered.
 */

const BINARY = "application/vnd.kafka.record-batch";
const temp = makeTempDir("gafka-consume-http-");
let running: RunningBroker;
let base: string;

/** Comparable form of a record, from either answer. */
interface Delivered {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
  timestamp: number;
}

interface BinaryAnswer {
  status: number;
  contentType: string | null;
  header: any;
  records: Delivered[];
}

beforeAll(async () => {
  running = await runBroker(testRunConfig(temp.dir));
  base = running.url;
  await post("/api/v1/topics", { name: "bt", partitions: 2 });
  // Three produce calls of five records per partition: batches of five records each.
  for (let call = 0; call < 3; call++) {
    const records = [];
    for (let partition = 0; partition < 2; partition++) {
      for (let i = 0; i < 5; i++) {
        const n = call * 5 + i;
        records.push({
          partition,
          key: n % 3 === 0 ? null : `k${partition}-${n}`,
          value: `v${partition}-${n} ${"é".repeat(n)}`,
          headers: n % 2 === 0 ? { trace: `t${n}` } : {},
          timestamp: 1_764_000_000_000 + n,
        });
      }
    }
    expect((await post("/api/v1/produce", { topic: "bt", records })).status).toBe(200);
  }
});

afterAll(async () => {
  await running.stop();
  temp.remove();
});

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function getJson(path: string, accept?: string): Promise<{ status: number; contentType: string | null; body: any }> {
  const response = await fetch(`${base}${path}`, { headers: accept === undefined ? {} : { accept } });
  return { status: response.status, contentType: response.headers.get("content-type"), body: await response.json() };
}

/** A binary answer taken apart as a client must: header, then each chunk's batches, keeping the records in range. */
async function getBinary(path: string, accept = BINARY): Promise<BinaryAnswer> {
  const response = await fetch(`${base}${path}`, { headers: { accept } });
  const body = new Uint8Array(await response.arrayBuffer());
  const headerBytes = new DataView(body.buffer, body.byteOffset).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + headerBytes)));
  const records: Delivered[] = [];
  let position = 4 + headerBytes;
  for (const chunk of header.chunks) {
    const end = position + chunk.bytes;
    while (position < end) {
      const batchBytes = 12 + new DataView(body.buffer, body.byteOffset + position + 8).getInt32(0);
      const { records: stored } = decodeRecordBatch(body.subarray(position, position + batchBytes)); // checks its CRC-32C
      for (const record of stored) {
        if (record.offset >= chunk.offset && record.offset < chunk.next_offset) records.push(fromBatch(chunk.topic, chunk.partition, record));
      }
      position += batchBytes;
    }
    expect(position).toBe(end);
  }
  expect(position).toBe(body.length);
  return { status: response.status, contentType: response.headers.get("content-type"), header, records };
}

function fromBatch(topic: string, partition: number, record: StoredRecord): Delivered {
  const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString("base64"));
  return {
    topic,
    partition,
    offset: record.offset,
    key: text(record.key),
    value: text(record.value),
    headers: record.headers.map((h) => [h.key, text(h.value)]),
    timestamp: record.timestampMs,
  };
}

/** A record of a JSON answer asked for with value_encoding=base64 (the partition form's records name no topic). */
function fromJson(topic: string, record: any): Delivered {
  return {
    topic: record.topic ?? topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    value: record.value,
    headers: Object.entries(record.headers as Record<string, string | null>),
    timestamp: record.timestamp,
  };
}

test("by partition: the binary answer delivers exactly the records the JSON answer holds", async () => {
  const cases = ["offset=0&count=100", "offset=2&count=6", "offset=7&count=3", "offset=5&count=5", "offset=14&count=1", "count=4", "offset=latest"];
  for (const query of cases) {
    for (const partition of [0, 1]) {
      const path = `/api/v1/consume?topic=bt&partition=${partition}&${query}&value_encoding=base64`;
      const json = await getJson(path);
      const binary = await getBinary(path);
      expect(binary.status).toBe(200);
      expect(binary.contentType).toBe(BINARY);
      expect(binary.records).toEqual(json.body.records.map((record: any) => fromJson("bt", record)));
      const { records: _, ...rest } = json.body;
      const chunks = binary.records.length === 0 ? [] : [{ topic: "bt", partition, offset: binary.records[0]!.offset, next_offset: json.body.next_offset, bytes: expect.any(Number) }];
      expect(binary.header).toEqual({ ...rest, chunks });
    }
  }
  // A count ending inside a batch: the whole batch comes, next_offset ends where the count did.
  const middle = await getBinary("/api/v1/consume?topic=bt&partition=0&offset=2&count=6");
  expect(middle.header.next_offset).toBe(8);
  expect(middle.header.chunks[0]).toMatchObject({ offset: 2, next_offset: 8 });
  expect(middle.records.map((r) => r.offset)).toEqual([2, 3, 4, 5, 6, 7]);
});

test("Accept chooses the form: the media type alone or among others is binary; none, JSON or q=0 stays JSON", async () => {
  const path = "/api/v1/consume?topic=bt&partition=0&count=2";
  expect((await getBinary(path, `application/json;q=0.9, ${BINARY}`)).contentType).toBe(BINARY);
  expect((await getBinary(path, `${BINARY.toUpperCase()}; charset=binary`)).contentType).toBe(BINARY);
  expect((await getJson(path)).contentType).toStartWith("application/json");
  expect((await getJson(path, "application/json")).contentType).toStartWith("application/json");
  expect((await getJson(path, "*/*")).body.records).toHaveLength(2);
  expect((await getJson(path, `${BINARY};q=0, application/json`)).contentType).toStartWith("application/json");
  // Errors are JSON in either form.
  const missing = await getJson("/api/v1/consume?topic=nope&partition=0", BINARY);
  expect(missing.status).toBe(404);
  expect(missing.body.error.code).toBe("topic_not_found");
});

test("a binary consume counts the records it delivers, and their batch bytes", async () => {
  const consumed = async () => {
    const samples = parseSamples(await (await fetch(`${base}/metrics`)).text());
    return { records: samples.get('gafka_records_consumed_total{topic="bt"}') ?? 0, bytes: samples.get('gafka_bytes_consumed_total{topic="bt"}') ?? 0 };
  };
  const before = await consumed();
  const response = await fetch(`${base}/api/v1/consume?topic=bt&partition=1&offset=3&count=9`, { headers: { accept: BINARY } });
  const body = new Uint8Array(await response.arrayBuffer());
  const headerBytes = new DataView(body.buffer, body.byteOffset).getUint32(0);
  const after = await consumed();
  expect(after.records - before.records).toBe(9);
  expect(after.bytes - before.bytes).toBe(body.length - 4 - headerBytes);
});

test("a binary long poll answers once a produce lands", async () => {
  const waiting = getBinary("/api/v1/consume?topic=bt&partition=1&offset=15&timeout=10s");
  await Bun.sleep(50);
  expect((await post("/api/v1/produce", { topic: "bt", records: [{ partition: 1, value: "late-1" }, { partition: 1, value: "late-2" }] })).status).toBe(200);
  const woken = await waiting;
  expect(woken.header.next_offset).toBe(17);
  expect(woken.records.map((r) => Buffer.from(r.value!, "base64").toString())).toEqual(["late-1", "late-2"]);
});

test("as a group member: the same records as JSON, and each binary consume commits what the previous delivered", async () => {
  const consume = (group: string) => `/api/v1/consume?topic=bt&group_id=${group}&consumer_id=m&count=4&value_encoding=base64`;
  const committed = async (group: string) =>
    Object.fromEntries(
      (await getJson(`/api/v1/consumer-groups/${group}/status`)).body.partitions.map((p: any) => [p.partition, p.committed_offset]),
    );
  let previousEnds: Record<number, number> = {};
  let rounds = 0;
  for (;;) {
    const json = await getJson(consume("g-json"));
    const binary = await getBinary(consume("g-binary"));
    expect(binary.status).toBe(200);
    expect(binary.contentType).toBe(BINARY);
    expect(binary.records).toEqual(json.body.records.map((record: any) => fromJson("bt", record)));
    const { records: _, ...membership } = json.body;
    expect(binary.header).toMatchObject({ ...membership, group_id: "g-binary" });
    expect(binary.records.length).toBeLessThanOrEqual(4);

    // This call committed exactly what the previous one delivered, and nothing else moved.
    const now = await committed("g-binary");
    for (const [partition, end] of Object.entries(previousEnds)) expect(now[partition]).toBe(end);
    if (rounds === 0) expect(Object.values(now).every((offset) => offset === null)).toBe(true);

    const ends: Record<number, number> = { ...previousEnds };
    for (const chunk of binary.header.chunks) {
      expect(chunk.topic).toBe("bt");
      ends[chunk.partition] = chunk.next_offset;
      const delivered = binary.records.filter((r) => r.partition === chunk.partition).map((r) => r.offset);
      expect(delivered).toEqual(Array.from({ length: chunk.next_offset - chunk.offset }, (_, i) => chunk.offset + i));
    }
    previousEnds = ends;
    rounds++;
    if (binary.records.length === 0) break;
    expect(rounds).toBeLessThan(20);
  }
  expect(previousEnds).toEqual({ 0: 15, 1: 17 });
  expect(rounds).toBeGreaterThan(5);
});

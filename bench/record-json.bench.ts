/**
 * The JSON work of the two hot endpoints, with the real codec
 * (src/http/record-json.ts): a produce body parsed and decoded into records
 * (one 1 KiB record, as the wrk scenario sends, and a batch of 100), and a
 * consume answer's records encoded and stringified (1 and 100 records), the
 * way the consume route used to, and written as bytes the way it does now
 * (src/http/consume-json.ts; 1, 100 and 10,000 records).
 * Run alone with `bun bench/record-json.bench.ts`, or through bench/run.ts.
 */
import { bench, do_not_optimize, group, run } from "mitata";
import { partitionConsumeResponse } from "../src/http/consume-json.ts";
import { decodeProduceRequest, encodeStoredRecord, type RecordJson } from "../src/http/record-json.ts";
import type { StoredRecord } from "../src/protocol/record.ts";

const VALUE = "a".repeat(1024);
const TIMESTAMP_MS = 1_700_000_000_000;

const singleBody = JSON.stringify({ topic: "test-topic", key: "test-42", value: VALUE });
const batchBody = JSON.stringify({
  topic: "test-topic",
  records: Array.from({ length: 100 }, (_, index) => ({ partition: index % 2, key: `test-${index}`, value: VALUE })),
});

function storedRecords(count: number): StoredRecord[] {
  const encoder = new TextEncoder();
  return Array.from({ length: count }, (_, index) => ({
    offset: 1000 + index,
    timestampMs: TIMESTAMP_MS + index,
    key: encoder.encode(`test-${index}`),
    value: encoder.encode(VALUE),
    headers: [],
  }));
}

group("produce body: parse + decode", () => {
  for (const [label, body] of [["1 record", singleBody], ["100 records", batchBody]] as const) {
    bench(`${label} (${body.length} B)`, () => do_not_optimize(decodeProduceRequest(JSON.parse(body) as Record<string, unknown>)));
  }
});

group("consume answer: encode + stringify", () => {
  for (const count of [1, 100]) {
    const records = storedRecords(count);
    bench(`${count} record${count === 1 ? "" : "s"}`, () => {
      const json = new Array<RecordJson>(records.length);
      for (let index = 0; index < records.length; index++) json[index] = encodeStoredRecord(records[index]!, 0, "utf8");
      return do_not_optimize(JSON.stringify({ topic: "test-topic", partition: 0, records: json, next_offset: 1100, high_watermark: 1100 }));
    });
  }
});

/** Records as a read hands them out: keys and values are views of the batch read from the segment. */
function recordsOfOneBatch(count: number): StoredRecord[] {
  const encoder = new TextEncoder();
  const batch = new Uint8Array(count * 1100);
  return Array.from({ length: count }, (_, index) => {
    const key = encoder.encode(`test-${index}`);
    const keyStart = index * 1100;
    batch.set(key, keyStart);
    const valueStart = keyStart + key.length + 3;
    encoder.encodeInto(VALUE, batch.subarray(valueStart));
    return {
      offset: 1000 + index,
      timestampMs: TIMESTAMP_MS + index,
      key: batch.subarray(keyStart, keyStart + key.length),
      value: batch.subarray(valueStart, valueStart + VALUE.length),
      headers: [],
    };
  });
}

group("consume answer as a Response: objects + Response.json (before) vs written as bytes (now)", () => {
  for (const count of [1, 100, 10_000]) {
    const records = recordsOfOneBatch(count);
    const label = `${count} record${count === 1 ? "" : "s"}`;
    bench(`${label}, Response.json`, () => {
      const json = new Array<RecordJson>(records.length);
      for (let index = 0; index < records.length; index++) json[index] = encodeStoredRecord(records[index]!, 0, "utf8");
      return do_not_optimize(Response.json({ topic: "test-topic", partition: 0, records: json, next_offset: 1000 + count, high_watermark: 1000 + count }));
    });
    bench(`${label}, as bytes`, () => do_not_optimize(partitionConsumeResponse("test-topic", 0, records, "utf8", 1000 + count, 1000 + count)));
  }
});

if (import.meta.main) await run();

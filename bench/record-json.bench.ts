/**
 * The JSON work of the two hot endpoints, with the real codec
 * (src/http/record-json.ts): a produce body parsed and decoded into records
 * (one 1 KiB record, as the wrk scenario sends, and a batch of 100), and a
 * consume answer's records encoded and stringified (1 and 100 records).
 * Run alone with `bun bench/record-json.bench.ts`, or through bench/run.ts.
 */
import { bench, do_not_optimize, group, run } from "mitata";
import { decodeProduceRequest, encodeStoredRecord, type RecordJson } from "../src/http/record-json.ts";
import type { StoredRecord } from "../src/storage/record.ts";

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

if (import.meta.main) await run();

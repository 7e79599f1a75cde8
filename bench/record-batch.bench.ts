/**
 * RecordBatch v2 encode and decode (src/protocol/record-batch.ts): a full
 * produce-sized batch of 100 records with 1 KB values, and a lone 1 KB record,
 * where the fixed per-batch cost dominates. And the producer's case: 1,000
 * string values of 1 KB, written into the batch as UTF-8 directly
 * (encodeInto) or first each through TextEncoder.encode, as the SDK did.
 * Run alone with `bun bench/record-batch.bench.ts`, or through bench/run.ts.
 */
import { bench, do_not_optimize, group, run } from "mitata";
import { decodeRecordBatch, encodeRecordBatch } from "../src/protocol/record-batch.ts";
import type { RecordInput } from "../src/protocol/record.ts";

const VALUE_BYTES = 1024;
const TIMESTAMP_MS = 1_700_000_000_000;

function records(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, index) => ({
    key: new TextEncoder().encode(`user-${index}`),
    value: new Uint8Array(VALUE_BYTES).fill(index & 0xff),
    headers: [{ key: "content-type", value: new TextEncoder().encode("application/json") }],
    timestampMs: TIMESTAMP_MS + index,
  }));
}

for (const count of [100, 1]) {
  const inputs = records(count);
  const encoded = encodeRecordBatch({ baseOffset: 0, records: inputs });
  group(`record batch: ${count} x ${VALUE_BYTES} B (${encoded.length} B)`, () => {
    bench(`encode ${count} records`, () => do_not_optimize(encodeRecordBatch({ baseOffset: 0, records: inputs })));
    bench(`decode ${count} records`, () => do_not_optimize(decodeRecordBatch(encoded)));
  });
}

const STRING_RECORDS = 1000;
const texts = Array.from({ length: STRING_RECORDS }, (_, index) => ({
  key: null,
  value: `${index}|${"x".repeat(VALUE_BYTES - 8)}`,
  headers: [],
  timestampMs: TIMESTAMP_MS,
}));
const utf8 = new TextEncoder();
group(`producer batch: ${STRING_RECORDS} string values of ${VALUE_BYTES} B`, () => {
  bench("strings written into the batch", () => do_not_optimize(encodeRecordBatch({ baseOffset: 0, records: texts })));
  bench("each value through TextEncoder.encode first", () =>
    do_not_optimize(encodeRecordBatch({ baseOffset: 0, records: texts.map((record) => ({ ...record, value: utf8.encode(record.value) })) })),
  );
});

if (import.meta.main) await run();

/**
 * RecordBatch v2 encode and decode (src/storage/record-batch.ts): a full
 * produce-sized batch of 100 records with 1 KB values, and a lone 1 KB record,
 * where the fixed per-batch cost dominates.
 * Run alone with `bun bench/record-batch.bench.ts`, or through bench/run.ts.
 */
import { bench, do_not_optimize, group, run } from "mitata";
import { decodeRecordBatch, encodeRecordBatch } from "../src/storage/record-batch.ts";
import type { RecordInput } from "../src/storage/record.ts";

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

if (import.meta.main) await run();

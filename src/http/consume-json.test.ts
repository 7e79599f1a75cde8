import { expect, test } from "bun:test";
import type { StoredRecord } from "../protocol/record.ts";
import { groupConsumeResponse, partitionConsumeResponse } from "./consume-json.ts";
import { encodeStoredRecord, type Encoding } from "./record-json.ts";

const utf8 = new TextEncoder();

/** Values that take every path: copied as they are, escaped, decoded (non-ASCII, invalid UTF-8), at every alignment. */
function trickyValues(): (Uint8Array | null)[] {
  const values: (Uint8Array | null)[] = [null, new Uint8Array(0), utf8.encode("plain ASCII text ~ with DEL \u007f")];
  for (const text of ['a "quoted" word', "back\\slash", "tab\there", "line\nfeed", "nul\u0000byte", "\u001f", "héllo ✓ 𝄞", "x".repeat(1000)]) {
    values.push(utf8.encode(text));
  }
  values.push(new Uint8Array([0x61, 0xff, 0xfe, 0x62]), new Uint8Array([0xe2, 0x82])); // invalid UTF-8
  // A control character at each position of a word, in values at each offset of a shared buffer.
  const shared = new Uint8Array(4096).fill(0x41);
  for (let start = 0; start < 8; start++) {
    for (let at = 0; at < 12; at++) {
      const value = shared.slice(0, 4096).subarray(start, start + 13 + (at % 5));
      if (at < value.length) value[at] = at % 2 === 0 ? 0x0a : 0x01;
      values.push(value);
    }
    values.push(shared.subarray(start, start + 3), shared.subarray(start, start + 37));
  }
  return values;
}

function records(): StoredRecord[] {
  const values = trickyValues();
  return values.map((value, index) => ({
    offset: 1000 + index,
    timestampMs: 1_764_000_000_000 + index,
    key: index % 3 === 0 ? null : (values[(index * 7) % values.length] ?? null),
    value,
    headers:
      index % 4 === 0
        ? []
        : index % 4 === 1
          ? [{ key: "trace-id", value: utf8.encode("abc") }]
          : index % 4 === 2
            ? [
                { key: "k", value: null },
                { key: "k", value: utf8.encode("again") },
              ]
            : [{ key: "__proto__", value: value }],
  }));
}

for (const encoding of ["utf8", "base64"] as Encoding[]) {
  test(`the partition answer is JSON.stringify's text of the object form, byte for byte (${encoding})`, async () => {
    const stored = records();
    expect(stored.length).toBeGreaterThanOrEqual(64); // enough for the byte writer (fewer go through Response.json)
    const expected = JSON.stringify({
      topic: 'topic "q"',
      partition: 3,
      records: stored.map((record) => encodeStoredRecord(record, 3, encoding)),
      next_offset: 2000,
      high_watermark: 2001,
    });
    const response = partitionConsumeResponse('topic "q"', 3, stored, encoding, 2000, 2001);
    expect(response.headers.get("content-type")).toBe("application/json;charset=utf-8");
    expect(await response.text()).toBe(expected);
  });

  test(`the group answer is JSON.stringify's text of the object form, byte for byte (${encoding})`, async () => {
    const stored = records().map((record, index) => ({ ...record, topic: index < 40 ? "a" : "b", partition: index % 3 }));
    const membership = { group_id: "g", consumer_id: "c", generation: 2, assignment: [{ topic: "a", partitions: [0, 1, 2] }], session_timeout_ms: 10000 };
    const expected = JSON.stringify({
      ...membership,
      records: stored.map((record) => ({ topic: record.topic, ...encodeStoredRecord(record, record.partition, encoding) })),
    });
    expect(await groupConsumeResponse(membership, stored, encoding).text()).toBe(expected);
    expect(await groupConsumeResponse({}, [], encoding).text()).toBe('{"records":[]}');
  });
}

test("answers written one after the other in the one reused buffer each keep their own text (Response copies its body)", async () => {
  const stored = records();
  const first = partitionConsumeResponse("a", 0, stored, "utf8", 1, 1);
  const second = partitionConsumeResponse("b", 1, stored.slice().reverse(), "base64", 2, 2);
  const expectedFirst = JSON.stringify({
    topic: "a",
    partition: 0,
    records: stored.map((record) => encodeStoredRecord(record, 0, "utf8")),
    next_offset: 1,
    high_watermark: 1,
  });
  expect(await first.text()).toBe(expectedFirst);
  expect((await second.text()).startsWith('{"topic":"b","partition":1,')).toBe(true);
});

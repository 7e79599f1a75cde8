import { expect, test } from "bun:test";
import { decodeProduceRequest } from "./record-json.ts";

const decoder = new TextDecoder();

test("every string of a request decodes to its own UTF-8 bytes, whatever its size and characters", () => {
  const values = [
    ...Array.from({ length: 2000 }, (_, i) => `v${i}-${"é€😀".repeat(i % 50)}-${"a".repeat(i % 700)}`),
    "x".repeat(300 * 1024),
    "",
    "tail",
  ];
  const { records } = decodeProduceRequest({
    topic: "t",
    records: values.map((value, i) => ({ key: `k${i}`, value, headers: { h: `hv${i}` } })),
  });
  records.forEach((record, i) => {
    expect(decoder.decode(record.value!)).toBe(values[i]!);
    expect(decoder.decode(record.key!)).toBe(`k${i}`);
    expect(decoder.decode(record.headers[0]!.value!)).toBe(`hv${i}`);
  });
  // A later request never overwrites an earlier one's bytes.
  const later = decodeProduceRequest({ topic: "t", records: values.slice(0, 100).map((value) => ({ value: value.toUpperCase() })) });
  records.forEach((record, i) => expect(decoder.decode(record.value!)).toBe(values[i]!));
  expect(decoder.decode(later.records[5]!.value!)).toBe(values[5]!.toUpperCase());
});

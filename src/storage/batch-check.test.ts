import { describe, expect, test } from "bun:test";
import { GafkaError } from "../core/errors.ts";
import { checkClientBatches } from "./batch-check.ts";
import { crc32c } from "../protocol/crc32c.ts";
import type { RecordInput } from "../protocol/record.ts";
import { encodeRecordBatch } from "../protocol/record-batch.ts";
import { concatBytes as concat } from "../../test/helpers/bytes.ts";

// kafkajs's record batch encoder: an independent implementation of Kafka's format.
const { RecordBatch: kafkajsRecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
const kafkajsRecord = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");

const utf8 = (text: string) => new TextEncoder().encode(text);
const T0 = 1_764_000_000_000;
const LIMITS = { messageBytesMax: 1024, recordsMax: 1000 };

function records(count: number, valueBytes = 10): RecordInput[] {
  return Array.from({ length: count }, (_, index) => ({
    key: index % 2 === 0 ? utf8(`key-${index}`) : null,
    value: new Uint8Array(valueBytes).fill(97 + (index % 26)),
    headers: index % 3 === 0 ? [{ key: "trace", value: utf8(`t${index}`) }] : [],
    timestampMs: T0 + ((index * 7) % 5),
  }));
}

function batch(count: number, valueBytes = 10): Uint8Array {
  return encodeRecordBatch({ baseOffset: 0, records: records(count, valueBytes) });
}


/** Applies `change` to a copy of the batch and makes its CRC-32C right again, so only the change is wrong. */
function altered(bytes: Uint8Array, change: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  change(new DataView(copy.buffer), copy);
  new DataView(copy.buffer).setUint32(17, crc32c(copy, 21, copy.length));
  return copy;
}

function refusal(body: Uint8Array, limits = LIMITS): GafkaError {
  try {
    checkClientBatches(body, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaError);
    return error as GafkaError;
  }
  throw new Error("the batches were accepted");
}

describe("checkClientBatches", () => {
  test("splits good batches and counts their records and payload bytes", () => {
    const first = batch(5);
    const second = batch(3, 100);
    const checked = checkClientBatches(concat(first, second), LIMITS);
    expect(checked.map((each) => each.recordCount)).toEqual([5, 3]);
    expect(checked[0]!.bytes).toEqual(first);
    expect(checked[1]!.bytes).toEqual(second);
    expect(checked[0]!.baseTimestampMs).toBe(T0);
    const payload = (list: RecordInput[]) => list.reduce((sum, r) => sum + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0);
    expect(checked[0]!.payloadBytes).toBe(payload(records(5)));
    expect(checked[1]!.payloadBytes).toBe(payload(records(3, 100)));
  });

  test("takes a batch kafkajs's encoder wrote (producer id -1)", async () => {
    const inputs = records(4);
    const encoded = await kafkajsRecordBatch({
      firstOffset: 0,
      firstTimestamp: T0,
      maxTimestamp: Math.max(...inputs.map((input) => input.timestampMs)),
      producerId: -1,
      producerEpoch: -1,
      firstSequence: -1,
      lastOffsetDelta: inputs.length - 1,
      records: inputs.map((input, offsetDelta) =>
        kafkajsRecord({
          offsetDelta,
          timestampDelta: input.timestampMs - T0,
          key: input.key === null ? null : Buffer.from(input.key),
          value: Buffer.from(input.value!),
          headers: Object.fromEntries(input.headers.map((header) => [header.key, Buffer.from(header.value!)])),
        }),
      ),
    });
    const checked = checkClientBatches(new Uint8Array(encoded.buffer), LIMITS);
    expect(checked).toHaveLength(1);
    expect(checked[0]!.recordCount).toBe(4);
  });

  const faults: [string, () => Uint8Array, RegExp][] = [
    ["an empty body", () => new Uint8Array(0), /no record batch/],
    ["a body shorter than a header", () => batch(1).subarray(0, 40), /shorter than a batch header/],
    ["a batch cut short", () => batch(3).subarray(0, batch(3).length - 1), /batchLength/],
    ["a flipped bit", () => {
      const bytes = batch(3);
      bytes[bytes.length - 2]! ^= 1;
      return bytes;
    }, /CRC-32C/],
    ["magic 1", () => altered(batch(1), (view) => view.setInt8(16, 1)), /magic 1/],
    ["a compressed batch", () => altered(batch(1), (view) => view.setInt16(21, 1)), /attributes 1/],
    ["a transactional batch", () => altered(batch(1), (view) => view.setInt16(21, 16)), /attributes 16/],
    ["a producer id", () => altered(batch(1), (view) => view.setBigInt64(43, 5n)), /producer id 5/],
    ["a wrong lastOffsetDelta", () => altered(batch(3), (view) => view.setInt32(23, 1)), /lastOffsetDelta 1 for 3 records/],
    ["a record count of 0", () => altered(batch(1), (view) => view.setInt32(57, 0)), /claims 0 records/],
    ["more records claimed than there are", () => altered(batch(2), (view) => {
      view.setInt32(57, 3);
      view.setInt32(23, 2);
    }), /record 2|malformed/],
    ["a wrong maxTimestamp", () => altered(batch(3), (view) => view.setBigInt64(35, BigInt(T0 + 999))), /maxTimestamp/],
    ["a negative timestamp", () => altered(batch(1), (view) => {
      view.setBigInt64(27, -5n);
      view.setBigInt64(35, -5n);
    }), /timestamp outside/],
    ["a wrong offset delta", () => {
      const bytes = encodeRecordBatch({ baseOffset: 0, records: records(1) });
      // Record 0 starts at 61: length varint, attributes, timestampDelta (0 → one byte), offsetDelta.
      return altered(bytes, (_view, raw) => (raw[64] = 2));
    }, /offset delta 1/],
    ["record attributes", () => altered(batch(1), (_view, raw) => (raw[62] = 1)), /attributes 1 \(must be 0\)/],
    ["trailing garbage after a good batch", () => concat(batch(1), new Uint8Array(10)), /batch 1 .*shorter than a batch header/],
  ];
  for (const [name, body, message] of faults) {
    test(`refuses ${name} with 400 naming the batch`, () => {
      const error = refusal(body());
      expect(error.code).toBe("invalid_request");
      expect(error.message).toMatch(message);
    });
  }

  test("a producer without idempotence (producer id -1) may carry any epoch and sequence, as Kafka clients send 0 for both", () => {
    const body = altered(batch(2), (view) => {
      view.setInt16(51, 0);
      view.setInt32(53, 0);
    });
    expect(checkClientBatches(body, LIMITS)).toHaveLength(1);
  });

  test("says what kind of fault refused the batch (details.fault)", () => {
    const kinds: [string, Uint8Array][] = [
      ["corrupt", (() => {
        const bytes = batch(3);
        bytes[bytes.length - 2]! ^= 1;
        return bytes;
      })()],
      ["corrupt", batch(3).subarray(0, batch(3).length - 1)],
      ["compression", altered(batch(1), (view) => view.setInt16(21, 2))],
      ["unsupported", altered(batch(1), (view) => view.setInt16(21, 16))],
      ["unsupported", altered(batch(1), (view) => view.setBigInt64(43, 5n))],
      ["invalid_record", altered(batch(1), (_view, raw) => (raw[62] = 1))],
      ["invalid_record", altered(batch(3), (view) => view.setBigInt64(35, BigInt(T0 + 999)))],
      ["invalid_timestamp", altered(batch(1), (view) => {
        view.setBigInt64(27, -5n);
        view.setBigInt64(35, -5n);
      })],
    ];
    for (const [kind, body] of kinds) expect(refusal(body).details).toMatchObject({ fault: kind });
  });

  test("header keys and counts follow the JSON form's limits", () => {
    const withHeaders = (headers: { key: string; value: Uint8Array | null }[]) =>
      encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: utf8("v"), headers, timestampMs: T0 }] });
    expect(refusal(withHeaders([{ key: "", value: null }])).message).toMatch(/header 0 has a key of 0 bytes/);
    expect(refusal(withHeaders([{ key: "k".repeat(256), value: null }])).message).toMatch(/header keys are 1 to 255 characters/);
    // 255 characters of two bytes each: 510 bytes, still within the limit.
    expect(checkClientBatches(withHeaders([{ key: "é".repeat(255), value: null }]), LIMITS)).toHaveLength(1);
    const many = Array.from({ length: 65 }, (_, index) => ({ key: `h${index}`, value: null }));
    expect(refusal(withHeaders(many)).message).toMatch(/65 headers; a record may carry at most 64/);
    expect(checkClientBatches(withHeaders(many.slice(0, 64)), LIMITS)).toHaveLength(1);
  });

  test("names the second batch when only it is bad", () => {
    const bad = altered(batch(2), (view) => view.setInt8(16, 0));
    const error = refusal(concat(batch(2), bad));
    expect(error.message).toMatch(/^record batch 1 /);
    expect(error.details).toMatchObject({ batch: 1 });
  });

  test("a record over the message limit is 413 naming it", () => {
    const error = refusal(concat(batch(1), encodeRecordBatch({ baseOffset: 0, records: records(2, 1020) })));
    expect(error.code).toBe("message_too_large");
    expect(error.details).toMatchObject({ batch: 1, record: 0, max_bytes: 1024 });
  });

  test("more records than a request may carry is refused", () => {
    const error = refusal(concat(batch(3), batch(3)), { messageBytesMax: 1024, recordsMax: 5 });
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(/at most 5 records/);
  });
});

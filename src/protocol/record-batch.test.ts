import { describe, expect, test } from "bun:test";
import { GafkaError } from "../core/errors.ts";
import { crc32c } from "./crc32c.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_OVERHEAD_BYTES,
  batchCrcMatches,
  decodeRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
} from "./record-batch.ts";
import type { RecordHeader, RecordInput, StoredRecord } from "./record.ts";

// kafkajs's record batch codec: an independent implementation of Kafka's format.
const KafkajsDecoder = require("kafkajs/src/protocol/decoder.js");
const KafkajsEncoder = require("kafkajs/src/protocol/encoder.js");
const kafkajsDecodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js");
const kafkajsDecodeMessages = require("kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js");
const { RecordBatch: kafkajsRecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
const kafkajsRecord = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");

const utf8 = (text: string) => new TextEncoder().encode(text);
const T0 = 1_700_000_000_000;

function record(fields: Partial<RecordInput> = {}): RecordInput {
  return { key: utf8("key"), value: utf8("value"), headers: [], timestampMs: T0, ...fields };
}

function manyRecords(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, index) =>
    record({
      key: index % 7 === 0 ? null : utf8(`key-${index}`),
      value: index % 11 === 0 ? null : utf8(`value-${index}-${"x".repeat(index % 300)}`),
      headers: index % 3 === 0 ? [] : [{ key: `h${index % 5}`, value: index % 4 === 0 ? null : utf8(`${index}`) }],
      timestampMs: T0 + ((index * 37) % 1000) - 500,
    }),
  );
}

function expectSameRecords(decoded: StoredRecord[], inputs: RecordInput[], baseOffset: number): void {
  expect(decoded.length).toBe(inputs.length);
  decoded.forEach((got, index) => {
    const want = inputs[index];
    expect(got.offset).toBe(baseOffset + index);
    expect(got.timestampMs).toBe(want.timestampMs);
    expect(got.key).toEqual(want.key);
    expect(got.value).toEqual(want.value);
    expect(got.headers).toEqual(want.headers);
  });
}

function roundTrip(records: RecordInput[], baseOffset = 0): StoredRecord[] {
  const bytes = encodeRecordBatch({ baseOffset, records });
  expect(batchCrcMatches(bytes)).toBe(true);
  const { header, records: decoded } = decodeRecordBatch(bytes);
  expect(header.baseOffset).toBe(baseOffset);
  expect(header.recordCount).toBe(records.length);
  expectSameRecords(decoded, records, baseOffset);
  return decoded;
}

/** Rewrites the CRC after a test has edited the covered bytes on purpose. */
function resealCrc(bytes: Uint8Array): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(17, crc32c(bytes, 21));
}

function expectCorrupt(bytes: Uint8Array, message: string | RegExp): void {
  let thrown: unknown;
  try {
    decodeRecordBatch(bytes);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(GafkaError);
  expect((thrown as GafkaError).code).toBe("log_corrupt");
  expect((thrown as GafkaError).message).toMatch(message);
}

describe("layout", () => {
  test("a one-record batch has Kafka's exact bytes", () => {
    const bytes = encodeRecordBatch({
      baseOffset: 5,
      partitionLeaderEpoch: 3,
      records: [record({ key: null, value: utf8("a"), timestampMs: T0 })],
    });
    // Record: length 7, attributes 0, timestampDelta 0, offsetDelta 0, key -1, value length 1, "a", no headers.
    const recordBytes = [0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 0x61, 0x00];
    expect(bytes.length).toBe(BATCH_HEADER_BYTES + recordBytes.length);
    expect([...bytes.subarray(BATCH_HEADER_BYTES)]).toEqual(recordBytes);
    const view = new DataView(bytes.buffer);
    expect(view.getBigInt64(0)).toBe(5n);
    expect(view.getInt32(8)).toBe(bytes.length - BATCH_OVERHEAD_BYTES);
    expect(view.getInt32(12)).toBe(3);
    expect(view.getInt8(16)).toBe(2);
    expect(view.getUint32(17)).toBe(crc32c(bytes, 21));
    expect(view.getInt16(21)).toBe(0);
    expect(view.getInt32(23)).toBe(0);
    expect(view.getBigInt64(27)).toBe(BigInt(T0));
    expect(view.getBigInt64(35)).toBe(BigInt(T0));
    expect(view.getBigInt64(43)).toBe(-1n);
    expect(view.getInt16(51)).toBe(-1);
    expect(view.getInt32(53)).toBe(-1);
    expect(view.getInt32(57)).toBe(1);
  });

  test("readBatchHeader reads every field, at any position", () => {
    const records = [record({ timestampMs: T0 + 10 }), record({ timestampMs: T0 + 50 }), record({ timestampMs: T0 })];
    const batch = encodeRecordBatch({ baseOffset: 2 ** 40 + 7, records });
    const withPrefix = new Uint8Array(batch.length + 9);
    withPrefix.set(batch, 9);
    for (const [bytes, position] of [[batch, 0], [withPrefix, 9]] as const) {
      expect(readBatchHeader(bytes, position)).toEqual({
        baseOffset: 2 ** 40 + 7,
        batchLength: batch.length - BATCH_OVERHEAD_BYTES,
        partitionLeaderEpoch: -1,
        magic: 2,
        crc: crc32c(batch, 21),
        attributes: 0,
        lastOffsetDelta: 2,
        baseTimestampMs: T0 + 10,
        maxTimestampMs: T0 + 50,
        producerId: -1n,
        producerEpoch: -1,
        baseSequence: -1,
        recordCount: 3,
      });
    }
  });

  test("readBatchHeader refuses fewer than BATCH_HEADER_BYTES", () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [record()] });
    expect(() => readBatchHeader(batch.subarray(0, BATCH_HEADER_BYTES - 1))).toThrow("invariant");
    expect(() => readBatchHeader(batch, batch.length - BATCH_HEADER_BYTES + 1)).toThrow("invariant");
  });

  test("readBatchHeader reads any producerId exactly", () => {
    const bytes = encodeRecordBatch({ baseOffset: 0, records: [record()] });
    const view = new DataView(bytes.buffer);
    for (const producerId of [0n, 1n, -2n, 2n ** 63n - 1n, -(2n ** 63n), 1234567890123456789n]) {
      view.setBigInt64(43, producerId);
      expect(readBatchHeader(bytes).producerId).toBe(producerId);
    }
  });

  test("offsets, epochs and timestamps out of range are bugs", () => {
    expect(() => encodeRecordBatch({ baseOffset: -1, records: [record()] })).toThrow("invariant");
    expect(() => encodeRecordBatch({ baseOffset: 2 ** 53, records: [record()] })).toThrow("invariant");
    expect(() => encodeRecordBatch({ baseOffset: 0, partitionLeaderEpoch: 2 ** 31, records: [record()] })).toThrow(
      "invariant",
    );
    expect(() => encodeRecordBatch({ baseOffset: 0, records: [record({ timestampMs: 1.5 })] })).toThrow("invariant");
    const farApart = [record({ timestampMs: -(2 ** 52) }), record({ timestampMs: 2 ** 52 })];
    expect(() => encodeRecordBatch({ baseOffset: 0, records: farApart })).toThrow("invariant");
    const bytes = encodeRecordBatch({ baseOffset: 0, records: [record()] });
    expect(() => setBaseOffset(bytes, -5)).toThrow("invariant");
    expect(() => setPartitionLeaderEpoch(bytes, 0.5)).toThrow("invariant");
  });

  test("zero records is a bug, not an expected failure", () => {
    let thrown: unknown;
    try {
      encodeRecordBatch({ baseOffset: 0, records: [] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(GafkaError);
  });
});

describe("round trips", () => {
  test("null, empty and present keys and values", () => {
    roundTrip([
      record({ key: null }),
      record({ key: new Uint8Array(0) }),
      record({ value: null }),
      record({ value: new Uint8Array(0) }),
      record({ key: null, value: null }),
      record({ key: Uint8Array.from([0, 255, 128, 1]), value: Uint8Array.from([255]) }),
    ]);
  });

  test("headers, including null values, empty keys and repeated keys", () => {
    const headers: RecordHeader[] = [
      { key: "trace-id", value: utf8("abc123") },
      { key: "nothing", value: null },
      { key: "", value: new Uint8Array(0) },
      { key: "dup", value: utf8("1") },
      { key: "dup", value: utf8("2") },
    ];
    roundTrip([record({ headers }), record({ headers: [] }), record({ headers: headers.slice(1, 2) })]);
  });

  test("unicode in header keys and values", () => {
    const key = "ключ-キー-🔑-ü";
    roundTrip([record({ key: utf8("🔑"), value: utf8("값 ✓ 💾"), headers: [{ key, value: utf8(key) }] })]);
  });

  test("header keys are written as TextEncoder writes them, lone surrogates included", () => {
    const keys = ["\ud83d", "a\udc00b", "😀\ud800", "\u07ff\u0800\uffff", "\u007f\u0080"];
    const bytes = encodeRecordBatch({ baseOffset: 0, records: [record({ headers: keys.map((key) => ({ key, value: null })) })] });
    const expectedKeys = keys.map((key) => new TextDecoder().decode(utf8(key)));
    expect(decodeRecordBatch(bytes).records[0].headers.map((header) => header.key)).toEqual(expectedKeys);
  });

  test("string keys and values are written as their TextEncoder bytes, lone surrogates included", () => {
    const texts = ["", "plain ascii", "ünïcödé €", "emoji 😀 pair", "lone \ud800 high", "lone \udc00 low", `${"x".repeat(5000)}é`];
    const asStrings = texts.map((text, index) => ({ key: index % 2 === 0 ? text : null, value: text, headers: [], timestampMs: T0 + index }));
    const asBytes = asStrings.map((record) => ({
      ...record,
      key: record.key === null ? null : utf8(record.key),
      value: utf8(record.value),
    }));
    const fromStrings = encodeRecordBatch({ baseOffset: 5, records: asStrings });
    expect(fromStrings).toEqual(encodeRecordBatch({ baseOffset: 5, records: asBytes }));
    expectSameRecords(decodeRecordBatch(fromStrings).records, asBytes, 5);
  });

  test("a 1 MiB value", () => {
    const value = new Uint8Array(1 << 20);
    for (let start = 0; start < value.length; start += 65_536) crypto.getRandomValues(value.subarray(start, start + 65_536));
    roundTrip([record({ value }), record({ value: utf8("small") })], 1000);
  });

  test("many records, timestamps out of order", () => {
    const records = manyRecords(10_000);
    roundTrip(records, 123_456_789);
    const { header } = decodeRecordBatch(encodeRecordBatch({ baseOffset: 0, records }));
    expect(header.baseTimestampMs).toBe(records[0].timestampMs);
    expect(header.maxTimestampMs).toBe(Math.max(...records.map((input) => input.timestampMs)));
    expect(header.lastOffsetDelta).toBe(9999);
  });

  test("large offsets and timestamp deltas beyond 32 bits", () => {
    roundTrip(
      [record({ timestampMs: T0 }), record({ timestampMs: 0 }), record({ timestampMs: T0 + 2 ** 40 }), record({ timestampMs: -5 })],
      Number.MAX_SAFE_INTEGER - 10,
    );
  });

  test("decoded keys and values are views of the input, not copies", () => {
    const bytes = encodeRecordBatch({ baseOffset: 0, records: [record()] });
    const [decoded] = decodeRecordBatch(bytes).records;
    expect(decoded.key?.buffer).toBe(bytes.buffer);
    expect(decoded.value?.buffer).toBe(bytes.buffer);
  });

  test("a batch inside a larger buffer decodes through a subarray", () => {
    const records = manyRecords(20);
    const batch = encodeRecordBatch({ baseOffset: 40, records });
    const buffer = new Uint8Array(batch.length + 100);
    buffer.set(batch, 50);
    expectSameRecords(decodeRecordBatch(buffer.subarray(50, 50 + batch.length)).records, records, 40);
  });
});

describe("patching fields outside the CRC", () => {
  test("setBaseOffset and setPartitionLeaderEpoch keep the CRC valid", () => {
    const records = manyRecords(5);
    const bytes = encodeRecordBatch({ baseOffset: 0, partitionLeaderEpoch: 1, records });
    setBaseOffset(bytes, 2 ** 45 + 3);
    setPartitionLeaderEpoch(bytes, 17);
    expect(batchCrcMatches(bytes)).toBe(true);
    const { header, records: decoded } = decodeRecordBatch(bytes);
    expect(header.baseOffset).toBe(2 ** 45 + 3);
    expect(header.partitionLeaderEpoch).toBe(17);
    expectSameRecords(decoded, records, 2 ** 45 + 3);
  });

  test("they patch a subarray view in place", () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: [record()] });
    const buffer = new Uint8Array(batch.length + 8);
    buffer.set(batch, 8);
    const view = buffer.subarray(8);
    setBaseOffset(view, 99);
    setPartitionLeaderEpoch(view, -1);
    expect([...buffer.subarray(0, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(readBatchHeader(buffer, 8).baseOffset).toBe(99);
    expect(readBatchHeader(buffer, 8).partitionLeaderEpoch).toBe(-1);
  });
});

describe("damage", () => {
  const records = [
    record({ headers: [{ key: "a", value: utf8("b") }, { key: "n", value: null }] }),
    record({ key: null, value: utf8("second"), timestampMs: T0 + 1 }),
  ];
  const good = encodeRecordBatch({ baseOffset: 10, records });

  test("flipping any single byte the CRC covers makes decoding throw", () => {
    for (let position = 21; position < good.length; position++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bytes = good.slice();
        bytes[position] ^= mask;
        expect(batchCrcMatches(bytes)).toBe(false);
        expect(() => decodeRecordBatch(bytes)).toThrow(/CRC-32C/);
      }
    }
  });

  test("when the caller verified the frame checksum, the CRC-32C is not computed again", () => {
    const bytes = good.slice();
    bytes[17] ^= 0x01; // the stored CRC-32C only: the records are intact
    expect(() => decodeRecordBatch(bytes)).toThrow(/CRC-32C/);
    expect(decodeRecordBatch(bytes, { frameChecksumVerified: true }).records).toEqual(decodeRecordBatch(good).records);
  });

  test("flipping the magic, the CRC or the length throws too", () => {
    for (const position of [8, 11, 16, 17, 20]) {
      const bytes = good.slice();
      bytes[position] ^= 0x01;
      expect(() => decodeRecordBatch(bytes)).toThrow(GafkaError);
    }
  });

  test("baseOffset and partitionLeaderEpoch are outside the CRC, as in Kafka", () => {
    const bytes = good.slice();
    bytes[7] ^= 0x01;
    bytes[15] ^= 0x01;
    expect(batchCrcMatches(bytes)).toBe(true);
    expect(decodeRecordBatch(bytes).header.baseOffset).toBe(11);
  });

  test("truncated, padded and short inputs are refused", () => {
    expectCorrupt(good.subarray(0, good.length - 1), "claims");
    const padded = new Uint8Array(good.length + 1);
    padded.set(good);
    expectCorrupt(padded, "claims");
    expectCorrupt(good.subarray(0, 30), "shorter than");
    expect(batchCrcMatches(good.subarray(0, good.length - 1))).toBe(false);
    expect(batchCrcMatches(padded)).toBe(false);
    expect(batchCrcMatches(good.subarray(0, 30))).toBe(false);
  });

  test("a wrong magic byte is named", () => {
    const bytes = good.slice();
    bytes[16] = 1;
    expectCorrupt(bytes, "magic 1");
  });

  test("compressed batches are refused even with a valid CRC", () => {
    const bytes = good.slice();
    bytes[22] = 1; // gzip
    resealCrc(bytes);
    expectCorrupt(bytes, "compressed");
  });

  test("records that disagree with their framing are refused even with a valid CRC", () => {
    const longer = good.slice();
    longer[BATCH_HEADER_BYTES] += 2; // first record's length varint: one more byte
    resealCrc(longer);
    expectCorrupt(longer, "malformed records");

    const moreRecords = good.slice();
    moreRecords[60] = 3;
    resealCrc(moreRecords);
    expectCorrupt(moreRecords, "malformed records");

    const fewerRecords = good.slice();
    fewerRecords[60] = 1;
    resealCrc(fewerRecords);
    expectCorrupt(fewerRecords, "follow the last record");

    const hugeCount = good.slice();
    new DataView(hugeCount.buffer).setInt32(57, 2 ** 30);
    resealCrc(hugeCount);
    expectCorrupt(hugeCount, "claims 1073741824 records");
  });
});

describe("against kafkajs", () => {
  interface KafkajsRecord {
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | null | (Buffer | null)[]>;
  }

  /** Our headers in the shape kafkajs decodes them to: repeated keys become arrays. */
  function kafkajsHeaders(headers: RecordHeader[]): Record<string, Buffer | null | (Buffer | null)[]> {
    const result: Record<string, Buffer | null | (Buffer | null)[]> = {};
    for (const { key, value } of headers) {
      const buffer = value === null ? null : Buffer.from(value);
      const existing = result[key];
      if (existing === undefined) result[key] = buffer;
      else result[key] = Array.isArray(existing) ? [...existing, buffer] : [existing, buffer];
    }
    return result;
  }

  function expectKafkajsSees(decoded: KafkajsRecord[], inputs: RecordInput[], baseOffset: number): void {
    expect(decoded.length).toBe(inputs.length);
    decoded.forEach((got, index) => {
      const want = inputs[index];
      expect(got.offset).toBe(String(baseOffset + index));
      expect(got.timestamp).toBe(String(want.timestampMs));
      expect(got.key).toEqual(want.key === null ? null : Buffer.from(want.key));
      expect(got.value).toEqual(want.value === null ? null : Buffer.from(want.value));
      expect(got.headers).toEqual(kafkajsHeaders(want.headers));
    });
  }

  const samples: RecordInput[][] = [
    [record()],
    [record({ key: null, value: null })],
    [record({ headers: [{ key: "k", value: null }, { key: "ü🔑", value: utf8("v") }, { key: "k", value: utf8("2") }] })],
    manyRecords(500),
    [record({ value: new Uint8Array(1 << 20).fill(7) })],
    [record({ timestampMs: T0 }), record({ timestampMs: T0 - 2 ** 33 }), record({ timestampMs: T0 + 2 ** 35 })],
  ];

  test("kafkajs's record batch decoder reads our batches", async () => {
    for (const [index, records] of samples.entries()) {
      const baseOffset = index * 1_000_003 + 2 ** 33;
      const bytes = encodeRecordBatch({ baseOffset, partitionLeaderEpoch: 4, records });
      const batch = await kafkajsDecodeBatch(new KafkajsDecoder(Buffer.from(bytes)));
      expect(batch.firstOffset).toBe(String(baseOffset));
      expect(batch.partitionLeaderEpoch).toBe(4);
      expect(batch.lastOffsetDelta).toBe(records.length - 1);
      expect(batch.producerId).toBe("-1");
      expect(batch.maxTimestamp).toBe(String(Math.max(...records.map((input) => input.timestampMs))));
      expectKafkajsSees(batch.records, records, baseOffset);
    }
  });

  test("kafkajs's fetch v4 message decoding reads consecutive batches of ours", async () => {
    const first = manyRecords(30);
    const second = [record({ key: utf8("last") })];
    const batches = [encodeRecordBatch({ baseOffset: 0, records: first }), encodeRecordBatch({ baseOffset: 30, records: second })];
    const messageSet = new KafkajsEncoder().writeInt32(batches[0].length + batches[1].length);
    for (const batch of batches) messageSet.writeBuffer(Buffer.from(batch));
    const decoded = await kafkajsDecodeMessages(new KafkajsDecoder(messageSet.buffer));
    expectKafkajsSees(decoded, [...first, ...second], 0);
  });

  test("we read batches kafkajs's encoder writes", async () => {
    for (const [index, records] of samples.entries()) {
      // kafkajs cannot encode a null header value (it takes its byte length), so those are left out.
      const inputs = records.map((input) => ({ ...input, headers: input.headers.filter((header) => header.value !== null) }));
      const firstTimestamp = inputs[0].timestampMs;
      const baseOffset = index * 7919 + 2 ** 36;
      const encoded = await kafkajsRecordBatch({
        firstOffset: baseOffset,
        firstTimestamp,
        maxTimestamp: Math.max(...inputs.map((input) => input.timestampMs)),
        partitionLeaderEpoch: 9,
        lastOffsetDelta: inputs.length - 1,
        records: inputs.map((input, offsetDelta) =>
          kafkajsRecord({
            offsetDelta,
            timestampDelta: input.timestampMs - firstTimestamp,
            key: input.key === null ? null : Buffer.from(input.key),
            value: input.value === null ? null : Buffer.from(input.value),
            headers: kafkajsHeaders(input.headers),
          }),
        ),
      });
      const bytes = new Uint8Array(encoded.buffer);
      expect(batchCrcMatches(bytes)).toBe(true);
      const { header, records: decoded } = decodeRecordBatch(bytes);
      expect(header.partitionLeaderEpoch).toBe(9);
      expect(header.producerEpoch).toBe(0);
      // kafkajs groups headers by key, so compare in that grouping.
      expectSameRecords(
        decoded.map((got) => ({ ...got, headers: [] })),
        inputs.map((input) => ({ ...input, headers: [] })),
        baseOffset,
      );
      decoded.forEach((got, recordIndex) => {
        expect(kafkajsHeaders(got.headers)).toEqual(kafkajsHeaders(inputs[recordIndex].headers));
      });
    }
  });
});

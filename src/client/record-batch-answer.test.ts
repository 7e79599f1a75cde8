import { describe, expect, test } from "bun:test";
import type { RecordInput } from "../protocol/record.ts";
import { GafkaClientError } from "./client-error.ts";
import { decodeBatchAnswer } from "./record-batch-answer.ts";
import { batchAnswerBytes, storedBatch, utf8 } from "./record-batch-answer.fixture.ts";
import type { WireConsumeAnswer } from "./wire.ts";

// kafkajs's record batch encoder: bytes from an independent implementation of Kafka's format.
const { RecordBatch: kafkajsRecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
const kafkajsRecord = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");

const T0 = 1_764_000_000_000;

const input = (value: string | null, overrides: Partial<RecordInput> = {}): RecordInput => ({
  key: null,
  value: value === null ? null : utf8(value),
  headers: [],
  timestampMs: T0,
  ...overrides,
});

const values = (count: number, from: number) => Array.from({ length: count }, (_, index) => input(`v${from + index}`, { timestampMs: T0 + index }));

const partitionHeader = { topic: "t", partition: 0, next_offset: 17, high_watermark: 20 };

function caught(run: () => unknown): GafkaClientError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaClientError);
    return error as GafkaClientError;
  }
  throw new Error("expected a throw");
}

describe("decodeBatchAnswer", () => {
  test("delivers exactly the records in [offset, next_offset), across batches", () => {
    const first = storedBatch(10, values(5, 10)); // 10..14
    const second = storedBatch(15, values(5, 15)); // 15..19
    const body = batchAnswerBytes(partitionHeader, [{ topic: "t", partition: 0, offset: 12, nextOffset: 17, batches: [first.bytes, second.bytes] }]);
    const { header, records } = decodeBatchAnswer<WireConsumeAnswer, "utf8">(body, "utf8");
    expect(header).toMatchObject(partitionHeader);
    expect(records.map((record) => record.offset)).toEqual([12, 13, 14, 15, 16]);
    expect(records[0]).toEqual({ topic: "t", partition: 0, offset: 12, timestamp: T0 + 2, key: null, value: "v12", headers: [] });
  });

  test("keys, values and headers become what the JSON path hands out: UTF-8 text, or bytes", () => {
    const headers = [
      { key: "trace", value: utf8("abc") },
      { key: "trace", value: null },
      { key: "ключ", value: utf8("значение 🎉") },
    ];
    const record = input("héllo", { key: utf8("k€y"), headers });
    const tombstone = input(null, { key: utf8("gone") });
    const { bytes } = storedBatch(0, [record, tombstone]);
    const body = batchAnswerBytes(partitionHeader, [{ topic: "t", partition: 0, offset: 0, nextOffset: 2, batches: [bytes] }]);

    const text = decodeBatchAnswer<WireConsumeAnswer, "utf8">(body, "utf8").records;
    expect(text[0]).toEqual({
      topic: "t",
      partition: 0,
      offset: 0,
      timestamp: T0,
      key: "k€y",
      value: "héllo",
      headers: [
        { key: "trace", value: "abc" },
        { key: "trace", value: null },
        { key: "ключ", value: "значение 🎉" },
      ],
    });
    expect(text[1]).toMatchObject({ key: "gone", value: null });

    const binary = decodeBatchAnswer<WireConsumeAnswer, "binary">(body, "binary").records;
    expect(binary[0]!.value).toEqual(utf8("héllo"));
    expect(binary[0]!.headers).toEqual(headers);
    // Copies, not views of the whole answer.
    expect(binary[0]!.value!.buffer.byteLength).toBe(utf8("héllo").length);
  });

  test("chunks of several partitions come out in their order, each with its own bounds", () => {
    const a = storedBatch(0, values(3, 0));
    const b = storedBatch(40, values(4, 40));
    const body = batchAnswerBytes({ group_id: "g", generation: 2 }, [
      { topic: "a", partition: 1, offset: 1, nextOffset: 3, batches: [a.bytes] },
      { topic: "b", partition: 0, offset: 40, nextOffset: 42, batches: [b.bytes] },
    ]);
    const { header, records } = decodeBatchAnswer<{ group_id: string; generation: number; records: unknown[] }, "utf8">(body, "utf8");
    expect(header.generation).toBe(2);
    expect(records.map((record) => `${record.topic}/${record.partition}@${record.offset}=${record.value}`)).toEqual([
      "a/1@1=v1",
      "a/1@2=v2",
      "b/0@40=v40",
      "b/0@41=v41",
    ]);
  });

  test("no chunks, no records", () => {
    const body = batchAnswerBytes({ ...partitionHeader, next_offset: 20 }, []);
    expect(decodeBatchAnswer(body, "utf8").records).toEqual([]);
  });

  test("reads batches kafkajs's encoder writes", async () => {
    const firstTimestamp = T0;
    const encoded = await kafkajsRecordBatch({
      firstOffset: 100,
      firstTimestamp,
      maxTimestamp: T0 + 5,
      partitionLeaderEpoch: 2,
      lastOffsetDelta: 2,
      records: [0, 1, 2].map((offsetDelta) =>
        kafkajsRecord({
          offsetDelta,
          timestampDelta: offsetDelta * 2,
          key: offsetDelta === 1 ? null : Buffer.from(`k${offsetDelta}`),
          value: Buffer.from(`kafkajs ${offsetDelta}`),
          headers: offsetDelta === 2 ? { h: Buffer.from("x") } : {},
        }),
      ),
    });
    const body = batchAnswerBytes(partitionHeader, [{ topic: "t", partition: 0, offset: 100, nextOffset: 103, batches: [new Uint8Array(encoded.buffer)] }]);
    const { records } = decodeBatchAnswer(body, "utf8");
    expect(records).toEqual([
      { topic: "t", partition: 0, offset: 100, timestamp: T0, key: "k0", value: "kafkajs 0", headers: [] },
      { topic: "t", partition: 0, offset: 101, timestamp: T0 + 2, key: null, value: "kafkajs 1", headers: [] },
      { topic: "t", partition: 0, offset: 102, timestamp: T0 + 4, key: "k2", value: "kafkajs 2", headers: [{ key: "h", value: "x" }] },
    ]);
  });

  test("a batch failing its CRC-32C is an invalid_response", () => {
    const { bytes } = storedBatch(0, values(3, 0));
    bytes[bytes.length - 1] ^= 0x01;
    const body = batchAnswerBytes(partitionHeader, [{ topic: "t", partition: 0, offset: 0, nextOffset: 3, batches: [bytes] }]);
    const error = caught(() => decodeBatchAnswer(body, "utf8"));
    expect(error.code).toBe("invalid_response");
    expect(error.message).toContain("CRC-32C");
  });

  test("bytes that do not add up are an invalid_response", () => {
    const { bytes } = storedBatch(0, values(3, 0));
    const good = batchAnswerBytes(partitionHeader, [{ topic: "t", partition: 0, offset: 0, nextOffset: 3, batches: [bytes] }]);
    // Cut short: the chunk claims more than is there.
    expect(caught(() => decodeBatchAnswer(good.subarray(0, good.length - 1), "utf8")).message).toContain("claims");
    // Trailing bytes after the last chunk.
    const longer = new Uint8Array(good.length + 3);
    longer.set(good);
    expect(caught(() => decodeBatchAnswer(longer, "utf8")).message).toContain("follow the last chunk");
    // A chunk that ends inside a batch.
    const split = batchAnswerBytes(partitionHeader, [
      { topic: "t", partition: 0, offset: 0, nextOffset: 3, batches: [bytes.subarray(0, 20)] },
      { topic: "t", partition: 1, offset: 0, nextOffset: 3, batches: [bytes.subarray(20)] },
    ]);
    expect(caught(() => decodeBatchAnswer(split, "utf8")).code).toBe("invalid_response");
    // A header length past the end, a header that is not JSON, a header without chunks.
    expect(caught(() => decodeBatchAnswer(new Uint8Array([0, 0, 1, 0, 123]), "utf8")).code).toBe("invalid_response");
    expect(caught(() => decodeBatchAnswer(new Uint8Array([0, 0, 0, 1, 123]), "utf8")).message).toContain("not JSON");
    expect(caught(() => decodeBatchAnswer(new Uint8Array([0, 0, 0, 2, 123, 125]), "utf8")).message).toContain("chunks");
  });
});

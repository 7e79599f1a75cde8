import { afterEach, describe, expect, test } from "bun:test";
import { type RunningBroker, runBroker } from "../../run-broker.ts";
import { encodeRecordBatch, readBatchHeader } from "../../protocol/record-batch.ts";
import type { RecordInput } from "../../protocol/record.ts";
import { FRAME_HEADER_BYTES } from "../../storage/frame.ts";
import { testRunConfig } from "../../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../../test/helpers/temp-dir.ts";
import { RECORD_BATCH_MEDIA_TYPE } from "../request.ts";
import { concatBytes as concat } from "../../../test/helpers/bytes.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
const T0 = 1_764_000_000_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<RunningBroker> {
  const temp = makeTempDir("gafka-batches-");
  const running = await runBroker(testRunConfig(temp.dir, { messageBytesMax: 2048 }));
  cleanups.push(() => temp.remove(), () => running.stop());
  await running.broker.createTopic("t", 2);
  return running;
}

function inputs(prefix: string, count: number): RecordInput[] {
  return Array.from({ length: count }, (_, index) => ({
    key: index === 0 ? null : utf8(`${prefix}-k${index}`),
    value: utf8(`${prefix}-value-${index} ü`),
    headers: index === 1 ? [{ key: "trace-id", value: utf8("abc") }] : [],
    timestampMs: T0 + index,
  }));
}


async function postBatches(running: RunningBroker, query: string, body: Uint8Array, contentType = RECORD_BATCH_MEDIA_TYPE) {
  const response = await fetch(`${running.url}/api/v1/produce?${query}`, { method: "POST", body, headers: { "content-type": contentType } });
  return { status: response.status, body: (await response.json()) as any };
}

async function consumeJson(running: RunningBroker, partition: number): Promise<any> {
  const response = await fetch(`${running.url}/api/v1/consume?topic=t&partition=${partition}&offset=0&count=1000`);
  expect(response.status).toBe(200);
  return response.json();
}

describe("binary produce (POST /api/v1/produce with record batches)", () => {
  test("stores the batches at consecutive offsets after JSON-produced records, readable as JSON", async () => {
    const running = await start();
    const json = await fetch(`${running.url}/api/v1/produce`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "t", partition: 1, value: "first" }),
    });
    expect(json.status).toBe(200);
    const first = inputs("a", 3);
    const second = inputs("b", 2);
    const body = concat(encodeRecordBatch({ baseOffset: 0, records: first }), encodeRecordBatch({ baseOffset: 0, records: second }));
    const answer = await postBatches(running, "topic=t&partition=1", body);
    expect(answer).toEqual({ status: 200, body: { topic: "t", partition: 1, base_offset: 1, last_offset: 5 } });

    const read = await consumeJson(running, 1);
    expect(read.records.map((record: any) => record.offset)).toEqual([0, 1, 2, 3, 4, 5]);
    const expected = [...first, ...second];
    read.records.slice(1).forEach((record: any, index: number) => {
      const want = expected[index]!;
      expect(record.key).toBe(want.key === null ? null : new TextDecoder().decode(want.key));
      expect(record.value).toBe(new TextDecoder().decode(want.value!));
      expect(record.timestamp).toBe(want.timestampMs);
      expect(record.headers).toEqual(want.headers.length === 0 ? {} : { "trace-id": "abc" });
    });
    // The other partition is untouched.
    expect((await consumeJson(running, 0)).records).toEqual([]);
  });

  test("stamps offsets and the leader epoch in the stored frames, leaving the CRC-32C valid", async () => {
    const running = await start();
    const body = concat(encodeRecordBatch({ baseOffset: 77, partitionLeaderEpoch: 55, records: inputs("x", 2) }));
    expect((await postBatches(running, "topic=t&partition=0", body)).status).toBe(200);
    expect((await postBatches(running, "topic=t&partition=0", body)).body.base_offset).toBe(2);
    expect(running.broker.describeTopic("t").partitions[0]!.nextOffset).toBe(4);
    const log = running.broker.partitionEntries().find((entry) => entry.topic === "t" && entry.partition === 0)!.log!;
    const frames = log.readFrames(0, 1 << 20).frames;
    const firstBatch = readBatchHeader(frames, FRAME_HEADER_BYTES);
    expect(firstBatch.baseOffset).toBe(0);
    expect(firstBatch.partitionLeaderEpoch).toBe(running.replication.leaderEpoch);
    const secondBatch = readBatchHeader(frames, 2 * FRAME_HEADER_BYTES + body.length);
    expect(secondBatch.baseOffset).toBe(2);
    // The client's own bytes after the CRC are kept as sent.
    expect(frames.subarray(FRAME_HEADER_BYTES + 17, FRAME_HEADER_BYTES + body.length)).toEqual(body.subarray(17));
  });

  test("acks=0 answers 202 with offsets -1", async () => {
    const running = await start();
    const answer = await postBatches(running, "topic=t&partition=0&acks=0", encodeRecordBatch({ baseOffset: 0, records: inputs("z", 1) }));
    expect(answer).toEqual({ status: 202, body: { topic: "t", partition: 0, base_offset: -1, last_offset: -1 } });
  });

  test("refuses bad requests with a JSON error and stores nothing", async () => {
    const running = await start();
    const good = encodeRecordBatch({ baseOffset: 0, records: inputs("g", 2) });
    const corrupt = good.slice();
    corrupt[corrupt.length - 1]! ^= 0x40;
    const cases: [string, Uint8Array, number, string, string?][] = [
      ["topic=t&partition=0", concat(good, corrupt), 400, "invalid_request"],
      ["topic=t&partition=0", new Uint8Array(0), 400, "invalid_request"],
      ["partition=0", good, 400, "invalid_request"],
      ["topic=t", good, 400, "invalid_request"],
      ["topic=t&partition=x", good, 400, "invalid_request"],
      ["topic=t&partition=0&acks=2", good, 400, "invalid_request"],
      ["topic=nope&partition=0", good, 404, "topic_not_found"],
      ["topic=t&partition=2", good, 404, "partition_not_found"],
      ["topic=t&partition=0", encodeRecordBatch({ baseOffset: 0, records: [{ ...inputs("big", 1)[0]!, value: new Uint8Array(4000) }] }), 413, "message_too_large"],
      ["topic=t&partition=0", good, 415, "unsupported_media_type", "application/octet-stream"],
    ];
    for (const [query, body, status, code, contentType] of cases) {
      const answer = await postBatches(running, query, body, contentType);
      expect({ query, status: answer.status, code: answer.body.error?.code }).toEqual({ query, status, code });
      expect(typeof answer.body.error.message).toBe("string");
    }
    expect(running.broker.describeTopic("t").partitions.map((partition) => partition.nextOffset)).toEqual([0, 0]);
    // The broker still takes good batches afterwards.
    expect((await postBatches(running, "topic=t&partition=0", good)).body.last_offset).toBe(1);
  });
});

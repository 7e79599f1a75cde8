import { describe, expect, test } from "bun:test";
import { GafkaClientError } from "./client-error.ts";
import { Consumer, type ConsumerOptions, type ConsumerRecord, type ValueEncoding } from "./consumer.ts";
import type { FetchFunction } from "./http-client.ts";
import { batchAnswerBytes, batchResponse, jsonRecord, storedBatch, utf8 } from "./record-batch-answer.fixture.ts";
import { RECORD_BATCH_MEDIA_TYPE, type WireConsumedRecord } from "./wire.ts";

/**
 * One partition behind the consume endpoint: answers at once when records
 * exist at the offset, otherwise holds the request until `append` or the
 * requested timeout, as the broker's long poll does.
 */
function fakePartition(initial: Omit<WireConsumedRecord, "offset" | "partition">[] = []) {
  const log: WireConsumedRecord[] = [];
  const queries: URLSearchParams[] = [];
  let wake: (() => void) | undefined;
  const append = (record: Omit<WireConsumedRecord, "offset" | "partition">) => {
    log.push({ ...record, partition: 0, offset: log.length });
    wake?.();
  };
  for (const record of initial) append(record);

  const fetchFunction: FetchFunction = async (url, init) => {
    const query = new URL(url).searchParams;
    queries.push(query);
    const text = query.get("offset") ?? "earliest";
    const offset = text === "earliest" ? 0 : text === "latest" ? log.length : Number(text);
    if (offset > log.length) {
      const message = `offset ${offset} is out of range [0, ${log.length}]`;
      return Response.json({ error: { code: "offset_out_of_range", message, earliest: 0, latest: log.length } }, { status: 416 });
    }
    if (offset === log.length) {
      const waitMs = Number(query.get("timeout")!.replace("ms", ""));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        init.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(init.signal!.reason);
        });
      });
    }
    const records = log.slice(offset, offset + Number(query.get("count")));
    const encode = (value: string | null) =>
      value === null || query.get("value_encoding") !== "base64" ? value : Buffer.from(value).toString("base64");
    return Response.json({
      topic: query.get("topic"),
      partition: 0,
      records: records.map((record) => ({ ...record, key: encode(record.key), value: encode(record.value) })),
      next_offset: offset + records.length,
      high_watermark: log.length,
    });
  };
  const consumer = <E extends ValueEncoding = "utf8">(options: Partial<ConsumerOptions<E>> = {}) =>
    new Consumer<E>({ topic: "orders", partition: 0, fetch: fetchFunction, ...options });
  return { append, queries, consumer, fetchFunction };
}

const record = (value: string, key: string | null = null) => ({ key, value, headers: {}, timestamp: 1_000 });

describe("Consumer", () => {
  test("polls from the earliest offset and advances its position", async () => {
    const partition = fakePartition([record("a", "k"), record("b"), record("c")]);
    const consumer = partition.consumer({ maxRecords: 2 });
    expect(consumer.position()).toBe("earliest");
    const first = await consumer.poll();
    expect(first.map((each) => [each.offset, each.key, each.value])).toEqual([
      [0, "k", "a"],
      [1, null, "b"],
    ]);
    expect(first[0]).toMatchObject({ topic: "orders", partition: 0, timestamp: 1_000, headers: [] });
    expect(consumer.position()).toBe(2);
    expect(consumer.highWatermark()).toBe(3);
    expect((await consumer.poll()).map((each) => each.value)).toEqual(["c"]);
    expect(await consumer.poll({ waitMs: 0 })).toEqual([]);
    expect(consumer.position()).toBe(3);
    expect(partition.queries.map((query) => query.get("offset"))).toEqual(["earliest", "2", "3"]);
    await consumer.close();
  });

  test("a broker that goes away mid poll: the poll waits it out and reads on from its position", async () => {
    const partition = fakePartition([record("a"), record("b")]);
    let outage = 0;
    const asked: string[] = [];
    const fetchFunction: FetchFunction = async (url, init) => {
      asked.push(new URL(url).searchParams.get("offset")!);
      if (asked.length >= 2 && outage < 6) {
        outage++;
        throw Object.assign(new TypeError("connection lost"), { code: outage === 1 ? "ECONNRESET" : "ECONNREFUSED" });
      }
      partition.append(record(`after-${asked.length}`));
      return partition.fetchFunction(url, init);
    };
    const consumer = new Consumer({ topic: "orders", partition: 0, fetch: fetchFunction, retryBackoffMaxMs: 2, maxRecords: 2 });
    expect((await consumer.poll()).map((each) => each.value)).toEqual(["a", "b"]);
    expect((await consumer.poll()).map((each) => each.offset)).toEqual([2, 3]);
    expect(asked).toEqual(["earliest", "2", "2", "2", "2", "2", "2", "2"]);
    await consumer.close();
  });

  test("seek moves the position", async () => {
    const partition = fakePartition([record("a"), record("b"), record("c")]);
    const consumer = partition.consumer({ offset: 2 });
    expect((await consumer.poll()).map((each) => each.value)).toEqual(["c"]);
    consumer.seek(0);
    expect((await consumer.poll()).map((each) => each.value)).toEqual(["a", "b", "c"]);
    consumer.seek("latest");
    expect(await consumer.poll({ waitMs: 0 })).toEqual([]);
    expect(() => consumer.seek(-1)).toThrow(GafkaClientError);
    await consumer.close();
  });

  test("a long poll answers when a record arrives", async () => {
    const partition = fakePartition();
    const consumer = partition.consumer();
    const polled = consumer.poll({ waitMs: 30_000 });
    partition.append(record("late"));
    expect((await polled).map((each) => each.value)).toEqual(["late"]);
    await consumer.close();
  });

  test("an offset past the end is a typed error with the partition's bounds", async () => {
    const consumer = fakePartition([record("a")]).consumer({ offset: 5 });
    const error = (await consumer.poll().catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error.code).toBe("offset_out_of_range");
    expect(error.details).toEqual({ earliest: 0, latest: 1 });
    await consumer.close();
  });

  test("binary encoding hands out bytes", async () => {
    const partition = fakePartition([record("hi", "k")]);
    const consumer = partition.consumer<"binary">({ encoding: "binary" });
    const [first] = await consumer.poll();
    expect(first!.value).toEqual(new TextEncoder().encode("hi"));
    expect(first!.key).toEqual(new TextEncoder().encode("k"));
    expect(partition.queries[0]!.get("value_encoding")).toBe("base64");
    await consumer.close();
  });

  test("repeated header keys are kept in order", async () => {
    const headers = [
      { key: "a", value: "1" },
      { key: "a", value: "2" },
    ];
    const consumer = fakePartition([{ key: null, value: "v", headers, timestamp: 1 }]).consumer();
    expect((await consumer.poll())[0]!.headers).toEqual(headers);
    await consumer.close();
  });

  test("for await yields batches until close() ends the loop, even mid-poll", async () => {
    const partition = fakePartition([record("a"), record("b")]);
    const consumer = partition.consumer();
    const seen: string[] = [];
    for await (const records of consumer) {
      seen.push(...records.map((each) => each.value!));
      if (seen.length === 2) {
        setTimeout(() => partition.append(record("c")), 1);
      } else {
        // The next poll is now waiting on an empty partition; close must end it.
        setTimeout(() => void consumer.close(), 1);
      }
    }
    expect(seen).toEqual(["a", "b", "c"]);
    expect(consumer.closed).toBe(true);
    const error = (await consumer.poll().catch((caught: unknown) => caught)) as GafkaClientError;
    expect(error.code).toBe("client_closed");
  });
});

/**
 * One partition stored as record batches of three, served in the form the
 * request asks for: binary when it accepts record batches (and the fake is
 * not playing an older broker), JSON otherwise, as the broker does.
 */
function batchedPartition(options: { jsonOnly?: boolean } = {}) {
  const headers = [
    { key: "trace", value: utf8("t") },
    { key: "trace", value: null },
  ];
  const batches = [0, 3, 6].map((baseOffset) =>
    storedBatch(
      baseOffset,
      [0, 1, 2].map((index) => ({
        key: index === 1 ? null : utf8(`key-${baseOffset + index}`),
        value: utf8(`välue ${baseOffset + index}`),
        headers: index === 2 ? headers : [{ key: "n", value: utf8(String(index)) }],
        timestampMs: 1_764_000_000_000 + baseOffset + index,
      })),
    ),
  );
  const log = batches.flatMap((batch) => batch.stored);
  const accepts: (string | undefined)[] = [];
  const fetchFunction: FetchFunction = async (url, init) => {
    const query = new URL(url).searchParams;
    const accept = (init.headers as Record<string, string>).accept;
    accepts.push(accept);
    const offset = Number(query.get("offset") === "earliest" ? 0 : query.get("offset"));
    const nextOffset = Math.min(log.length, offset + Number(query.get("count")));
    const header = { topic: "orders", partition: 0, next_offset: nextOffset, high_watermark: log.length };
    if (accept === RECORD_BATCH_MEDIA_TYPE && !options.jsonOnly) {
      // Whole batches: the first may begin before the offset asked for, the last run past the count.
      const covering = batches.filter((batch) => batch.stored.at(-1)!.offset >= offset && batch.stored[0]!.offset < nextOffset);
      const chunks = covering.length === 0 ? [] : [{ topic: "orders", partition: 0, offset, nextOffset, batches: covering.map((batch) => batch.bytes) }];
      return batchResponse(batchAnswerBytes(header, chunks));
    }
    const encoding = query.get("value_encoding") === "base64" ? "base64" : "utf8";
    return Response.json({ ...header, records: log.slice(offset, nextOffset).map((record) => jsonRecord(record, 0, encoding)) });
  };
  const consumer = <E extends ValueEncoding = "utf8">(consumerOptions: Partial<ConsumerOptions<E>> = {}) =>
    new Consumer<E>({ topic: "orders", partition: 0, fetch: fetchFunction, ...consumerOptions });
  return { accepts, consumer };
}

describe("Consumer formats", () => {
  test("record batches by default, handing out exactly what the JSON form does", async () => {
    const partition = batchedPartition();
    for (const encoding of ["utf8", "binary"] as const) {
      const polls: ConsumerRecord<unknown>[][] = [];
      for (const format of ["batch", "json"] as const) {
        // From offset 4 with 4 records: batches 3..5 and 6..8 travel, 4..7 are delivered.
        const consumer = partition.consumer<typeof encoding>({ offset: 4, maxRecords: 4, encoding, format });
        polls.push(await consumer.poll());
        expect(consumer.position()).toBe(8);
        expect(consumer.highWatermark()).toBe(9);
        await consumer.close();
      }
      const [batch, json] = polls;
      expect(batch!.map((record) => record.offset)).toEqual([4, 5, 6, 7]);
      expect(batch).toEqual(json!);
    }
    expect(partition.accepts).toEqual([RECORD_BATCH_MEDIA_TYPE, undefined, RECORD_BATCH_MEDIA_TYPE, undefined]);
  });

  test("an empty binary answer moves nothing", async () => {
    const consumer = batchedPartition().consumer({ offset: 9 });
    expect(await consumer.poll()).toEqual([]);
    expect(consumer.position()).toBe(9);
    await consumer.close();
  });

  test("a broker that answers JSON to a request for record batches is read as before", async () => {
    const partition = batchedPartition({ jsonOnly: true });
    const consumer = partition.consumer({ maxRecords: 2 });
    expect((await consumer.poll()).map((record) => record.value)).toEqual(["välue 0", "välue 1"]);
    expect(consumer.position()).toBe(2);
    expect(partition.accepts).toEqual([RECORD_BATCH_MEDIA_TYPE]);
    await consumer.close();
  });

  test("refuses an unknown format", () => {
    expect(() => batchedPartition().consumer({ format: "avro" as never })).toThrow("format");
  });
});

import { describe, expect, test } from "bun:test";
import { GafkaClientError } from "./client-error.ts";
import { Consumer, type ConsumerOptions, type ValueEncoding } from "./consumer.ts";
import type { FetchFunction } from "./http-client.ts";
import type { WireConsumedRecord } from "./wire.ts";

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
  return { append, queries, consumer };
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

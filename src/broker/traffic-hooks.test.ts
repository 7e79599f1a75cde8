import { afterEach, expect, test } from "bun:test";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { parseAcks } from "./acks.ts";
import { Broker } from "./broker.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const bytes = (text: string) => new TextEncoder().encode(text);

test("the broker counts produced and consumed traffic through its hooks, whichever door calls it", async () => {
  const temp = makeTempDir("gafka-traffic-");
  cleanups.push(temp.remove);
  const produced: [string, number, number, number][] = [];
  const consumed: [string, number, number, number][] = [];
  const broker = await Broker.open(
    testBrokerConfig(temp.dir, {
      onProduced: (...args) => produced.push(args),
      onConsumed: (...args) => consumed.push(args),
    }),
  );
  cleanups.push(() => broker.close());
  await broker.createTopic("t", 2);
  await broker.produce("t", [
    { partition: 0, key: bytes("k"), value: bytes("value"), headers: [{ key: "h", value: bytes("not counted") }] },
    { partition: 1, key: null, value: bytes("ab"), headers: [] },
    { partition: 1, key: null, value: null, headers: [] },
  ]);
  await broker.produce("t", [{ partition: 0, key: null, value: bytes("xyz"), headers: [] }], { acks: 0 });
  expect(produced.sort()).toEqual([
    ["t", 0, 1, 3],
    ["t", 0, 1, 6],
    ["t", 1, 2, 2],
  ]);
  // The acks=0 record becomes visible a moment later.
  for (let tries = 0; broker.partitionBounds("t", 0).highWatermark < 2 && tries < 1000; tries++) await Bun.sleep(5);
  // A partition consume counts what it delivers; an empty one counts zero; fetch() (an internal read) counts nothing.
  await broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 10, waitMs: 0 });
  expect(consumed).toEqual([]);
  await broker.consume({ topic: "t", partition: 0, offset: 0, maxRecords: 10, waitMs: 0 });
  await broker.consume({ topic: "t", partition: 1, offset: "latest", maxRecords: 10, waitMs: 0 });
  expect(consumed).toEqual([
    ["t", 0, 2, 9],
    ["t", 1, 0, 0],
  ]);
  // As stored batches: the records delivered and the batches' bytes.
  const read = await broker.consume({ topic: "t", partition: 1, offset: 0, maxRecords: 10, waitMs: 0, format: "batches" });
  expect(consumed[2]).toEqual(["t", 1, 2, read.batches.length]);
});

test("acks as a door may spell it: 0, 1, all or -1, as numbers or strings; 1 when absent", () => {
  expect([parseAcks(undefined), parseAcks(null), parseAcks(0), parseAcks("0"), parseAcks(1), parseAcks("all"), parseAcks(-1), parseAcks("-1")]).toEqual([
    1, 1, 0, 0, 1, "all", "all", "all",
  ]);
  expect(() => parseAcks(2)).toThrow(/'acks' must be 0, 1 or "all"/);
});

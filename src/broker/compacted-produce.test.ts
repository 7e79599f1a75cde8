import { afterEach, expect, test } from "bun:test";
import { encodeRecordBatch } from "../protocol/record-batch.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { Broker } from "./broker.ts";
import { ANONYMOUS } from "../security/principal.ts";
import { gafkaErrorOf } from "../../test/helpers/gafka-error.ts";

const encoder = new TextEncoder();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A broker with a compacted topic (`compact-a`, created with cleanup.policy compact) and a plain one. */
async function brokerWithCompactedTopics(): Promise<Broker> {
  const { dir, remove } = makeTempDir("gafka-broker-");
  cleanups.push(remove);
  const broker = await Broker.open(testBrokerConfig(dir, { brokerId: 1 }));
  cleanups.push(() => broker.close().catch(() => {}));
  await broker.createTopic("compact-a", 1, ANONYMOUS, { "cleanup.policy": "compact" });
  await broker.createTopic("plain", 1);
  return broker;
}

const keyed = (key: string | null) => ({ key: key === null ? null : encoder.encode(key), value: encoder.encode("v"), headers: [] });

test("a compacted topic refuses a record without a key (400 invalid_request naming it) and appends nothing; other topics take it", async () => {
  const broker = await brokerWithCompactedTopics();
  const error = await gafkaErrorOf(broker.produce("compact-a", [keyed("k1"), keyed(null)]));
  expect(error.code).toBe("invalid_request");
  expect(error.message).toContain("record 1 has no key");
  expect(broker.partitionBounds("compact-a", 0).highWatermark).toBe(0);
  expect(await broker.produce("compact-a", [keyed("k1")])).toHaveLength(1);
  expect(await broker.produce("plain", [keyed(null)])).toHaveLength(1);
});

test("a binary produce to a compacted topic with a keyless record in a batch is refused the same way", async () => {
  const broker = await brokerWithCompactedTopics();
  const batch = encodeRecordBatch({ baseOffset: 0, records: [{ ...keyed("k"), timestampMs: 1 }, { ...keyed(null), timestampMs: 1 }] });
  const error = await gafkaErrorOf(broker.produceBatches("compact-a", 0, batch));
  expect(error.code).toBe("invalid_request");
  expect(error.message).toContain("record batch 0, record 1 has no key");
  const keyedBatch = encodeRecordBatch({ baseOffset: 0, records: [{ ...keyed("k"), timestampMs: 1 }] });
  expect((await broker.produceBatches("compact-a", 0, keyedBatch)).recordCount).toBe(1);
});

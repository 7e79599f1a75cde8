import { afterEach, expect, test } from "bun:test";
import { ManualClock } from "../core/manual-clock.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { Broker } from "./broker.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test("a long poll (fetch or waitForAny) ends at its timeout on the broker's clock, not before", async () => {
  const { dir, remove } = makeTempDir("gafka-broker-clock-");
  cleanups.push(remove);
  const clock = new ManualClock();
  const broker = await Broker.open(testBrokerConfig(dir, { clock }));
  cleanups.push(() => broker.close());
  await broker.createTopic("t", 2);
  // The broker's own periodic check (segment.ms) is pending throughout.
  const background = clock.pendingTimers;

  const ended: string[] = [];
  const fetching = broker.fetch({ topic: "t", partition: 0, offset: 0, maxRecords: 1, waitMs: 3_000 }).then((result) => {
    ended.push("fetch");
    return result;
  });
  const waiting = broker.waitForAny([{ topic: "t", partition: 0, offset: 0 }, { topic: "t", partition: 1, offset: 0 }], 2_000, []).then(() => ended.push("waitForAny"));
  await Bun.sleep(0);
  expect(clock.pendingTimers).toBe(background + 2); // one timeout per poll
  clock.advance(1_999);
  await Bun.sleep(0);
  expect(ended).toEqual([]);
  clock.advance(1);
  await waiting;
  expect(ended).toEqual(["waitForAny"]);
  clock.advance(1_000);
  expect((await fetching).records).toEqual([]);
  expect(ended).toEqual(["waitForAny", "fetch"]);
  expect(clock.pendingTimers).toBe(background);
});

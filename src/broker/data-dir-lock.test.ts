import { afterEach, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { testRunConfig } from "../../test/helpers/broker-config.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { DataDirLockedError, lockDataDir } from "./data-dir-lock.ts";
import { runBroker } from "../run-broker.ts";

const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempDir(): string {
  const temp = makeTempDir("gafka-lock-");
  cleanups.push(temp.remove);
  return temp.dir;
}

test("the lock is exclusive, names its holder, and can be taken again once released", () => {
  const dir = tempDir();
  const lock = lockDataDir(dir);
  cleanups.push(() => lock.release());
  expect(nodeFs.readFileSync(path.join(dir, ".lock"), "utf8")).toBe(`${process.pid}\n`);
  // flock locks belong to the open file: a second open in this very process conflicts too.
  let refusal: unknown;
  try {
    lockDataDir(dir);
  } catch (error) {
    refusal = error;
  }
  expect(refusal).toBeInstanceOf(DataDirLockedError);
  expect((refusal as DataDirLockedError).holderPid).toBe(process.pid);
  expect((refusal as Error).message).toBe(`data dir ${dir} is locked by another process (pid ${process.pid}); one broker per data dir`);

  lock.release();
  lock.release();
  expect(nodeFs.readFileSync(path.join(dir, ".lock"), "utf8")).toBe("");
  const again = lockDataDir(dir);
  again.release();
});

test("runBroker takes the lock before touching the data dir and releases it on stop", async () => {
  const dir = tempDir();
  const first = await runBroker(testRunConfig(dir));
  cleanups.push(() => first.stop());
  const entriesBefore = nodeFs.readdirSync(dir).sort();
  await expect(runBroker(testRunConfig(dir))).rejects.toBeInstanceOf(DataDirLockedError);
  expect(nodeFs.readdirSync(dir).sort()).toEqual(entriesBefore);
  await first.stop();
  const second = await runBroker(testRunConfig(dir));
  await second.stop();
});

test("a broker that fails to start releases the lock", async () => {
  const dir = tempDir();
  nodeFs.writeFileSync(path.join(dir, "topics.json"), "not json");
  await expect(runBroker(testRunConfig(dir))).rejects.toThrow(/topics.json is damaged/);
  lockDataDir(dir).release();
});

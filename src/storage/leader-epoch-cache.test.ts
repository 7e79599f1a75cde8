import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { LEADER_EPOCH_MAX } from "../core/limits.ts";
import { nodeFileSystem } from "./file-system.ts";
import { LEADER_EPOCH_FILE_NAME, LeaderEpochCache } from "./leader-epoch-cache.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function tempDir(): string {
  const temp = makeTempDir("gafka-epochs-");
  cleanups.push(temp.remove);
  return temp.dir;
}

test("epochs up to the maximum are kept; a file holding one past it refuses to load, naming the file", () => {
  const dir = tempDir();
  const cache = LeaderEpochCache.load(dir, nodeFileSystem);
  cache.assign(LEADER_EPOCH_MAX, 7);
  expect(LeaderEpochCache.load(dir, nodeFileSystem).entries()).toEqual([{ epoch: LEADER_EPOCH_MAX, startOffset: 7 }]);
  expect(() => cache.assign(LEADER_EPOCH_MAX + 1, 8)).toThrow(/invariant/);

  const file = path.join(dir, LEADER_EPOCH_FILE_NAME);
  writeFileSync(file, `0\n2\n3 0\n${2 ** 31} 5\n`);
  let error: unknown;
  try {
    LeaderEpochCache.load(dir, nodeFileSystem);
  } catch (caught) {
    error = caught;
  }
  // Not log_corrupt: the partition could not be served around it, every write would overflow.
  expect((error as { code?: string }).code).toBeUndefined();
  expect((error as Error).message).toBe(`${file} holds leader epoch ${2 ** 31}, above the highest gafka accepts (${LEADER_EPOCH_MAX})`);
});

import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { nodeFileSystem } from "../storage/file-system.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { CLUSTER_FILE_NAME, ClusterIdStore, isClusterId, newClusterId } from "./cluster-id.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function tempDir(): string {
  const temp = makeTempDir("gafka-cluster-id-");
  cleanups.push(temp.remove);
  return temp.dir;
}

test("new cluster ids are 22 base64url characters and differ", () => {
  const a = newClusterId();
  expect(isClusterId(a)).toBe(true);
  expect(newClusterId()).not.toBe(a);
  for (const bad of [null, 7, "", "short", `${a}x`, "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA/A"]) expect(isClusterId(bad)).toBe(false);
});

test("a store has no id until one is made or taken, then keeps it on disk and refuses another", async () => {
  const dir = tempDir();
  const store = ClusterIdStore.load(dir, nodeFileSystem);
  expect(store.clusterId).toBeNull();
  const made = await store.ensure();
  expect(await store.ensure()).toBe(made);
  expect(ClusterIdStore.load(dir, nodeFileSystem).clusterId).toBe(made);
  await store.join(made, "the same cluster");
  const refused = await store.join(newClusterId(), "another leader").then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toMatchObject({ code: "cluster_id_mismatch", details: { cluster_id: made } });
  expect(ClusterIdStore.load(dir, nodeFileSystem).clusterId).toBe(made);

  const follower = ClusterIdStore.load(tempDir(), nodeFileSystem);
  await follower.join(made, "its leader");
  expect(follower.clusterId).toBe(made);
});

test("a damaged cluster.json stops the start", () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, CLUSTER_FILE_NAME), '{"version": 1, "cluster_id": "nope"}');
  expect(() => ClusterIdStore.load(dir, nodeFileSystem)).toThrow("is damaged");
});

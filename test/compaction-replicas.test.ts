import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll } from "./helpers/broker-process.ts";
import { startFollower, startLeader, waitCaughtUp } from "./helpers/cluster.ts";
import { postJson, waitFor } from "./helpers/http.ts";

afterAll(cleanupAll);

const TOPIC = "compacted-ident";

/**
 * The partition's sealed segment files (every `.log` but the newest, the active one) and its
 * cleaner checkpoint, as bytes in hex. A pass may swap a segment in between the listing and the
 * read (the file listed is gone): the listing is taken again.
 */
function sealedState(dataDir: string): { segments: Map<string, string>; checkpoint: string | undefined } {
  const dir = path.join(dataDir, `${TOPIC}-0`);
  for (let attempt = 1; ; attempt++) {
    try {
      const logs = readdirSync(dir).filter((name) => name.endsWith(".log")).sort();
      const segments = new Map(logs.slice(0, -1).map((name) => [name, readFileSync(path.join(dir, name)).toString("hex")]));
      const checkpointPath = path.join(dir, "cleaner-checkpoint");
      return { segments, checkpoint: existsSync(checkpointPath) ? readFileSync(checkpointPath, "utf8") : undefined };
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT" || attempt >= 100) throw error;
    }
  }
}

function passesOf(dataDir: string): { clean_end_offset: number; cleaned_at_ms: number }[] {
  return JSON.parse(sealedState(dataDir).checkpoint ?? '{"passes":[]}').passes;
}

/** Overwrites of a few keys, and every third round tombstones for two of them (written again later). */
async function produceRounds(url: string, from: number, to: number, acks: 1 | "all"): Promise<void> {
  for (let round = from; round < to; round++) {
    const records: { partition: number; key: string; value: string | null }[] = Array.from({ length: 6 }, (_, k) => ({
      partition: 0,
      key: `k${k}`,
      value: `round-${round}-`.padEnd(50 + round, "x"),
    }));
    if (round % 3 === 0) records.push({ partition: 0, key: `k${round % 6}`, value: null }, { partition: 0, key: `gone-${round}`, value: null });
    const answer = await postJson(`${url}/api/v1/produce`, { topic: TOPIC, records, acks });
    expect(answer.status).toBe(200);
  }
}

/** Polls until the follower's sealed segments and cleaner checkpoint equal the leader's, byte for byte, with at least `passesMin` passes. */
async function waitIdentical(leaderDir: string, followerDir: string, passesMin: number): Promise<void> {
  let last = "";
  const identical = waitFor(async () => {
    const onLeader = sealedState(leaderDir);
    const onFollower = sealedState(followerDir);
    const shared = [...onLeader.segments.keys()].filter((name) => onFollower.segments.has(name));
    const differing = shared.filter((name) => onLeader.segments.get(name) !== onFollower.segments.get(name));
    last = `passes ${passesOf(leaderDir).length}/${passesOf(followerDir).length}, ${shared.length} shared sealed segment(s), differing: ${differing.join(", ")}`;
    return (
      passesOf(leaderDir).length >= passesMin &&
      onLeader.checkpoint === onFollower.checkpoint &&
      onLeader.segments.size === onFollower.segments.size &&
      shared.length === onLeader.segments.size &&
      differing.length === 0
    );
  }, "the follower's sealed segments and cleaner checkpoint equal to the leader's");
  await identical.catch((error: Error) => {
    throw new Error(`${error.message} (last seen: ${last})`);
  });
}

test("a follower repeats its leader's compaction passes: sealed segments and cleaner checkpoints byte-identical, also across a follower's restart", async () => {
  const args = ["--segment-bytes", "1024", "--cleaner-backoff", "50ms"];
  const leader = await startLeader(args);
  const follower = await startFollower(leader, 2, args);
  const configs = { "cleanup.policy": "compact", "delete.retention.ms": "300", "min.compaction.lag.ms": "0" };
  expect((await postJson(`${leader.url}/api/v1/topics`, { name: TOPIC, partitions: 1, configs })).status).toBe(201);
  await waitCaughtUp(leader, [follower]);

  // Several passes while records keep coming: the cleaners would differ here if each chose its own.
  for (let burst = 0; burst < 4; burst++) {
    await produceRounds(leader.url, burst * 8, burst * 8 + 8, "all");
    await Bun.sleep(150);
  }
  await waitCaughtUp(leader, [follower]);
  await waitIdentical(leader.dataDir, follower.dataDir, 3);
  // Compaction did drop records (superseded values, expired tombstones), on both alike.
  const sealedBytes = (dir: string) => [...sealedState(dir).segments.values()].reduce((sum, hex) => sum + hex.length / 2, 0);
  expect(sealedBytes(leader.dataDir)).toBeLessThan(sealedState(leader.dataDir).segments.size * 1024);

  // The follower dies mid-way: passes go on without it, then it comes back and repeats the ones it missed.
  await produceRounds(leader.url, 32, 40, "all");
  await follower.kill();
  const passesBefore = passesOf(leader.dataDir).length;
  await produceRounds(leader.url, 40, 56, 1);
  await waitFor(async () => passesOf(leader.dataDir).length > passesBefore, "a leader's pass while the follower is down");
  await follower.restart();
  await produceRounds(leader.url, 56, 64, 1);
  await waitCaughtUp(leader, [follower]);
  await waitIdentical(leader.dataDir, follower.dataDir, passesBefore + 1);
  expect(follower.stderr()).not.toContain("are not its leader's");
});

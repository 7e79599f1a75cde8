import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { type BrokerProcess, makeTempDir, startBrokerProcess } from "./broker-process.ts";
import { getJson, postJson, waitFor } from "./http.ts";

/**
 * Leader/follower pairs of real broker processes for the replication suites
 * (test/replication*.test.ts). Cleaned up by broker-process's cleanupAll().
 */

export async function startLeader(args: string[] = []): Promise<BrokerProcess> {
  return startBrokerProcess({ args: ["--id=1", "--role=leader", ...args] });
}

export async function startFollower(leader: BrokerProcess, id: number, args: string[] = []): Promise<BrokerProcess> {
  return startBrokerProcess({ args: [`--id=${id}`, "--role=follower", `--leader=${leader.hostPort}`, ...args] });
}

/**
 * A cluster secret in a file of its own (mode 0600, in a temporary dir that
 * cleanupAll() removes) and the flag that gives it to a broker: pass the same
 * arguments to every broker of a test cluster (startLeader, startFollower).
 * `secret` defaults to a fresh random one.
 */
export async function clusterSecretArgs(secret: string = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")): Promise<string[]> {
  const file = path.join(await makeTempDir("gafka-secret-"), "cluster-secret");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return [`--cluster-secret-file=${file}`];
}

export async function status(broker: BrokerProcess): Promise<any> {
  const answer = await getJson(`${broker.url}/api/v1/replication/status`);
  if (answer.status !== 200) throw new Error(`status answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/**
 * Waits until every follower holds everything the leader holds, durably, is
 * in sync for every partition, and serves up to the same high watermark.
 */
export async function waitCaughtUp(leader: BrokerProcess, followers: BrokerProcess[], boundMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const view = await status(leader).catch(() => undefined);
      if (view === undefined || view.role !== "leader") return false;
      const ends = new Map(view.partitions.map((p: any) => [`${p.topic}-${p.partition}`, p]));
      for (const follower of followers) {
        const seen = view.followers.find((f: any) => f.address === follower.hostPort);
        if (seen === undefined || !seen.connected || seen.lag !== 0 || seen.in_sync_partitions !== view.partitions.length) return false;
        const mine = await status(follower).catch(() => undefined);
        if (mine === undefined || mine.partitions.length !== view.partitions.length) return false;
        for (const p of mine.partitions) {
          const theirs: any = ends.get(`${p.topic}-${p.partition}`);
          if (theirs === undefined || p.log_end_offset !== theirs.log_end_offset || p.high_watermark !== theirs.high_watermark) return false;
        }
      }
      return true;
    },
    "followers to catch up",
    boundMs,
  );
}

/** Every file of every partition directory (segments, indexes, epoch checkpoints) with a hash of its bytes. */
export function partitionFiles(dataDir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dataDir).sort()) {
    const dir = path.join(dataDir, entry);
    if (!statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(log|index)$/.test(name) && name !== "leader-epoch-checkpoint") continue;
      files.set(`${entry}/${name}`, Bun.hash(readFileSync(path.join(dir, name))).toString(16));
    }
  }
  return files;
}

/** Only the segment files: the replicated log itself. */
export function segmentFiles(dataDir: string): Map<string, string> {
  return new Map([...partitionFiles(dataDir)].filter(([name]) => name.endsWith(".log")));
}

/**
 * Creates a topic on `broker`. With `inSyncOn`, waits until those followers
 * hold it and are in sync for its partitions: under min.insync.replicas ≥ 2
 * an acks=all write to a new topic is refused until they are.
 */
export async function createTopic(broker: BrokerProcess, name: string, partitions: number, inSyncOn: BrokerProcess[] = []): Promise<void> {
  const answer = await postJson(`${broker.url}/api/v1/topics`, { name, partitions });
  if (answer.status !== 201) throw new Error(`create-topic answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  if (inSyncOn.length > 0) await waitCaughtUp(broker, inSyncOn);
}

/** Produces `records` in one request; returns the answer. */
export async function produce(broker: BrokerProcess, topic: string, records: object[], acks: 0 | 1 | "all" = 1): Promise<{ status: number; body: any }> {
  return postJson(`${broker.url}/api/v1/produce`, { topic, records, acks });
}

/**
 * Measures the recovery times docs/operations.md quotes, on this machine,
 * with real brokers on loopback (the leader-crash drill is
 * bench/failover-drill.ts):
 *
 * - follower crash: kill -9 the follower, produce a backlog, restart it: time to caught up;
 * - both restarted: kill -9 both, restart both: time to the first produce and to in sync;
 * - corrupt follower partition: rebuild it by deleting its directory: time to caught up;
 * - lagging follower: catch-up rate in records and MB per second.
 *
 *   bun bench/recovery-timings.ts [--backlog=200000] [--json]
 */
import { rmSync } from "node:fs";
import * as path from "node:path";
import { cleanupAll, startBrokerProcess, type BrokerProcess } from "../test/helpers/broker-process.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const backlog = Number(args.find((arg) => arg.startsWith("--backlog="))?.split("=")[1] ?? 200_000);
const RECORDS_PER_REQUEST = 5000;
const VALUE = "v".repeat(100);

async function post(url: string, body: unknown): Promise<any> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function status(broker: BrokerProcess): Promise<any> {
  return (await fetch(`${broker.url}/api/v1/replication/status`)).json();
}

async function until(condition: () => Promise<boolean>, boundMs = 300_000): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!(await condition().catch(() => false))) {
    if (performance.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

async function caughtUp(leader: BrokerProcess, follower: BrokerProcess): Promise<boolean> {
  const view = await status(leader);
  const seen = view.followers.find((f: any) => f.address === follower.hostPort);
  return seen?.connected && seen.lag === 0 && seen.in_sync_partitions === view.partitions.length;
}

async function produceBacklog(leader: BrokerProcess, count: number): Promise<number> {
  let bytes = 0;
  for (let sent = 0; sent < count; sent += RECORDS_PER_REQUEST) {
    const records = Array.from({ length: Math.min(RECORDS_PER_REQUEST, count - sent) }, (_, i) => ({ key: `k${(sent + i) % 101}`, value: VALUE }));
    await post(`${leader.url}/api/v1/produce`, { topic: "t", records });
  }
  const described = (await (await fetch(`${leader.url}/api/v1/topics/t`)).json()) as { partitions: { size_bytes: number }[] };
  for (const partition of described.partitions) bytes += partition.size_bytes;
  return bytes;
}

async function measure() {
  const leader = await startBrokerProcess({ args: ["--id=1", "--role=leader"] });
  const follower = await startBrokerProcess({ args: ["--id=2", "--role=follower", `--leader=${leader.hostPort}`] });
  await post(`${leader.url}/api/v1/topics`, { name: "t", partitions: 2 });
  await until(() => caughtUp(leader, follower));

  // Follower crash with a backlog.
  await follower.kill();
  await produceBacklog(leader, backlog);
  let start = performance.now();
  await follower.restart();
  const followerRestartMs = performance.now() - start;
  await until(() => caughtUp(leader, follower));
  const followerCatchUpMs = performance.now() - start;
  const sizeBytes = ((await (await fetch(`${leader.url}/api/v1/topics/t`)).json()) as { partitions: { size_bytes: number }[] }).partitions.reduce((sum, p) => sum + p.size_bytes, 0);

  // A corrupt partition on the follower, rebuilt from the leader.
  await follower.stop();
  rmSync(path.join(follower.dataDir, "t-0"), { recursive: true, force: true });
  start = performance.now();
  await follower.restart();
  await until(() => caughtUp(leader, follower));
  const rebuildPartitionMs = performance.now() - start;

  // Both brokers crash and come back.
  await follower.kill();
  await leader.kill();
  start = performance.now();
  await Promise.all([leader.restart(), follower.restart()]);
  const bothListeningMs = performance.now() - start;
  await post(`${leader.url}/api/v1/produce`, { topic: "t", value: "after both restarted" });
  const bothFirstProduceMs = performance.now() - start;
  await until(() => caughtUp(leader, follower));
  const bothInSyncMs = performance.now() - start;

  return {
    backlogRecords: backlog,
    logBytes: sizeBytes,
    followerRestartMs: Math.round(followerRestartMs),
    followerCatchUpMs: Math.round(followerCatchUpMs),
    catchUpRecordsPerSecond: Math.round(backlog / (followerCatchUpMs / 1000)),
    catchUpMegabytesPerSecond: Math.round(sizeBytes / 1024 / 1024 / (followerCatchUpMs / 1000)),
    rebuildPartitionMs: Math.round(rebuildPartitionMs),
    bothListeningMs: Math.round(bothListeningMs),
    bothFirstProduceMs: Math.round(bothFirstProduceMs),
    bothInSyncMs: Math.round(bothInSyncMs),
  };
}

try {
  const result = await measure();
  if (json) console.log(JSON.stringify(result));
  else for (const [name, value] of Object.entries(result)) console.log(`${name.padEnd(28)} ${value}`);
} finally {
  await cleanupAll();
}

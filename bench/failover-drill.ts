/**
 * The runbook's leader-crash drill (docs/operations.md, "The leader crashed"),
 * as a script: two real brokers on loopback, producers under acks=all load,
 * `kill -9` of the leader, `gafka admin promote` of the follower as soon as
 * the producers notice, producers moving to the new leader; then every
 * acknowledged record is looked for on the new leader, and the old leader is
 * restarted with its original command to show it comes back as a follower.
 *
 *   bun bench/failover-drill.ts [--clients=4] [--batch=10] [--acks=all] [--before=3000] [--after=1000] [--json]
 *
 * Prints the time from the kill to the first successful produce on the new
 * leader and the count of acknowledged records lost (the seed asks ≤ 30 s and
 * 0); exits 1 when any acknowledged record is missing or duplicated.
 */
import { cleanupAll, runCli, startBrokerProcess, type BrokerProcess } from "../test/helpers/broker-process.ts";

interface Options {
  clients: number;
  batch: number;
  acks: "all" | "1";
  before: number;
  after: number;
  json: boolean;
}

interface Ack {
  partition: number;
  offset: number;
}

const PARTITIONS = 2;
const TOPIC = "drill";

function parseOptions(argv: string[]): Options {
  const options: Options = { clients: 4, batch: 10, acks: "all", before: 3000, after: 1000, json: false };
  for (const arg of argv) {
    const [name, value] = arg.replace(/^--/, "").split("=") as [string, string | undefined];
    if (name === "json") options.json = true;
    else if (name === "acks" && (value === "all" || value === "1")) options.acks = value;
    else if ((name === "clients" || name === "batch" || name === "before" || name === "after") && Number(value) > 0) options[name] = Number(value);
    else {
      console.error(`unknown option ${arg}; usage: bun bench/failover-drill.ts [--clients=4] [--batch=10] [--acks=all|1] [--before=3000] [--after=1000] [--json]`);
      process.exit(2);
    }
  }
  return options;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function get(url: string): Promise<any> {
  return (await fetch(url)).json();
}

async function until(condition: () => boolean | Promise<boolean>, what: string, boundMs = 120_000): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

async function readAll(url: string, partition: number): Promise<{ offset: number; value: string }[]> {
  const records: { offset: number; value: string }[] = [];
  for (let next = 0; ; ) {
    const answer = await get(`${url}/api/v1/consume?topic=${TOPIC}&partition=${partition}&offset=${next}&count=10000`);
    records.push(...answer.records);
    next = answer.next_offset;
    if (answer.records.length === 0 || next >= answer.high_watermark) return records;
  }
}

async function drill(options: Options) {
  // Two copies of every acknowledged record: the promoted follower provably holds them all (a clean promotion).
  const leader = await startBrokerProcess({ args: ["--id=1", "--role=leader", "--min-insync-replicas=2"] });
  const follower = await startBrokerProcess({ args: ["--id=2", "--role=follower", `--leader=${leader.hostPort}`] });
  const created = await post(`${leader.url}/api/v1/topics`, { name: TOPIC, partitions: PARTITIONS });
  if (created.status !== 201) throw new Error(`create-topic answered ${created.status}`);

  let target = leader.url;
  let stopped = false;
  let killedAt = 0;
  let noticedAt = 0;
  let firstProduceAt = 0;
  let promotedAt = 0;
  let afterPromotion = 0;
  const acked = new Map<string, Ack>();
  const client = async (id: number) => {
    for (let seq = 0; !stopped; seq += options.batch) {
      const values = Array.from({ length: options.batch }, (_, i) => `c${id}-${seq + i}`);
      const sentTo = target;
      try {
        const answer = await post(`${sentTo}/api/v1/produce`, {
          topic: TOPIC,
          acks: options.acks,
          records: values.map((value, i) => ({ key: `k${id}-${(seq + i) % 11}`, value })),
        });
        if (answer.status !== 200) throw new Error(`answered ${answer.status}`);
        answer.body.results.forEach((result: Ack, i: number) => acked.set(values[i]!, { partition: result.partition, offset: result.offset }));
        if (killedAt > 0 && sentTo === follower.url) {
          firstProduceAt ||= performance.now();
          afterPromotion += values.length;
        }
      } catch {
        if (killedAt > 0) noticedAt ||= performance.now();
        await Bun.sleep(5); // not acknowledged; the next batch carries new values
      }
    }
  };
  const clients = Array.from({ length: options.clients }, (_, id) => client(id));
  await until(() => acked.size >= options.before, `${options.before} acknowledged records`);
  const ackedBeforeKill = acked.size;

  await leader.kill();
  killedAt = performance.now();
  await until(() => noticedAt > 0, "the producers to notice");
  // The drill killed it, as an operator would know: no lease to wait out.
  const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`, "--leader-dead"]);
  if (promote.exitCode !== 0) throw new Error(`promote failed: ${promote.stderr}`);
  promotedAt = performance.now();
  target = follower.url;
  await until(() => afterPromotion >= options.after, `${options.after} records acknowledged by the new leader`);
  stopped = true;
  await Promise.all(clients);

  const seen = new Map<string, Ack>();
  let duplicates = 0;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (const record of await readAll(follower.url, partition)) {
      if (seen.has(record.value)) duplicates++;
      seen.set(record.value, { partition, offset: record.offset });
    }
  }
  let lost = 0;
  for (const [value, ack] of acked) {
    const found = seen.get(value);
    if (found === undefined || found.partition !== ack.partition || found.offset !== ack.offset) lost++;
  }

  const restartedAt = performance.now();
  await leader.restart();
  const rejoinedMs = await timeUntil(restartedAt, async () => (await get(`${leader.url}/api/v1/replication/status`)).role === "follower");
  const caughtUpMs = await timeUntil(restartedAt, async () => caughtUp(follower, leader));
  return {
    clients: options.clients,
    batch: options.batch,
    acks: options.acks,
    ackedBeforeKill,
    acked: acked.size,
    ackedAfterPromotion: afterPromotion,
    noticedMs: Math.round(noticedAt - killedAt),
    promoteMs: Math.round(promotedAt - killedAt),
    killToFirstProduceMs: Math.round(firstProduceAt - killedAt),
    lost,
    duplicates,
    oldLeaderFollowsAfterRestartMs: rejoinedMs,
    oldLeaderCaughtUpAfterRestartMs: caughtUpMs,
  };
}

async function timeUntil(start: number, condition: () => Promise<boolean>): Promise<number> {
  await until(async () => condition().catch(() => false), "the old leader to rejoin");
  return Math.round(performance.now() - start);
}

async function caughtUp(leader: BrokerProcess, follower: BrokerProcess): Promise<boolean> {
  const view = await get(`${leader.url}/api/v1/replication/status`);
  const seen = view.followers.find((f: any) => f.address === follower.hostPort);
  return seen?.connected && seen.lag === 0 && seen.in_sync_partitions === view.partitions.length;
}

const options = parseOptions(process.argv.slice(2));
let result: Awaited<ReturnType<typeof drill>>;
try {
  result = await drill(options);
} finally {
  await cleanupAll();
}
if (options.json) {
  console.log(JSON.stringify(result));
} else {
  console.log(`failover drill: leader + follower on loopback, ${result.clients} producers, acks=${result.acks}, batches of ${result.batch}`);
  console.log(`acknowledged before the kill:             ${result.ackedBeforeKill}`);
  console.log(`producers noticed the dead leader after:   ${result.noticedMs} ms`);
  console.log(`gafka admin promote done after:            ${result.promoteMs} ms`);
  console.log(`kill -9 to first successful produce:       ${result.killToFirstProduceMs} ms`);
  console.log(`acknowledged in all / after promotion:     ${result.acked} / ${result.ackedAfterPromotion}`);
  console.log(`acknowledged records lost:                 ${result.lost}`);
  console.log(`records found twice:                       ${result.duplicates}`);
  console.log(`old leader restarted, following after:     ${result.oldLeaderFollowsAfterRestartMs} ms`);
  console.log(`old leader restarted, caught up after:     ${result.oldLeaderCaughtUpAfterRestartMs} ms`);
}
process.exit(result.lost === 0 && result.duplicates === 0 ? 0 : 1);

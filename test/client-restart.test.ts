import { afterAll, describe, expect, test } from "bun:test";
import { GroupConsumer, Producer, type ConsumerRecord, type RecordMetadata } from "../src/client/index.ts";
import { cleanupAll, printedRecords, runCli, spawnCli, startBrokerProcess, type SpawnedCli } from "./helpers/broker-process.ts";
import { createTopic, startFollower, startLeader } from "./helpers/cluster.ts";
import { postJson, readPartition, waitFor } from "./helpers/http.ts";

/**
 * Clients ride out a broker restart and a failover (docs/operations.md):
 * consumers (the CLI's follow mode in partition and group mode, the SDK's
 * GroupConsumer) and producers retry under the SDK's retry policy
 * (src/client/retry.ts), resume where they were, and give up only after
 * their deadline, with a clear error. Real broker processes, killed with
 * SIGKILL and started again on the same port and data dir.
 */

afterAll(cleanupAll);

/**
 * How long a killed broker stays down before it is started again: longer
 * than the whole retry budget clients had before (3 retries, 0.7 s), as a
 * real restart often is. A scenario parameter, not a measurement.
 */
const DOWNTIME_MS = 1_500;
/** The GroupConsumer rode out up to three lost answers, each with a leave retried for 0.7 s: about 2.8 s in all. */
const GROUP_CONSUMER_DOWNTIME_MS = 4_000;
const TEST_TIMEOUT_MS = 90_000;

async function produceValues(url: string, topic: string, partition: number, values: string[]): Promise<void> {
  const { status, body } = await postJson(`${url}/api/v1/produce`, { topic, records: values.map((value) => ({ partition, value })) });
  if (status !== 200) throw new Error(`produce answered ${status}: ${JSON.stringify(body)}`);
}

const range = (prefix: string, from: number, count: number) => Array.from({ length: count }, (_, index) => `${prefix}-${from + index}`);

/** A process that has not exited may still be asked to stop; a failure carries its output. */
async function interrupt(cli: SpawnedCli): Promise<{ exitCode: number; stderr: string }> {
  cli.process.kill("SIGINT");
  const result = await cli.result;
  return { exitCode: result.exitCode, stderr: result.stderr };
}

describe("a broker killed and started again", () => {
  test(
    "gafka consume in follow mode keeps going, in partition mode and in group mode, and prints every record in order",
    async () => {
      const broker = await startBrokerProcess();
      await createTopic(broker, "follow", 1);
      await produceValues(broker.url, "follow", 0, range("before", 0, 50));
      const partitionMode = spawnCli(["consume", "--topic=follow", "--partition=0", "--json", `--broker=${broker.hostPort}`], { timeoutMs: 80_000 });
      const groupMode = spawnCli(["consume", "--topic=follow", "--group=followers", "--json", `--broker=${broker.hostPort}`], { timeoutMs: 80_000 });
      await waitFor(() => printedRecords(partitionMode).length === 50 && printedRecords(groupMode).length === 50, "both consumers to print the first 50", 30_000);

      await broker.kill();
      await Bun.sleep(DOWNTIME_MS);
      await broker.restart();
      await produceValues(broker.url, "follow", 0, range("after", 0, 50));

      const expected = [...range("before", 0, 50), ...range("after", 0, 50)];
      await waitFor(
        () => new Set(printedRecords(partitionMode).map((r) => r.value)).size === 100 && new Set(printedRecords(groupMode).map((r) => r.value)).size === 100,
        "both consumers to print all 100 records",
        40_000,
      );

      // Partition mode resumes at its next offset: each record once, in order.
      expect(printedRecords(partitionMode).map((r) => r.value)).toEqual(expected);
      expect(printedRecords(partitionMode).map((r) => r.offset)).toEqual(expected.map((_, offset) => offset));
      // Group mode resumes from the committed offset: the batch in hand at the kill may come again, nothing else.
      const groupValues = printedRecords(groupMode).map((r) => r.value);
      const firstSeen = groupValues.filter((value, index) => groupValues.indexOf(value) === index);
      expect(firstSeen).toEqual(expected);
      expectRewindsOnlyToCommitted(printedRecords(groupMode).map((r) => r.offset), 1, 50);

      for (const cli of [partitionMode, groupMode]) {
        const { exitCode, stderr } = await interrupt(cli);
        expect(stderr).not.toContain("error:");
        expect(exitCode).toBe(0);
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the SDK's GroupConsumer rejoins (the restarted broker no longer knows it) and resumes from the committed offsets",
    async () => {
      const broker = await startBrokerProcess();
      await createTopic(broker, "grouped", 2);
      for (const partition of [0, 1]) await produceValues(broker.url, "grouped", partition, range(`p${partition}-before`, 0, 40));
      const consumer = new GroupConsumer({ broker: broker.hostPort, groupId: "sdk", consumerId: "member-1", topics: "grouped", maxRecords: 10, waitMs: 1_000 });
      const received: ConsumerRecord[] = [];
      const loop = (async () => {
        for await (const batch of consumer) received.push(...batch);
      })();
      const distinct = () => new Set(received.map((r) => `${r.partition}/${r.offset}`)).size;
      await waitFor(() => distinct() === 80, "the first 80 records", 30_000);

      await broker.kill();
      await Bun.sleep(GROUP_CONSUMER_DOWNTIME_MS);
      await broker.restart();
      for (const partition of [0, 1]) await produceValues(broker.url, "grouped", partition, range(`p${partition}-after`, 0, 40));
      await waitFor(() => distinct() === 160, "all 160 records", 40_000);
      await consumer.close();
      await loop;

      for (const partition of [0, 1]) {
        const records = received.filter((r) => r.partition === partition);
        const values = records.map((r) => r.value);
        const firstSeen = values.filter((value, index) => values.indexOf(value) === index);
        expect(firstSeen).toEqual([...range(`p${partition}-before`, 0, 40), ...range(`p${partition}-after`, 0, 40)]);
        // At most the one batch (maxRecords 10) handed out before the kill and not acknowledged comes again.
        expect(values.length - firstSeen.length).toBeLessThanOrEqual(10);
        expectRewindsOnlyToCommitted(records.map((r) => r.offset), 1, 10);
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the SDK's Producer keeps producing: every send is acknowledged, and the partition holds them all in send order",
    async () => {
      const broker = await startBrokerProcess();
      await createTopic(broker, "produced", 1);
      const producer = new Producer({ broker: broker.hostPort, lingerMs: 1, batchSize: 10 });
      const acknowledged: RecordMetadata[] = [];
      const failures: unknown[] = [];
      let sent = 0;
      let stopping = false;
      // Sends in windows of 20, so records are in flight whenever the broker dies.
      const sending = (async () => {
        while (!stopping) {
          const window = range("record", sent, 20).map((value) => producer.send({ topic: "produced", partition: 0, value }));
          sent += 20;
          for (const send of window) await send.then((metadata) => acknowledged.push(metadata), (error: unknown) => failures.push(error));
        }
      })();
      await waitFor(() => acknowledged.length >= 200 || failures.length > 0, "200 acknowledged records", 30_000);

      await broker.kill();
      await Bun.sleep(DOWNTIME_MS);
      const sentDuringOutage = sent;
      await broker.restart();
      await waitFor(() => acknowledged.length >= sentDuringOutage + 200 || failures.length > 0, "200 more acknowledged after the restart", 40_000);
      stopping = true;
      await sending;
      await producer.close();

      expect(failures).toEqual([]);
      expect(acknowledged.length).toBe(sent);
      const stored = (await readPartition(broker.url, "produced", 0)).map((record) => record.value);
      // At-least-once: a batch whose answer the kill cut off may be stored twice; none is lost or out of order.
      const firstSeen = stored.filter((value, index) => stored.indexOf(value) === index);
      expect(firstSeen).toEqual(range("record", 0, sent));
      for (const metadata of acknowledged) expect(stored[metadata.offset]).toBeDefined();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a consumer gives up once --retry-timeout has passed without the broker, with a clear error and a non-zero exit",
    async () => {
      const broker = await startBrokerProcess();
      await createTopic(broker, "abandoned", 1);
      await produceValues(broker.url, "abandoned", 0, ["only"]);
      const cli = spawnCli(["consume", "--topic=abandoned", "--partition=0", "--retry-timeout=1s", `--broker=${broker.hostPort}`], { timeoutMs: 60_000 });
      await cli.waitForStdout(/value=only/);
      await broker.kill();
      const result = await cli.result;
      expect(result.timedOut).toBe(false);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(`error: gave up after \\d+(ms|s) and \\d+ attempts: cannot reach broker at http://${broker.hostPort.replace(/\./g, "\\.")} \\(ECONN(REFUSED|RESET)\\)\\n$`),
      );
      // The first failure is logged as it happens, so the wait is not silent.
      expect(result.stderr).toContain("retrying for up to 1 s");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "--retry-timeout takes a duration with a unit",
    async () => {
      const result = await runCli(["consume", "--topic=t", "--retry-timeout=5000", "--broker=127.0.0.1:1"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("error: --retry-timeout needs a unit: a duration such as 5000s or 5000ms (units ms, s, m, h), not '5000'");
    },
    TEST_TIMEOUT_MS,
  );
});

describe("a list of brokers", () => {
  test(
    "--broker follower,leader finds the leader, and a producer given both follows a promotion after the leader is killed",
    async () => {
      // The leader keeps two copies of what it acknowledges: the follower, promoted, provably holds them all.
      const leader = await startLeader(["--min-insync-replicas=2"]);
      const follower = await startFollower(leader, 2);
      await createTopic(leader, "listed", 1, [follower]);
      const brokers = `${follower.hostPort},${leader.hostPort}`;

      // The CLI: the follower answers 421 naming the leader, which takes the record.
      const first = await runCli(["produce", "--topic=listed", "--partition=0", "--message=via-follower", "--acks=all", `--broker=${brokers}`]);
      expect(first.stderr).toBe("");
      expect(first.exitCode).toBe(0);
      expect(first.stdout).toBe("partition=0 offset=0\n");

      // The SDK, given the leader first: it keeps going while the leader is dead and the follower not yet promoted.
      const producer = new Producer({ brokers: [leader.hostPort, follower.hostPort], acks: "all", lingerMs: 1, batchSize: 10 });
      const acknowledged: string[] = [];
      const failures: unknown[] = [];
      let sent = 0;
      let stopping = false;
      const sending = (async () => {
        while (!stopping) {
          const values = range("failover", sent, 10);
          sent += 10;
          const sends = values.map((value) => producer.send({ topic: "listed", partition: 0, value }));
          for (let index = 0; index < sends.length; index++) {
            await sends[index]!.then(() => acknowledged.push(values[index]!), (error: unknown) => failures.push(error));
          }
        }
      })();
      await waitFor(() => acknowledged.length >= 100 || failures.length > 0, "100 records acknowledged by the leader", 30_000);
      await leader.kill();
      const promote = await runCli(["admin", "promote", `--broker=${follower.hostPort}`, "--leader-dead"]);
      expect(promote.stdout).toContain("is the leader under leader epoch 1");
      const sentAtPromotion = sent;
      await waitFor(() => acknowledged.length >= sentAtPromotion + 100 || failures.length > 0, "100 more acknowledged by the new leader", 40_000);
      stopping = true;
      await sending;
      await producer.close();

      expect(failures).toEqual([]);
      expect(acknowledged.length).toBe(sent);
      // acks=all: everything acknowledged is on the new leader, in send order (a resent batch may be there twice).
      const stored = (await readPartition(follower.url, "listed", 0)).map((record) => record.value);
      const firstSeen = stored.filter((value, index) => stored.indexOf(value) === index);
      expect(firstSeen).toEqual(["via-follower", ...range("failover", 0, sent)]);

      // A consumer given the dead broker first reads from the one that answers.
      const consumed = await runCli(["consume", "--topic=listed", "--partition=0", "--count=1", `--broker=${leader.hostPort},${follower.hostPort}`]);
      expect(consumed.stdout).toBe("partition=0 offset=0 value=via-follower\n");
      expect(consumed.exitCode).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "admin commands take the list too: the first broker that answers serves them",
    async () => {
      const broker = await startBrokerProcess();
      await createTopic(broker, "admin-listed", 3);
      const dead = await startBrokerProcess();
      await dead.kill();
      const listed = await runCli(["admin", "list-topics", `--broker=${dead.hostPort},${broker.hostPort}`]);
      expect(listed.stderr).toBe("");
      expect(listed.exitCode).toBe(0);
      expect(listed.stdout).toContain("admin-listed");
      const promote = await runCli(["admin", "promote", `--broker=${dead.hostPort},${broker.hostPort}`]);
      expect(promote.exitCode).toBe(1);
      expect(promote.stderr).toBe("error: --broker must name exactly one broker to promote\n");
    },
    TEST_TIMEOUT_MS,
  );
});

/**
 * Offsets of one partition delivered to one consumer rise by one each time,
 * except where the consumer went back to its group's committed offset after
 * a restart: at most `restarts` times, and never further back than the one
 * batch (at most `batchMax` records) it had not acknowledged.
 */
function expectRewindsOnlyToCommitted(offsets: number[], restarts: number, batchMax: number): void {
  let rewinds = 0;
  for (let index = 1; index < offsets.length; index++) {
    const step = offsets[index]! - offsets[index - 1]!;
    if (step === 1) continue;
    rewinds++;
    expect(step).toBeLessThanOrEqual(0);
    expect(-step).toBeLessThan(batchMax);
  }
  expect(rewinds).toBeLessThanOrEqual(restarts);
}

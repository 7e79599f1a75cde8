import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin, GafkaClientError, GroupConsumer, type ConsumerRecord, type FetchFunction, type GroupDescription } from "../src/client/index.ts";
import { cleanupAll, printedRecords, runCli, spawnCli, startBrokerProcess, type BrokerProcess, type CliResult } from "./helpers/broker-process.ts";
import { postJson, waitFor } from "./helpers/http.ts";

/**
 * Consumer groups end to end: `gafka consume --group` processes, SDK group
 * consumers and `gafka admin groups` against a broker process. Every wait is
 * a bounded condition; nothing is timed.
 */

let broker: BrokerProcess;
let admin: Admin;

beforeAll(async () => {
  broker = await startBrokerProcess();
  admin = new Admin({ broker: broker.hostPort });
});

afterAll(cleanupAll);

/** Appends `values` to one partition in a single batch. */
async function produce(topic: string, partition: number, values: string[]): Promise<void> {
  const { status, body } = await postJson(`${broker.url}/api/v1/produce`, { topic, records: values.map((value) => ({ partition, value })) });
  if (status !== 200) throw new Error(`produce answered ${status}: ${JSON.stringify(body)}`);
}

const range = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

function expectSuccess(result: CliResult): void {
  if (result.exitCode !== 0 || result.timedOut) {
    throw new Error(`exit ${result.exitCode}${result.timedOut ? " (timed out)" : ""}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** Members and what each owns, e.g. `{a: ["t-0"], b: ["t-1"]}`. */
function owners(group: GroupDescription): Record<string, string[]> {
  return Object.fromEntries(group.members.map((member) => [member.consumerId, member.assignment.map((tp) => `${tp.topic}-${tp.partition}`)]));
}

async function waitForOwners(groupId: string, expected: (owned: Record<string, string[]>) => boolean, what: string): Promise<Record<string, string[]>> {
  let last: Record<string, string[]> = {};
  const current = async () => {
    try {
      return owners(await admin.describeGroup(groupId));
    } catch (error) {
      if (error instanceof GafkaClientError && error.code === "group_not_found") return {}; // nobody joined yet
      throw error;
    }
  };
  await waitFor(async () => {
    last = await current();
    return expected(last);
  }, `${what}`, 20_000).catch((error: Error) => {
    throw new Error(`${error.message} (last seen ${JSON.stringify(last)})`);
  });
  return last;
}

describe("gafka consume --group", () => {
  test("two processes split a 2-partition topic; Ctrl-C on one hands its partition to the other at once", async () => {
    await admin.createTopic({ name: "split", partitions: 2 });
    // A session far longer than any wait below: the hand-over can only come from leaving.
    const member = (id: string) =>
      spawnCli(["consume", "--topic=split", "--group=split-group", `--consumer-id=${id}`, "--session-timeout=60s", "--json", `--broker=${broker.hostPort}`]);
    const a = member("a");
    const b = member("b");
    const split = await waitForOwners("split-group", (owned) => owned.a?.length === 1 && owned.b?.length === 1, "a and b to own one partition each");

    await produce("split", 0, range("p0", 20));
    await produce("split", 1, range("p1", 20));
    await waitFor(() => printedRecords(a).length + printedRecords(b).length >= 40, "the 40 records to be printed", 20_000);
    const both = [...printedRecords(a), ...printedRecords(b)];
    expect(both).toHaveLength(40); // each record printed by exactly one of them
    expect(new Set(both.map((record) => record.value)).size).toBe(40);
    expect([...new Set(printedRecords(a).map((record) => `split-${record.partition}`))]).toEqual(split.a!);
    expect([...new Set(printedRecords(b).map((record) => `split-${record.partition}`))]).toEqual(split.b!);

    a.process.kill("SIGINT");
    expectSuccess(await a.result);
    // a left before it exited: b owns both partitions now, not a session timeout later.
    expect(owners(await admin.describeGroup("split-group"))).toEqual({ b: ["split-0", "split-1"] });

    await produce("split", 0, range("after-p0", 10));
    await produce("split", 1, range("after-p1", 10));
    await waitFor(() => printedRecords(b).filter((record) => record.value.startsWith("after-")).length >= 20, "b to print the 20 later records", 20_000);
    const all = [...printedRecords(a), ...printedRecords(b)];
    expect(all).toHaveLength(60); // a committed what it printed: b repeats none of it
    for (const partition of [0, 1]) {
      expect(printedRecords(b).filter((record) => record.partition === partition && record.value.startsWith("after-")).map((record) => record.offset)).toEqual(
        range("", 10).map((_, index) => 20 + index),
      );
    }
    b.process.kill("SIGTERM");
    expectSuccess(await b.result);
    expect((await admin.describeGroup("split-group")).members).toEqual([]);
  });

  test("--count stops after that many records and commits them; the next run continues from there", async () => {
    await admin.createTopic({ name: "counted" });
    await produce("counted", 0, range("c", 10));
    const run = () => runCli(["consume", "--topic=counted", "--group=counted-group", "--count=4", "--json", `--broker=${broker.hostPort}`]);
    const first = await run();
    expectSuccess(first);
    const second = await run();
    expectSuccess(second);
    const offsets = (result: CliResult) => result.stdout.trim().split("\n").map((line) => JSON.parse(line).offset);
    expect(offsets(first)).toEqual([0, 1, 2, 3]);
    expect(offsets(second)).toEqual([4, 5, 6, 7]);
    expect((await admin.describeGroup("counted-group")).partitions).toEqual([
      { topic: "counted", partition: 0, committedOffset: 8, logStartOffset: 0, belowLogStart: false, logEndOffset: 10, lag: 2, owner: null },
    ]);
  });

  test("partition-mode flags are refused with --group, and group flags without it", async () => {
    const withPartition = await runCli(["consume", "--topic=counted", "--group=g", "--partition=0", `--broker=${broker.hostPort}`]);
    expect(withPartition.exitCode).toBe(1);
    expect(withPartition.stderr).toContain("error: --partition does not apply with --group");
    const withoutGroup = await runCli(["consume", "--topic=counted", "--consumer-id=x", `--broker=${broker.hostPort}`]);
    expect(withoutGroup.exitCode).toBe(1);
    expect(withoutGroup.stderr).toContain("error: --consumer-id needs --group");
  });
});

/**
 * A fetch that can be cut off like a frozen process: once cut, requests in
 * flight and every later one hang (no heartbeat, no poll, no leave reaches
 * the broker) until the caller aborts them.
 */
function cuttableFetch(): { fetch: FetchFunction; cut(): void } {
  const inFlight = new Set<AbortController>();
  let isCut = false;
  const hang = (signal: AbortSignal | null | undefined) =>
    new Promise<Response>((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true }));
  return {
    fetch: async (url, init) => {
      if (isCut) return hang(init.signal);
      const controller = new AbortController();
      inFlight.add(controller);
      const signal = init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
      try {
        const response = await fetch(url, { ...init, signal });
        const body = await response.arrayBuffer(); // read here, so a cut mid-body hangs too
        return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
      } catch (error) {
        if (isCut) return hang(init.signal);
        throw error;
      } finally {
        inFlight.delete(controller);
      }
    },
    cut() {
      isCut = true;
      for (const controller of inFlight) controller.abort(); // the broker sees the connections close
    },
  };
}

describe("SDK group consumers", () => {
  test("a member that stops heartbeating loses its partition after the session timeout; every record is consumed, in order", async () => {
    await admin.createTopic({ name: "failover", partitions: 2 });
    await produce("failover", 0, range("before-p0", 10));
    await produce("failover", 1, range("before-p1", 10));

    const frozen = cuttableFetch();
    const options = { broker: broker.hostPort, groupId: "failover-group", topics: ["failover"], sessionTimeoutMs: 1_000, maxRecords: 3 };
    const a = new GroupConsumer({ ...options, consumerId: "a", fetch: frozen.fetch });
    const b = new GroupConsumer({ ...options, consumerId: "b" });
    // Both join before either reads, so neither is handed a partition that then moves away.
    await a.join();
    await b.join();
    const received = { a: [] as ConsumerRecord[][], b: [] as ConsumerRecord[][] };
    const loop = async (consumer: GroupConsumer, batches: ConsumerRecord[][]) => {
      for await (const batch of consumer) batches.push(batch);
    };
    const loops = [loop(a, received.a), loop(b, received.b)];
    const flat = (who: "a" | "b") => received[who].flat();
    const union = () => new Set([...flat("a"), ...flat("b")].map((record) => `${record.partition}/${record.offset}`));

    await waitFor(() => union().size >= 20, "the records produced before to be consumed", 20_000);
    const aOwned = a.membership()!.assignment.map((tp) => tp.partition);
    expect(aOwned).toHaveLength(1);
    expect(flat("a").length).toBeGreaterThan(0);
    frozen.cut();
    await produce("failover", 0, range("during-p0", 10));
    await produce("failover", 1, range("during-p1", 10));
    await waitForOwners("failover-group", (owned) => JSON.stringify(owned) === JSON.stringify({ b: ["failover-0", "failover-1"] }), "b to own both partitions");
    await produce("failover", 0, range("after-p0", 10));
    await produce("failover", 1, range("after-p1", 10));
    await waitFor(() => union().size >= 60, "all 60 records to be consumed", 20_000);

    // At least once: every offset of both partitions reached someone.
    for (const partition of [0, 1]) {
      for (let offset = 0; offset < 30; offset++) expect(union().has(`${partition}/${offset}`)).toBe(true);
    }
    // In order: each member saw each partition's offsets strictly rising.
    for (const who of ["a", "b"] as const) {
      for (const partition of [0, 1]) {
        const offsets = flat(who).filter((record) => record.partition === partition).map((record) => record.offset);
        expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
        expect(new Set(offsets).size).toBe(offsets.length);
      }
    }
    // The only records both saw are from a's last batch, which a never acknowledged.
    const seenByB = new Set(flat("b").map((record) => `${record.partition}/${record.offset}`));
    const twice = flat("a").filter((record) => seenByB.has(`${record.partition}/${record.offset}`));
    const lastOfA = new Set((received.a.at(-1) ?? []).map((record) => `${record.partition}/${record.offset}`));
    for (const record of twice) expect(lastOfA.has(`${record.partition}/${record.offset}`)).toBe(true);
    expect(flat("b").filter((record) => aOwned.includes(record.partition)).some((record) => record.value?.startsWith("after-"))).toBe(true);

    await b.close();
    await a.close(); // its leave hangs on the cut fetch until the session-timeout bound ends it
    await Promise.all(loops);
  });
});

describe("gafka admin groups", () => {
  test("list, describe, reset-offsets and delete, laid out like kafka-consumer-groups", async () => {
    const cli = (...args: string[]) => runCli(["admin", "groups", ...args, `--broker=${broker.hostPort}`]);
    await admin.createTopic({ name: "adm", partitions: 2 });
    await produce("adm", 0, range("p0", 5));
    await produce("adm", 1, range("p1", 3));
    // One member takes 3 from each partition (the broker shares a poll's count fairly), commits them and leaves.
    expectSuccess(await runCli(["consume", "--topic=adm", "--group=adm-group", "--consumer-id=one", "--count=6", `--broker=${broker.hostPort}`]));

    const listed = await cli("list");
    expectSuccess(listed);
    expect(listed.stdout).toMatch(/^GROUP\s+STATE\s+GENERATION\s+MEMBERS\n/);
    expect(listed.stdout).toMatch(/^adm-group\s+empty\s+2\s+0$/m);

    const described = await cli("describe", "--group=adm-group");
    expectSuccess(described);
    expect(described.stdout).toBe(
      [
        "group adm-group: empty, generation 2, assignor round-robin, no active members",
        "",
        "TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID",
        "adm    0          3               5               2    -",
        "adm    1          3               3               0    -",
        "",
      ].join("\n"),
    );

    // With a live member: it owns both partitions, and a reset is refused.
    const live = spawnCli(["consume", "--topic=adm", "--group=adm-group", "--consumer-id=live", "--session-timeout=60s", `--broker=${broker.hostPort}`]);
    await live.waitForStdout(/offset=4 /);
    const withMember = await cli("describe", "--group=adm-group");
    expect(withMember.stdout).toStartWith("group adm-group: stable, generation 3, assignor round-robin, 1 member\n");
    expect(withMember.stdout).toMatch(/^adm\s+0\s+\d+\s+5\s+\d+\s+live$/m);
    expect(withMember.stdout).toMatch(/^adm\s+1\s+3\s+3\s+0\s+live$/m);
    const members = await cli("describe", "--group=adm-group", "--members");
    expect(members.stdout).toMatch(/^CONSUMER-ID\s+TOPICS\s+#PARTITIONS\s+ASSIGNMENT\s+SESSION-TIMEOUT-MS\s+LAST-HEARTBEAT$/m);
    expect(members.stdout).toMatch(/^live\s+adm\s+2\s+adm-0,adm-1\s+60000\s+\d{4}-\d\d-\d\dT/m);
    const refused = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--to-earliest");
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toBe("error: group 'adm-group' has live members; stop them before you reset its offsets\n");
    live.process.kill("SIGINT");
    expectSuccess(await live.result);

    // --json speaks the HTTP API's names, field for field.
    const json = JSON.parse((await cli("describe", "--group=adm-group", "--json")).stdout);
    const overHttp = await (await fetch(`${broker.url}/api/v1/consumer-groups/adm-group/status`)).json();
    expect(json).toEqual(overHttp);
    expect(json).toMatchObject({ group_id: "adm-group", state: "empty", assignor: "round-robin", members: [] });
    expect(json.partitions).toEqual([
      { topic: "adm", partition: 0, committed_offset: 5, log_start_offset: 0, below_log_start: false, log_end_offset: 5, lag: 0, owner: null },
      { topic: "adm", partition: 1, committed_offset: 3, log_start_offset: 0, below_log_start: false, log_end_offset: 3, lag: 0, owner: null },
    ]);
    const listedJson = JSON.parse((await cli("list", "--json")).stdout);
    expect(listedJson).toEqual(((await (await fetch(`${broker.url}/api/v1/consumer-groups`)).json()) as { groups: unknown[] }).groups);
    expect(listedJson).toContainEqual({ group_id: "adm-group", state: "empty", generation: expect.any(Number), members: 0 });

    const earliest = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--to-earliest");
    expectSuccess(earliest);
    expect(earliest.stdout).toBe(
      ["GROUP      TOPIC  PARTITION  NEW-OFFSET", "adm-group  adm    0          0", "adm-group  adm    1          0", ""].join("\n"),
    );
    const one = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--partitions=1", "--to-offset=2", "--json");
    expect(JSON.parse(one.stdout)).toEqual([{ topic: "adm", partition: 1, offset: 2 }]);
    // Past the log end, as kafka-consumer-groups does: set to the log end, and say so.
    const beyond = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--to-offset=100");
    expectSuccess(beyond);
    expect(beyond.stdout).toBe(
      ["GROUP      TOPIC  PARTITION  NEW-OFFSET", "adm-group  adm    0          5", "adm-group  adm    1          3", ""].join("\n"),
    );
    expect(beyond.stderr).toBe(
      [
        "warning: offset 100 is past the log end of adm-0; set to the log end, 5",
        "warning: offset 100 is past the log end of adm-1; set to the log end, 3",
        "",
      ].join("\n"),
    );
    const beyondOne = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--partitions=1", "--to-offset=4", "--json");
    expect(JSON.parse(beyondOne.stdout)).toEqual([{ topic: "adm", partition: 1, offset: 3 }]);
    expect(beyondOne.stderr).toBe("warning: offset 4 is past the log end of adm-1; set to the log end, 3\n");
    const within = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--partitions=1", "--to-offset=3");
    expect(within.stderr).toBe("");
    const latest = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--to-latest", "--json");
    expect(JSON.parse(latest.stdout)).toEqual([
      { topic: "adm", partition: 0, offset: 5 },
      { topic: "adm", partition: 1, offset: 3 },
    ]);
    const past = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--to-datetime=2000-01-01T00:00:00Z", "--json");
    expect(JSON.parse(past.stdout).map((offset: { offset: number }) => offset.offset)).toEqual([0, 0]);

    const noTarget = await cli("reset-offsets", "--group=adm-group", "--topic=adm");
    expect(noTarget.exitCode).toBe(1);
    expect(noTarget.stderr).toBe("error: give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO\n");
    const badDate = await cli("reset-offsets", "--group=adm-group", "--topic=adm", "--to-datetime=yesterday");
    expect(badDate.exitCode).toBe(1);
    expect(badDate.stderr).toStartWith("error: --to-datetime must be a date and time");

    const deleted = await cli("delete", "--group=adm-group");
    expectSuccess(deleted);
    expect(deleted.stdout).toBe("deleted group adm-group\n");
    const after = await cli("list", "--json");
    expect(JSON.parse(after.stdout).map((group: { group_id: string }) => group.group_id)).not.toContain("adm-group");
    const unknown = await cli("describe", "--group=adm-group");
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe("error: group 'adm-group' does not exist\n");
  });
});

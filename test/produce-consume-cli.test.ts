import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanupAll, runCli, spawnCli, startBrokerProcess, type BrokerProcess, type CliResult } from "./helpers/broker-process.ts";
import { postJson } from "./helpers/http.ts";

/**
 * `gafka produce` and `gafka consume` as a user drives them: a topic's every
 * partition read without --partition, acknowledgements printed as they come
 * back (and on Ctrl-C), --json in the HTTP API's names, duration flags with
 * units. Real processes against a real broker; every wait is a bounded
 * condition.
 */

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBrokerProcess({ args: ["--fsync", "never"] });
});

afterAll(cleanupAll);

function expectSuccess(result: CliResult): void {
  if (result.exitCode !== 0 || result.timedOut) {
    throw new Error(`exit ${result.exitCode}${result.timedOut ? " (timed out)" : ""}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const { status, body } = await postJson(`${broker.url}/api/v1/topics`, { name, partitions });
  if (status !== 201 && status !== 200) throw new Error(`create topic answered ${status}: ${JSON.stringify(body)}`);
}

async function produce(topic: string, partition: number, values: string[]): Promise<void> {
  const { status, body } = await postJson(`${broker.url}/api/v1/produce`, { topic, records: values.map((value) => ({ partition, value })) });
  if (status !== 200) throw new Error(`produce answered ${status}: ${JSON.stringify(body)}`);
}

describe("gafka consume without --partition", () => {
  test("reads every partition, in offset order within each", async () => {
    await createTopic("spread", 3);
    for (const partition of [0, 1, 2]) await produce("spread", partition, [`p${partition}-a`, `p${partition}-b`, `p${partition}-c`]);

    const result = await runCli(["consume", "--topic=spread", "--count=9", "--json", `--broker=${broker.hostPort}`]);
    expectSuccess(result);
    const records = lines(result.stdout).map((line) => JSON.parse(line) as { partition: number; offset: number; value: string });
    expect(records).toHaveLength(9);
    for (const partition of [0, 1, 2]) {
      const own = records.filter((record) => record.partition === partition);
      expect(own.map((record) => [record.offset, record.value])).toEqual([
        [0, `p${partition}-a`],
        [1, `p${partition}-b`],
        [2, `p${partition}-c`],
      ]);
    }
  });

  test("follows new records on every partition until --timeout; --partition narrows it to one", async () => {
    await createTopic("spread-follow", 2);
    const follower = spawnCli(["consume", "--topic=spread-follow", "--offset=latest", "--timeout=20s", `--broker=${broker.hostPort}`]);
    // The follower may start polling after these; it is resent until it shows (latest is where it starts).
    let round = 0;
    const deadline = performance.now() + 20_000;
    while (!/partition=1 offset=\d+ value=late-1\n/.test(follower.stdout()) || !/partition=0 offset=\d+ value=late-0\n/.test(follower.stdout())) {
      if (performance.now() > deadline) throw new Error(`the follower printed no record of both partitions\nstdout:\n${follower.stdout()}`);
      if (round++ % 20 === 0) {
        await produce("spread-follow", 0, ["late-0"]);
        await produce("spread-follow", 1, ["late-1"]);
      }
      await Bun.sleep(25);
    }
    follower.process.kill("SIGINT");
    expectSuccess(await follower.result);

    const narrowed = await runCli(["consume", "--topic=spread-follow", "--partition=1", "--timeout=300ms", `--broker=${broker.hostPort}`]);
    expectSuccess(narrowed);
    expect(lines(narrowed.stdout).length).toBeGreaterThan(0);
    expect(lines(narrowed.stdout).every((line) => line.startsWith("partition=1 "))).toBe(true);
  });

  test("an offset number needs --partition; an unknown topic is named", async () => {
    const offset = await runCli(["consume", "--topic=spread", "--offset=2", `--broker=${broker.hostPort}`]);
    expect(offset.exitCode).toBe(1);
    expect(offset.stderr).toContain("error: --offset N needs --partition");
    const unknown = await runCli(["consume", "--topic=no-such-topic", "--timeout=300ms", `--broker=${broker.hostPort}`]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe("error: topic 'no-such-topic' does not exist\n");
  });
});

describe("gafka produce from stdin", () => {
  test("prints each acknowledgement as it comes back, before the input ends", async () => {
    await createTopic("acks", 1);
    const producer = spawnCli(["produce", "--topic=acks", `--broker=${broker.hostPort}`], { stdin: "pipe" });
    producer.writeStdin("first\n");
    // stdin is still open: the answer to the first line must show by itself.
    await producer.waitForStdout(/^partition=0 offset=0\n$/);
    producer.writeStdin("second\n");
    await producer.waitForStdout(/^partition=0 offset=0\npartition=0 offset=1\n$/);
    producer.endStdin();
    const result = await producer.result;
    expectSuccess(result);
    expect(result.stdout).toBe("partition=0 offset=0\npartition=0 offset=1\n");
  });

  /** Waits until the broker holds `count` records in the topic's partition 0. */
  async function waitForStored(topic: string, count: number): Promise<void> {
    const deadline = performance.now() + 20_000;
    for (;;) {
      const described = (await (await fetch(`${broker.url}/api/v1/topics/${topic}`)).json()) as { partitions: { next_offset: number }[] };
      if (described.partitions[0]!.next_offset >= count) return;
      if (performance.now() > deadline) throw new Error(`${topic} does not hold ${count} records`);
      await Bun.sleep(20);
    }
  }

  test("Ctrl-C prints what was acknowledged and exits 130", async () => {
    await createTopic("interrupted", 1);
    const producer = spawnCli(["produce", "--topic=interrupted", `--broker=${broker.hostPort}`], { stdin: "pipe" });
    producer.writeStdin("one\ntwo\nthree\n");
    await waitForStored("interrupted", 3);
    producer.process.kill("SIGINT"); // stdin still open
    const result = await producer.result;
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("partition=0 offset=0\npartition=0 offset=1\npartition=0 offset=2\n");
  });

  test("Ctrl-C with --quiet prints the summary of what was acknowledged", async () => {
    await createTopic("interrupted-quiet", 1);
    const producer = spawnCli(["produce", "--topic=interrupted-quiet", "--quiet", `--broker=${broker.hostPort}`], { stdin: "pipe" });
    producer.writeStdin("one\ntwo\n");
    await waitForStored("interrupted-quiet", 2);
    producer.process.kill("SIGINT");
    const result = await producer.result;
    expect(result.exitCode).toBe(130);
    expect(result.stdout).toBe("sent 2 messages to interrupted-quiet (partitions 0)\n");
  });
});

describe("--json speaks the HTTP API's names", () => {
  test("produce --json prints what POST /api/v1/produce answers, one line per record", async () => {
    await createTopic("produced-json", 2);
    const single = await runCli(["produce", "--topic=produced-json", "--partition=1", "--message=hello", "--json", `--broker=${broker.hostPort}`]);
    expectSuccess(single);
    const answer = JSON.parse(single.stdout);
    expect(answer).toEqual({ topic: "produced-json", partition: 1, offset: 0, timestamp: expect.any(Number) });
    // The same fields as the HTTP API's answer to a one-record produce.
    const overHttp = await postJson(`${broker.url}/api/v1/produce`, { topic: "produced-json", partition: 1, value: "again" });
    expect(Object.keys(answer).sort()).toEqual(Object.keys(overHttp.body as object).sort());

    const many = await runCli(["produce", "--topic=produced-json", "--partition=0", "--json", `--broker=${broker.hostPort}`], { stdin: "a\nb\n" });
    expectSuccess(many);
    expect(lines(many.stdout).map((line) => JSON.parse(line).offset)).toEqual([0, 1]);
    const quiet = await runCli(["produce", "--topic=produced-json", "--partition=0", "--json", "--quiet", `--broker=${broker.hostPort}`], { stdin: "c\n" });
    expectSuccess(quiet);
    expect(JSON.parse(quiet.stdout)).toEqual({ topic: "produced-json", sent: 1, partitions: [0] });
  });
});

describe("duration flags take a unit", () => {
  test("a bare number is refused with the flag's name and the form it takes", async () => {
    const cases: [string[], string][] = [
      [["consume", "--topic=spread", "--group=g-bare", "--session-timeout=10"], "--session-timeout"],
      [["consume", "--topic=spread", "--timeout=500"], "--timeout"],
      [["bench", "consume", "--topic=spread", "--idle-timeout=300"], "--idle-timeout"],
      [["bench", "produce", "--topic=spread", "--duration=5"], "--duration"],
    ];
    for (const [args, flag] of cases) {
      const result = await runCli([...args, `--broker=${broker.hostPort}`]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^error: ${flag} needs a unit: a duration such as \\d+s or \\d+ms \\(units ms, s, m, h\\), not '\\d+'\\n$`));
    }
    // Nothing was joined: the refusal came before any request.
    const groups = (await (await fetch(`${broker.url}/api/v1/consumer-groups`)).json()) as { groups: { group_id: string }[] };
    expect(groups.groups.map((group) => group.group_id)).not.toContain("g-bare");

    const brokerRefused = await runCli(["broker", "--port=0", "--data-dir=/nonexistent/never-made", "--replica-lag-max=10000"]);
    expect(brokerRefused.exitCode).toBe(1);
    expect(brokerRefused.stderr).toContain("error: --replica-lag-max needs a unit");
  });

  test("with a unit the flag is read in it, and its bounds are named in the flag's terms", async () => {
    const tooShort = await runCli(["consume", "--topic=spread", "--group=g-short", "--session-timeout=10ms", `--broker=${broker.hostPort}`]);
    expect(tooShort.exitCode).toBe(1);
    expect(tooShort.stderr).toBe("error: --session-timeout must be from 100ms to 300000ms, not '10ms'\n");

    const member = spawnCli(["consume", "--topic=spread", "--group=g-units", "--consumer-id=m", "--session-timeout=2m", `--broker=${broker.hostPort}`]);
    await member.waitForStdout(/offset=0 /);
    const status = (await (await fetch(`${broker.url}/api/v1/consumer-groups/g-units/status`)).json()) as { members: { session_timeout_ms: number }[] };
    expect(status.members.map((m) => m.session_timeout_ms)).toEqual([120_000]);
    member.process.kill("SIGINT");
    expectSuccess(await member.result);
  });
});

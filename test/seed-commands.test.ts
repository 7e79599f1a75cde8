import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { partitionForKey } from "../src/protocol/partitioner.ts";
import packageJson from "../package.json" with { type: "json" };
import { cleanupAll, runCli, spawnCli, startBrokerProcess, type BrokerProcess, type CliResult } from "./helpers/broker-process.ts";

/**
 * spec/seed.md §5, this part, run as written against a broker the
 * test starts (`bun src/main.ts`, or GAFKA_BIN=bin/gafka): start a broker,
 * create a topic, produce by CLI and curl, consume by offset. Only the port
 * and data dir differ from the seed's text.
 */

let broker: BrokerProcess;
/** The seed writes `localhost:9001`; the broker listens on 127.0.0.1 and a free port. */
let seedBroker: string;

beforeAll(async () => {
  // The seed: gafka broker --id=1 --port=9001 --data-dir=/tmp/gafka-1 --role=leader
  broker = await startBrokerProcess({ args: ["--id=1", "--role=leader"] });
  seedBroker = `localhost:${broker.port}`;
});

afterAll(cleanupAll);

const utf8 = new TextEncoder();
const seedKeyPartition = () => partitionForKey(utf8.encode("user123"), 2);

function expectOk(result: CliResult): string {
  expectSuccess(result);
  return result.stdout;
}

function expectSuccess(result: CliResult): void {
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** Runs a shell command line as a user would type it (real curl from PATH). */
async function shell(commandLine: string): Promise<CliResult> {
  const child = Bun.spawn(["sh", "-c", commandLine], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr, timedOut: false };
}

describe("the seed's commands", () => {
  test("gafka admin create-topic --name=test-topic --partitions=2 --broker=localhost:9001", async () => {
    const result = await runCli(["admin", "create-topic", "--name=test-topic", "--partitions=2", `--broker=${seedBroker}`]);
    expectSuccess(result);
    expect(result.stdout).toBe("created topic test-topic with 2 partitions\n");
  });

  test('gafka produce --topic=test-topic --broker=localhost:9001 --message="Hello World" --key="user123"', async () => {
    const result = await runCli(["produce", "--topic=test-topic", `--broker=${seedBroker}`, "--message=Hello World", "--key=user123"]);
    expectSuccess(result);
    expect(result.stdout).toMatch(/^partition=\d+ offset=\d+\n$/);
    expect(result.stdout).toStartWith(`partition=${seedKeyPartition()} `);
  });

  test("gafka producer (the seed's binary name) is the same command", async () => {
    const result = await runCli(["producer", "--topic=test-topic", `--broker=${seedBroker}`, "--message=Hello again", "--key=user123"]);
    expectSuccess(result);
    expect(result.stdout).toStartWith(`partition=${seedKeyPartition()} `);
  });

  test("gafka produce without --message sends every line of stdin", async () => {
    const result = await runCli(["produce", "--topic=test-topic", `--broker=${seedBroker}`, "--key=user123", "--header", "source=stdin"], {
      stdin: "first line\nsecond line\n\nfourth line",
    });
    expectSuccess(result);
    const landed = lines(result.stdout).map((line) => /^partition=(\d+) offset=(\d+)$/.exec(line));
    expect(landed.length).toBe(4);
    const offsets = landed.map((match) => Number(match![2]));
    expect(landed.every((match) => Number(match![1]) === seedKeyPartition())).toBe(true);
    expect(offsets).toEqual(offsets.map((_, index) => offsets[0]! + index));
  });

  test("gafka produce --quiet prints a summary", async () => {
    const result = await runCli(["produce", "--topic=test-topic", `--broker=${seedBroker}`, "--partition=0", "--quiet"], {
      stdin: Array.from({ length: 250 }, (_, index) => `line ${index}`).join("\n"),
    });
    expectSuccess(result);
    expect(result.stdout).toBe("sent 250 messages to test-topic (partitions 0)\n");
  });

  test("the seed's curl produce works as written", async () => {
    const result = await shell(
      `curl -X POST http://localhost:${broker.port}/api/v1/produce \\
  -H "Content-Type: application/json" \\
  -d '{"topic":"test-topic","key":"user123","value":"Hello World"}'`,
    );
    expect(result.exitCode).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer).toMatchObject({ topic: "test-topic", partition: seedKeyPartition() });
    expect(typeof answer.offset).toBe("number");
    expect(typeof answer.timestamp).toBe("number");
  });

  test("the seed's curl consume by offset (offset=100, count=10) works as written", async () => {
    // Give partition 0 more than 110 records so offset=100 is inside it.
    const fill = await runCli(["produce", "--topic=test-topic", `--broker=${seedBroker}`, "--partition=0", "--quiet"], {
      stdin: Array.from({ length: 120 }, (_, index) => `fill ${index}`).join("\n"),
    });
    expectSuccess(fill);
    const result = await shell(
      `curl "http://localhost:${broker.port}/api/v1/consume?topic=test-topic&partition=0&offset=100&count=10&timeout=30s"`,
    );
    expect(result.exitCode).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer.topic).toBe("test-topic");
    expect(answer.partition).toBe(0);
    expect(answer.records.map((record: { offset: number }) => record.offset)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect(answer.next_offset).toBe(110);
    expect(answer.high_watermark).toBeGreaterThanOrEqual(110);
  });

  test("gafka consume --topic=test-topic --partition=N --offset=0 prints what was produced, in order", async () => {
    const partition = seedKeyPartition();
    const result = await runCli(["consume", "--topic=test-topic", `--partition=${partition}`, "--offset=0", `--broker=${seedBroker}`, "--timeout=1s"]);
    expectSuccess(result);
    const printed = lines(result.stdout);
    expect(printed[0]).toBe(`partition=${partition} offset=0 key=user123 value=Hello World`);
    expect(printed[1]).toBe(`partition=${partition} offset=1 key=user123 value=Hello again`);
    expect(printed[2]).toBe(`partition=${partition} offset=2 key=user123 headers={"source":"stdin"} value=first line`);
    expect(printed[4]).toBe(`partition=${partition} offset=4 key=user123 headers={"source":"stdin"} value=`);
    expect(printed.at(-1)).toBe(`partition=${partition} offset=${printed.length - 1} key=user123 value=Hello World`);
  });

  test("gafka consumer --json --count prints one JSON object per line and stops", async () => {
    const result = await runCli(["consumer", "--topic=test-topic", "--partition=0", "--offset=100", "--count=3", "--json", `--broker=${seedBroker}`]);
    expectSuccess(result);
    const records = lines(result.stdout).map((line) => JSON.parse(line));
    expect(records.map((record) => record.offset)).toEqual([100, 101, 102]);
    expect(records[0]).toMatchObject({ topic: "test-topic", partition: 0, key: null, headers: {} });
    expect(typeof records[0].value).toBe("string");
    expect(typeof records[0].timestamp).toBe("number");
  });

  test("gafka consume follows new records with long polls", async () => {
    const described = await runCli(["admin", "describe-topic", "--name=test-topic", "--json", `--broker=${seedBroker}`]);
    expectSuccess(described);
    const end = JSON.parse(described.stdout).partitions[1].next_offset as number;
    const follower = spawnCli(["consume", "--topic=test-topic", "--partition=1", `--offset=${end}`, "--count=2", `--broker=${seedBroker}`]);
    expectSuccess(await runCli(["produce", "--topic=test-topic", "--partition=1", "--message=live one", `--broker=${seedBroker}`]));
    // The consumer has printed the first record and is still running: the second reaches it by following.
    await follower.waitForStdout(/live one\n/);
    expectSuccess(await runCli(["produce", "--topic=test-topic", "--partition=1", "--message=live two", `--broker=${seedBroker}`]));
    const result = await follower.result;
    expectSuccess(result);
    expect(lines(result.stdout)).toEqual([`partition=1 offset=${end} value=live one`, `partition=1 offset=${end + 1} value=live two`]);
  });

  test("Ctrl-C ends a following gafka consume cleanly", async () => {
    const follower = spawnCli(["consume", "--topic=test-topic", "--partition=0", "--offset=0", `--broker=${seedBroker}`]);
    await follower.waitForStdout(/offset=0 /);
    follower.process.kill("SIGINT");
    const result = await follower.result;
    expectSuccess(result);
    expect(result.timedOut).toBe(false);
  });

  test("gafka consume --timeout ends once a poll of that length brings nothing", async () => {
    const result = await runCli(["consume", "--topic=test-topic", "--partition=1", "--offset=latest", "--timeout=300ms", `--broker=${seedBroker}`]);
    expectSuccess(result);
    expect(result.stdout).toBe("");
  });

  test("gafka consumer --topic=test-topic --group=test-group --broker=localhost:9001 --timeout=30s", async () => {
    const topic = (await (await fetch(`${broker.url}/api/v1/topics/test-topic`)).json()) as { partitions: { next_offset: number }[] };
    const total = topic.partitions.reduce((sum, partition) => sum + partition.next_offset, 0);
    expect(total).toBeGreaterThan(0);
    // The only member owns both partitions and prints every record; Ctrl-C commits them and leaves.
    const member = spawnCli(["consumer", "--topic=test-topic", "--group=test-group", `--broker=${seedBroker}`, "--timeout=30s"]);
    await member.waitForStdout(new RegExp(`^(partition=\\d+ offset=\\d+ .*\\n){${total}}$`));
    member.process.kill("SIGINT");
    const result = await member.result;
    expectSuccess(result);
    const status = (await (await fetch(`${broker.url}/api/v1/consumer-groups/test-group/status`)).json()) as any;
    expect(status.members).toEqual([]);
    expect(status.partitions.map((partition: any) => partition.committed_offset)).toEqual(topic.partitions.map((partition) => partition.next_offset));
  });

  test("gafka broker --id=2 --port=9002 --data-dir=/tmp/gafka-2 --role=follower --leader=localhost:9001 replicates", async () => {
    const follower = await startBrokerProcess({ args: ["--id=2", "--role=follower", `--leader=${seedBroker}`] });
    try {
      const onLeader = JSON.parse(expectOk(await runCli(["admin", "describe-topic", "--name=test-topic", "--json", `--broker=${seedBroker}`])));
      const deadline = Date.now() + 30_000;
      let onFollower: any;
      do {
        await Bun.sleep(20);
        const described = await runCli(["admin", "describe-topic", "--name=test-topic", "--json", `--broker=${follower.hostPort}`]);
        onFollower = described.exitCode === 0 ? JSON.parse(described.stdout) : undefined;
      } while (JSON.stringify(onFollower?.partitions) !== JSON.stringify(onLeader.partitions) && Date.now() < deadline);
      expect(onFollower.partitions).toEqual(onLeader.partitions);
      // Writes go to the leader: the CLI follows the follower's 421 once.
      const produced = await runCli(["produce", "--topic=test-topic", "--message=via the follower", `--broker=${follower.hostPort}`]);
      expect(produced.exitCode).toBe(0);
    } finally {
      await follower.stop(); // cleanly: it leaves the leader's in-sync set at once
      await follower.cleanup();
    }
    // Refused before anything is created: the data dir is never made.
    const neverMade = `${process.env.TMPDIR ?? "/tmp"}/gafka-never-made-${crypto.randomUUID()}`;
    const missing = await runCli(["broker", "--id=3", "--port=0", `--data-dir=${neverMade}`, "--role=follower"]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("error: --role=follower needs --leader=host:port");
  });
});

describe("admin", () => {
  test("list-topics, describe-topic and delete-topic", async () => {
    expectSuccess(await runCli(["admin", "create-topic", "--name=scratch", `--broker=${seedBroker}`]));
    const listed = await runCli(["admin", "list-topics", `--broker=${seedBroker}`]);
    expectSuccess(listed);
    expect(lines(listed.stdout)[0]).toMatch(/^TOPIC\s+PARTITIONS$/);
    expect(listed.stdout).toMatch(/^test-topic\s+2$/m);
    expect(listed.stdout).toMatch(/^scratch\s+1$/m);

    const described = await runCli(["admin", "describe-topic", "--name=test-topic", `--broker=${seedBroker}`]);
    expectSuccess(described);
    expect(described.stdout).toStartWith("topic test-topic");
    expect(described.stdout).toMatch(/^PARTITION\s+EARLIEST\s+NEXT\s+BYTES\s+STATUS$/m);
    expect(described.stdout).toMatch(/^0\s+0\s+\d+\s+\d+\s+online$/m);
    expect(described.stdout).toMatch(/^1\s+0\s+\d+\s+\d+\s+online$/m);

    // --json speaks the HTTP API's names, field for field.
    const describedJson = await runCli(["admin", "describe-topic", "--name=test-topic", "--json", `--broker=${seedBroker}`]);
    expectSuccess(describedJson);
    const overHttp = await (await fetch(`${broker.url}/api/v1/topics/test-topic`)).json();
    expect(JSON.parse(describedJson.stdout)).toEqual(overHttp);
    expect(Object.keys(JSON.parse(describedJson.stdout).partitions[0]).sort()).toEqual(["earliest_offset", "next_offset", "partition", "size_bytes", "status"]);
    const cluster = await runCli(["admin", "cluster", "--json", `--broker=${seedBroker}`]);
    expectSuccess(cluster);
    // One object per broker and line: the leader first (the follower of the test above may still be listed).
    const clusterId = ((await (await fetch(`${broker.url}/healthz`)).json()) as { cluster_id: string }).cluster_id;
    expect(JSON.parse(lines(cluster.stdout)[0]!)).toEqual({ broker_id: 1, address: broker.hostPort, cluster_id: clusterId, role: "leader", leader_epoch: 0, state: "leading", lag: null });
    for (const line of lines(cluster.stdout)) expect(Object.keys(JSON.parse(line)).sort()).toEqual(["address", "broker_id", "cluster_id", "lag", "leader_epoch", "role", "state"]);

    const deleted = await runCli(["admin", "delete-topic", "--name=scratch", `--broker=${seedBroker}`]);
    expectSuccess(deleted);
    expect(deleted.stdout).toBe("deleted topic scratch\n");
    const after = await runCli(["admin", "list-topics", "--json", `--broker=${seedBroker}`]);
    expect(JSON.parse(after.stdout).map((topic: { name: string }) => topic.name)).not.toContain("scratch");
  });

  test("the broker's refusals become `error: <message>` and exit 1", async () => {
    const exists = await runCli(["admin", "create-topic", "--name=test-topic", `--broker=${seedBroker}`]);
    expect(exists.exitCode).toBe(1);
    expect(exists.stderr).toMatch(/^error: .*test-topic.*\n$/);
    const missing = await runCli(["produce", "--topic=no-such-topic", "--message=x", `--broker=${seedBroker}`]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe("error: topic 'no-such-topic' does not exist\n");
    const badPartitions = await runCli(["admin", "create-topic", "--name=t2", "--partitions=101", `--broker=${seedBroker}`]);
    expect(badPartitions.exitCode).toBe(1);
    expect(badPartitions.stderr).toContain("--partitions");
  });

  test("an unreachable broker is a clear error", async () => {
    const result = await runCli(["admin", "list-topics", "--broker=127.0.0.1:1"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("error: cannot reach broker at http://127.0.0.1:1");
  });
});

describe("help and version", () => {
  const commands = [[], ["broker"], ["produce"], ["producer"], ["consume"], ["consumer"], ["admin"], ["admin", "create-topic"], ["admin", "list-topics"], ["admin", "describe-topic"], ["admin", "delete-topic"], ["admin", "verify"]];

  test.each(commands.map((command) => [command.join(" ") || "(root)", command] as const))("gafka %s --help / --version", async (_name, command) => {
    const help = await runCli([...command, "--help"]);
    expectSuccess(help);
    expect(help.stdout).toContain("USAGE");
    expect(help.stdout).toContain(`gafka${command.length > 0 ? " " : ""}`);
    const version = await runCli([...command, "--version"]);
    expectSuccess(version);
    expect(version.stdout).toBe(`${packageJson.version}\n`);
  });

  test("the root help names every subcommand and the seed's aliases", async () => {
    const help = await runCli(["--help"]);
    for (const name of ["broker", "produce, producer", "consume, consumer", "admin"]) expect(help.stdout).toContain(name);
  });

  test("a missing required flag shows the usage and exits 1", async () => {
    const result = await runCli(["produce", "--message=x"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("USAGE");
    expect(result.stderr).toContain("error: Missing required argument: --topic");
  });
});

describe("shutdown", () => {
  test("SIGTERM stops the broker cleanly; verify finds the data whole; a restart serves it again", async () => {
    expect(await broker.stop()).toBe(0);
    const verified = await runCli(["admin", "verify", `--data-dir=${broker.dataDir}`]);
    expectSuccess(verified);
    expect(verified.stdout).toContain("test-topic-0: 1 segment");
    expect(verified.stdout).toContain("checked 2 partitions: all ok");

    await broker.restart();
    const result = await runCli(["consume", "--topic=test-topic", "--partition=0", "--offset=100", "--count=1", `--broker=localhost:${broker.port}`]);
    expectSuccess(result);
    expect(result.stdout).toMatch(/^partition=0 offset=100 value=/);
  });
});

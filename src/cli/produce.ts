import { defineCommand } from "citty";
import { createInterface } from "node:readline";
import { Producer, type ProducerRecord, type RecordMetadata } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { createLogger } from "../core/logger.ts";
import { recordMetadataJson } from "./api-json.ts";
import { Interrupted } from "./interrupted.ts";
import { acksArg, brokerArgs, formatArg, formatArgs, integerArg, logLevelArgs, repeatedArg, retryArgs, retryingClientOptions, UsageError } from "./shared-args.ts";

/** Sends awaiting an answer before reading more of stdin, so memory stays bounded. */
const UNANSWERED_SENDS_MAX = 10_000;

export default defineCommand({
  meta: {
    name: "produce",
    alias: "producer",
    description: "Send --message once, or every line of stdin, and print where each landed",
  },
  args: {
    topic: { type: "string", description: "Topic to send to", required: true },
    message: { type: "string", description: "The value to send (without it, every line of stdin is one message)" },
    key: { type: "string", description: "Record key: the same key always lands in the same partition" },
    partition: { type: "string", description: "Send to this partition instead of choosing by key" },
    header: { type: "string", description: "A record header, repeatable", valueHint: "key=value" },
    quiet: { type: "boolean", description: "Print only a summary", default: false },
    json: { type: "boolean", description: "Print each acknowledgement as JSON, as the HTTP API answers (topic, partition, offset, timestamp)", default: false },
    "batch-size": { type: "string", description: "Records per partition that make a batch go out", default: "100" },
    "linger-ms": { type: "string", description: "Longest a record waits for its batch to fill", default: "10" },
    acks: {
      type: "string",
      description: "When the broker answers: 1 once the leader holds it durably, all once every in-sync replica does, 0 at once",
      valueHint: "0|1|all",
      default: "1",
    },
    ...formatArgs,
    ...brokerArgs,
    ...retryArgs,
    ...logLevelArgs("warn"),
  },
  async run({ args, rawArgs }) {
    const logger = createLogger(args["log-level"], "produce");
    const template: Omit<ProducerRecord, "value"> = {
      topic: args.topic,
      ...(args.key === undefined ? {} : { key: args.key }),
      ...(args.partition === undefined ? {} : { partition: integerArg("partition", args.partition, 0, limits.partitionsPerTopicMax - 1) }),
      ...headersArg(repeatedArg(rawArgs, "header")),
    };
    const producer = new Producer({
      ...retryingClientOptions(args, args["retry-timeout"], logger),
      batchSize: integerArg("batch-size", args["batch-size"], 1, limits.recordsPerRequestMax),
      lingerMs: integerArg("linger-ms", args["linger-ms"], 0),
      acks: acksArg(args.acks),
      format: formatArg(args.format),
    });
    const partitions = new Set<number>();
    let sent = 0;
    const report = (metadata: RecordMetadata) => {
      sent++;
      partitions.add(metadata.partition);
      if (args.quiet) return;
      console.log(args.json ? JSON.stringify(recordMetadataJson(metadata)) : `partition=${metadata.partition} offset=${metadata.offset}`);
    };

    let interrupted: Interrupted | undefined;
    if (args.message !== undefined) {
      report(await producer.send({ ...template, value: args.message }));
    } else {
      if (process.stdin.isTTY) logger.info("reading messages from stdin, one per line (Ctrl-D ends, Ctrl-C stops)");
      interrupted = await sendLines(producer, template, report);
    }
    await producer.close();
    if (args.quiet) {
      const where = [...partitions].sort((a, b) => a - b);
      if (args.json) console.log(JSON.stringify({ topic: args.topic, sent, partitions: where }));
      else console.log(`sent ${sent} message${sent === 1 ? "" : "s"} to ${args.topic}${sent > 0 ? ` (partitions ${where.join(",")})` : ""}`);
    }
    if (interrupted !== undefined) throw interrupted;
  },
});

/**
 * Sends every line of stdin and reports each acknowledgement as it comes
 * back, in input order (a slow writer sees each line's answer before typing
 * the next). A failure stops the reading and ends the command with the
 * broker's message, after the answers before it are reported.
 *
 * Ctrl-C (or SIGTERM) stops the reading; the lines already read are still
 * sent, their answers reported, and the command ends with 130 (143); a second
 * one exits at once. Answers resolved: `Interrupted`, or undefined at the end
 * of input.
 */
async function sendLines(
  producer: Producer,
  template: Omit<ProducerRecord, "value">,
  report: (metadata: RecordMetadata) => void,
): Promise<Interrupted | undefined> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let interrupted: Interrupted | undefined;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (interrupted !== undefined) process.exit(interrupted.exitCode);
    interrupted = new Interrupted(signal);
    lines.close();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let failure: unknown;
  let unanswered = 0;
  let roomMade: (() => void) | undefined;
  // Each answer is reported once the ones before it are: in input order, as soon as it can be.
  let reported: Promise<void> = Promise.resolve();
  try {
    for await (const line of lines) {
      if (failure !== undefined || interrupted !== undefined) break;
      const answer = producer.send({ ...template, value: line });
      answer.catch(() => {}); // reported in order below
      unanswered++;
      reported = reported.then(async () => {
        try {
          const metadata = await answer;
          if (failure === undefined) report(metadata);
        } catch (error) {
          failure ??= error;
          lines.close();
        } finally {
          unanswered--;
          roomMade?.();
        }
      });
      while (unanswered >= UNANSWERED_SENDS_MAX) await new Promise<void>((resolve) => (roomMade = resolve));
    }
    await producer.flush();
    await reported;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (failure !== undefined) throw failure;
  return interrupted;
}

function headersArg(pairs: string[]): Pick<ProducerRecord, "headers"> {
  if (pairs.length === 0) return {};
  const headers = pairs.map((pair) => {
    const separator = pair.indexOf("=");
    if (separator <= 0) throw new UsageError(`--header must look like key=value, not '${pair}'`);
    return { key: pair.slice(0, separator), value: pair.slice(separator + 1) };
  });
  return { headers };
}

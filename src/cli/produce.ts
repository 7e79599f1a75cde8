import { defineCommand } from "citty";
import { createInterface } from "node:readline";
import { Producer, type ProducerRecord, type RecordMetadata } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { createLogger } from "../core/logger.ts";
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
      ...retryingClientOptions(args.broker, args["retry-timeout"], logger),
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
      if (!args.quiet) console.log(`partition=${metadata.partition} offset=${metadata.offset}`);
    };

    if (args.message !== undefined) {
      report(await producer.send({ ...template, value: args.message }));
    } else {
      if (process.stdin.isTTY) logger.info("reading messages from stdin, one per line (Ctrl-D ends)");
      // Answers are printed in input order; a failure ends the command with the broker's message.
      const unanswered: Promise<RecordMetadata>[] = [];
      let failure: unknown;
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (failure !== undefined) throw failure;
        const answer = producer.send({ ...template, value: line });
        answer.catch((error: unknown) => (failure ??= error)); // reported in order below
        unanswered.push(answer);
        if (unanswered.length >= UNANSWERED_SENDS_MAX) report(await unanswered.shift()!);
      }
      for (const answer of unanswered) report(await answer);
    }
    await producer.close();
    if (args.quiet) {
      const where = [...partitions].sort((a, b) => a - b).join(",");
      console.log(`sent ${sent} message${sent === 1 ? "" : "s"} to ${args.topic}${sent > 0 ? ` (partitions ${where})` : ""}`);
    }
  },
});

function headersArg(pairs: string[]): Pick<ProducerRecord, "headers"> {
  if (pairs.length === 0) return {};
  const headers = pairs.map((pair) => {
    const separator = pair.indexOf("=");
    if (separator <= 0) throw new UsageError(`--header must look like key=value, not '${pair}'`);
    return { key: pair.slice(0, separator), value: pair.slice(separator + 1) };
  });
  return { headers };
}

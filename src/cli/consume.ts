import { defineCommand } from "citty";
import { Consumer, GroupConsumer, type ConsumerRecord, type OffsetSpec, type PollOptions } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { AllPartitionsSource } from "./all-partitions-source.ts";
import { durationArg } from "./duration-arg.ts";
import { type BrokerArgValues, brokerArgs, formatArg, formatArgs, integerArg, logLevelArgs, retryArgs, retryingClientOptions, UsageError } from "./shared-args.ts";

/** Records asked for per poll when no --count bounds it. */
const RECORDS_PER_POLL = 1000;

/** What the print loop reads from: one partition, every partition, or a group member's partitions. */
interface RecordSource {
  readonly closed: boolean;
  poll(options: PollOptions): Promise<ConsumerRecord[]>;
  /** Ends a poll in flight; a group member commits what was printed and leaves. */
  close(): Promise<void>;
}

export default defineCommand({
  meta: {
    name: "consume",
    alias: "consumer",
    description: "Print a topic's records (every partition, or one from an offset), or a group member's, and follow new ones with long polls",
  },
  args: {
    topic: { type: "string", description: "Topic to read (with --group: a,b for several)", required: true },
    partition: { type: "string", description: "Only this partition (default: every partition, in order within each; not with --group)" },
    offset: { type: "string", description: "First offset: earliest, latest, or a number with --partition (default earliest; not with --group)" },
    group: { type: "string", description: "Consume as a member of this group: the broker assigns partitions and keeps offsets" },
    "consumer-id": { type: "string", description: "This member's id (with --group; default <hostname>-<pid>-<random>)" },
    "session-timeout": {
      type: "string",
      description: "With --group: the broker drops this member after this long without a sign of life (default 10s)",
    },
    assignor: { type: "enum", description: "With --group: the group's assignor, chosen by its first member", options: ["round-robin", "sticky"] },
    count: { type: "string", description: "Stop after this many records" },
    timeout: {
      type: "string",
      description: "Stop once no record arrives for this long (500ms, 30s, 2m); without it, follow until Ctrl-C",
    },
    json: { type: "boolean", description: "Print one JSON object per record and line", default: false },
    ...formatArgs,
    ...brokerArgs,
    ...retryArgs,
    ...logLevelArgs("warn"),
  },
  async run({ args }) {
    const count = args.count === undefined ? Number.POSITIVE_INFINITY : integerArg("count", args.count, 1);
    const idleMsMax = args.timeout === undefined ? undefined : durationArg("timeout", args.timeout);
    const logger = createLogger(args["log-level"], "consume");
    const source = args.group === undefined ? partitionSource(args, logger) : groupSource(args, args.group, logger);
    const several = args.group !== undefined && args.topic.includes(",");
    const print = args.json ? jsonLine : several ? (record: ConsumerRecord) => `topic=${record.topic} ${textLine(record)}` : textLine;
    // Ctrl-C ends the poll in flight; a group member then commits what it printed and leaves.
    const stop = () => void source.close();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);

    let printed = 0;
    let idleSinceMs = performance.now();
    try {
      while (!source.closed && printed < count) {
        const idleMs = performance.now() - idleSinceMs;
        const waitMs = idleMsMax === undefined ? limits.fetchWaitMsMax : Math.max(0, Math.min(limits.fetchWaitMsMax, idleMsMax - idleMs));
        const records = await source.poll({ maxRecords: Math.min(count - printed, RECORDS_PER_POLL), waitMs });
        if (records.length > 0) {
          console.log(records.map(print).join("\n"));
          printed += records.length;
          idleSinceMs = performance.now();
        } else if (idleMsMax !== undefined && performance.now() - idleSinceMs >= idleMsMax) {
          break;
        }
      }
    } finally {
      await source.close(); // on a failure too: a member that stops polling must not hold its partitions
    }
  },
});

interface ConsumeArgs extends BrokerArgValues {
  topic: string;
  partition?: string;
  offset?: string;
  "retry-timeout": string;
  format: string;
  "consumer-id"?: string;
  "session-timeout"?: string;
  assignor?: string;
}

function partitionSource(args: ConsumeArgs, logger: Logger): RecordSource {
  for (const name of ["consumer-id", "session-timeout", "assignor"] as const) {
    if (args[name] !== undefined) throw new UsageError(`--${name} needs --group`);
  }
  const offset = offsetArg(args.offset ?? "earliest");
  if (args.partition === undefined) {
    if (typeof offset === "number") throw new UsageError("--offset N needs --partition: an offset belongs to one partition (earliest and latest apply to all)");
    return new AllPartitionsSource({ client: retryingClientOptions(args, args["retry-timeout"], logger), topic: args.topic, offset, format: formatArg(args.format) });
  }
  return new Consumer({
    ...retryingClientOptions(args, args["retry-timeout"], logger),
    topic: args.topic,
    partition: integerArg("partition", args.partition, 0, limits.partitionsPerTopicMax - 1),
    offset,
    format: formatArg(args.format),
  });
}

/** One member of the group; it logs (at info) each new generation and what it owns. */
function groupSource(args: ConsumeArgs, groupId: string, logger: Logger): RecordSource {
  for (const name of ["partition", "offset"] as const) {
    if (args[name] !== undefined) throw new UsageError(`--${name} does not apply with --group: the group assigns partitions and keeps offsets`);
  }
  const consumer = new GroupConsumer({
    ...retryingClientOptions(args, args["retry-timeout"], logger),
    groupId,
    consumerId: args["consumer-id"],
    topics: args.topic,
    sessionTimeoutMs: args["session-timeout"] === undefined ? undefined : durationArg("session-timeout", args["session-timeout"], limits.sessionTimeoutMsMin, limits.sessionTimeoutMsMax),
    assignor: args.assignor as "round-robin" | "sticky" | undefined,
    format: formatArg(args.format),
  });
  let generationLogged: number | undefined;
  return {
    get closed() {
      return consumer.closed;
    },
    async poll(options) {
      const records = await consumer.poll(options);
      const membership = consumer.membership();
      if (membership !== undefined && membership.generation !== generationLogged) {
        generationLogged = membership.generation;
        const owned = membership.assignment.map((tp) => `${tp.topic}-${tp.partition}`).join(",") || "nothing";
        logger.info(`group ${groupId} generation ${membership.generation}: ${consumer.consumerId} owns ${owned}`);
      }
      return records;
    },
    // What was printed was handled: commit it, then leave so the others take over at once.
    close: () => consumer.close({ commit: true }),
  };
}

function offsetArg(text: string): OffsetSpec {
  if (text === "earliest" || text === "latest") return text;
  return integerArg("offset", text, 0);
}

/** `partition=0 offset=41 key=user123 value=Hello World`, headers before the value when there are any. */
function textLine(record: ConsumerRecord): string {
  const parts = [`partition=${record.partition}`, `offset=${record.offset}`];
  if (record.key !== null) parts.push(`key=${record.key}`);
  if (record.headers.length > 0) parts.push(`headers=${JSON.stringify(headersObject(record.headers))}`);
  parts.push(`value=${record.value ?? ""}`);
  return parts.join(" ");
}

/** The record as the HTTP API shows it, plus its topic. */
function jsonLine(record: ConsumerRecord): string {
  return JSON.stringify({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: headersObject(record.headers),
  });
}

/** An object when keys are unique, else the list (as docs/api.md does). */
function headersObject(headers: ConsumerRecord["headers"]): Record<string, string | null> | ConsumerRecord["headers"] {
  const keys = new Set(headers.map((header) => header.key));
  if (keys.size !== headers.length) return headers;
  return Object.fromEntries(headers.map((header) => [header.key, header.value]));
}

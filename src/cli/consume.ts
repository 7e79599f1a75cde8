import { defineCommand } from "citty";
import { Consumer, type ConsumerRecord, type OffsetSpec } from "../client/index.ts";
import { parseDurationMs } from "../core/duration.ts";
import { limits } from "../core/limits.ts";
import { brokerArgs, integerArg, logLevelArgs, UsageError } from "./shared-args.ts";

/** Records asked for per poll when no --count bounds it. */
const RECORDS_PER_POLL = 1000;

export default defineCommand({
  meta: {
    name: "consume",
    alias: "consumer",
    description: "Print a partition's records from an offset and follow new ones with long polls",
  },
  args: {
    topic: { type: "string", description: "Topic to read", required: true },
    partition: { type: "string", description: "Partition to read", default: "0" },
    offset: { type: "string", description: "First offset: a number, earliest or latest", default: "earliest" },
    count: { type: "string", description: "Stop after this many records" },
    timeout: {
      type: "string",
      description: "Stop once no record arrives for this long (500ms, 30s, 2m); without it, follow until Ctrl-C",
    },
    json: { type: "boolean", description: "Print one JSON object per record and line", default: false },
    group: { type: "string", description: "Consumer group (not supported yet)" },
    ...brokerArgs,
    ...logLevelArgs("warn"),
  },
  async run({ args }) {
    if (args.group !== undefined) {
      throw new UsageError("consumer groups are not supported yet; read a partition with --partition and --offset");
    }
    const count = args.count === undefined ? Number.POSITIVE_INFINITY : integerArg("count", args.count, 1);
    const idleMsMax = args.timeout === undefined ? undefined : durationArg("timeout", args.timeout);
    const consumer = new Consumer({
      broker: args.broker,
      topic: args.topic,
      partition: integerArg("partition", args.partition, 0, limits.partitionsPerTopicMax - 1),
      offset: offsetArg(args.offset),
    });
    const stop = () => void consumer.close();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);

    let printed = 0;
    let idleSinceMs = performance.now();
    while (!consumer.closed && printed < count) {
      const idleMs = performance.now() - idleSinceMs;
      const waitMs = idleMsMax === undefined ? limits.fetchWaitMsMax : Math.max(0, Math.min(limits.fetchWaitMsMax, idleMsMax - idleMs));
      const records = await consumer.poll({ maxRecords: Math.min(count - printed, RECORDS_PER_POLL), waitMs });
      if (records.length > 0) {
        console.log(records.map(args.json ? jsonLine : textLine).join("\n"));
        printed += records.length;
        idleSinceMs = performance.now();
      } else if (idleMsMax !== undefined && performance.now() - idleSinceMs >= idleMsMax) {
        break;
      }
    }
    await consumer.close();
  },
});

function offsetArg(text: string): OffsetSpec {
  if (text === "earliest" || text === "latest") return text;
  return integerArg("offset", text, 0);
}

function durationArg(name: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new UsageError(`--${name} must be a duration such as 500ms, 30s or 2m, not '${text}'`);
  return ms;
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

import { defineCommand } from "citty";
import { Admin, type GroupDescription, type ResetTarget, type TopicPartitionOffset } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { groupDescriptionJson, groupSummaryJson } from "./api-json.ts";
import { brokerArgs, integerArg, logLevelArgs, oneShotClientOptions, UsageError } from "./shared-args.ts";
import { cell, table } from "./table.ts";

/**
 * `gafka admin groups list|describe|reset-offsets|delete`, laid out like
 * Kafka's kafka-consumer-groups tool: the same column names, `-` where there
 * is no value, and `--to-earliest|--to-latest|--to-offset|--to-datetime`
 * for a reset (applied at once: the broker refuses it while the group has
 * live members, so there is no dry run to protect a running group).
 */

const groupArgs = { group: { type: "string", description: "Consumer group id", required: true } } as const;
const jsonArgs = { json: { type: "boolean", description: "Print the answer as JSON", default: false } } as const;
const clientArgs = { ...brokerArgs, ...logLevelArgs("warn") } as const;

const list = defineCommand({
  meta: { name: "list", description: "List live groups and groups with committed offsets" },
  args: { ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const groups = await new Admin(oneShotClientOptions(args)).listGroups();
    if (args.json) return console.log(JSON.stringify(groups.map(groupSummaryJson)));
    if (groups.length === 0) return console.log("no groups");
    const rows = groups.map((group) => [group.groupId, group.state, String(group.generation), String(group.members)]);
    console.log(table([["GROUP", "STATE", "GENERATION", "MEMBERS"], ...rows]));
  },
});

const describe = defineCommand({
  meta: { name: "describe", description: "Show a group's partitions: committed offset, log end, lag and owner" },
  args: {
    ...groupArgs,
    members: { type: "boolean", description: "List the members and what each owns instead", default: false },
    ...jsonArgs,
    ...clientArgs,
  },
  async run({ args }) {
    const group = await new Admin(oneShotClientOptions(args)).describeGroup(args.group);
    if (args.json) return console.log(JSON.stringify(groupDescriptionJson(group)));
    console.log(`${describeHeader(group)}\n\n${args.members ? membersTable(group) : partitionsTable(group)}`);
  },
});

const resetOffsets = defineCommand({
  meta: { name: "reset-offsets", description: "Move a stopped group's committed offsets on a topic" },
  args: {
    ...groupArgs,
    topic: { type: "string", description: "Topic whose offsets move", required: true },
    partitions: { type: "string", description: "Only these partitions (default all)", valueHint: "0,1" },
    "to-earliest": { type: "boolean", description: "To the first offset still in the log", default: false },
    "to-latest": { type: "boolean", description: "To the log end: skip everything not yet consumed", default: false },
    "to-offset": { type: "string", description: "To this offset, kept inside the log: past its end is the log end, before its start the earliest (a warning says so)" },
    "to-datetime": {
      type: "string",
      description: "To the first record at or after this time",
      valueHint: "2025-11-24T16:00:00Z",
    },
    ...jsonArgs,
    ...clientArgs,
  },
  async run({ args }) {
    const partitions = args.partitions === undefined ? undefined : partitionsArg(args.partitions);
    const request = { topic: args.topic, partitions, ...resetTarget(args) };
    const offsets = await new Admin(oneShotClientOptions(args)).resetOffsets(args.group, request);
    if (request.to === "offset") for (const line of clampWarnings(request.offset, offsets)) console.error(line);
    if (args.json) return console.log(JSON.stringify(offsets));
    const rows = offsets.map((offset) => [args.group, offset.topic, String(offset.partition), String(offset.offset)]);
    console.log(table([["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], ...rows]));
  },
});

const deleteGroup = defineCommand({
  meta: { name: "delete", description: "Delete a stopped group and its committed offsets" },
  args: { ...groupArgs, ...clientArgs },
  async run({ args }) {
    await new Admin(oneShotClientOptions(args)).deleteGroup(args.group);
    console.log(`deleted group ${args.group}`);
  },
});

export default defineCommand({
  meta: { name: "groups", description: "Consumer groups: list, describe, reset offsets, delete" },
  subCommands: { list, describe, "reset-offsets": resetOffsets, delete: deleteGroup },
});

/** `group g: stable, generation 3, assignor round-robin, 2 members`. */
function describeHeader(group: GroupDescription): string {
  const members = group.members.length === 0 ? "no active members" : `${group.members.length} member${group.members.length === 1 ? "" : "s"}`;
  return `group ${group.groupId}: ${group.state}, generation ${group.generation}, assignor ${group.assignor}, ${members}`;
}

function partitionsTable(group: GroupDescription): string {
  const rows = [["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID"]];
  for (const partition of group.partitions) {
    rows.push([
      partition.topic,
      String(partition.partition),
      // A group below the log start resumes there: say so beside what it committed.
      partition.belowLogStart ? `${partition.committedOffset} (log start ${partition.logStartOffset})` : cell(partition.committedOffset),
      cell(partition.logEndOffset),
      cell(partition.lag),
      cell(partition.owner),
    ]);
  }
  return table(rows);
}

function membersTable(group: GroupDescription): string {
  const rows = [["CONSUMER-ID", "TOPICS", "#PARTITIONS", "ASSIGNMENT", "SESSION-TIMEOUT-MS", "LAST-HEARTBEAT"]];
  for (const member of group.members) {
    rows.push([
      member.consumerId,
      member.topics.join(","),
      String(member.assignment.length),
      member.assignment.map((tp) => `${tp.topic}-${tp.partition}`).join(",") || "-",
      String(member.sessionTimeoutMs),
      new Date(member.lastHeartbeatMs).toISOString(),
    ]);
  }
  return table(rows);
}

/**
 * The broker keeps a reset inside each partition's log, as Kafka does: an
 * offset past the log end becomes the log end, one before the earliest
 * offset becomes the earliest. Like kafka-consumer-groups, say so for each
 * partition where the offset set is not the one asked for.
 */
function clampWarnings(asked: number, offsets: TopicPartitionOffset[]): string[] {
  return offsets
    .filter((offset) => offset.offset !== asked)
    .map((offset) => {
      const where = `${offset.topic}-${offset.partition}`;
      return asked > offset.offset
        ? `warning: offset ${asked} is past the log end of ${where}; set to the log end, ${offset.offset}`
        : `warning: offset ${asked} is before the earliest offset of ${where}; set to the earliest, ${offset.offset}`;
    });
}

function partitionsArg(text: string): number[] {
  return text.split(",").map((part) => integerArg("partitions", part, 0, limits.partitionsPerTopicMax - 1));
}

interface ResetFlags {
  "to-earliest": boolean;
  "to-latest": boolean;
  "to-offset"?: string;
  "to-datetime"?: string;
}

/** Exactly one --to-* flag, as the broker's reset target. */
function resetTarget(args: ResetFlags): ResetTarget {
  const given = (["to-earliest", "to-latest", "to-offset", "to-datetime"] as const).filter((name) => args[name] !== undefined && args[name] !== false);
  if (given.length !== 1) {
    throw new UsageError(`give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO${given.length > 1 ? ` (got --${given.join(", --")})` : ""}`);
  }
  if (args["to-earliest"]) return { to: "earliest" };
  if (args["to-latest"]) return { to: "latest" };
  if (args["to-offset"] !== undefined) return { to: "offset", offset: integerArg("to-offset", args["to-offset"], 0) };
  const text = args["to-datetime"]!;
  const timestampMs = Date.parse(text);
  if (!Number.isFinite(timestampMs)) throw new UsageError(`--to-datetime must be a date and time such as 2025-11-24T16:00:00Z, not '${text}'`);
  return { to: "timestamp", timestampMs };
}

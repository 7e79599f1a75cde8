import { defineCommand } from "citty";
import { Admin, type TopicDescription } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { topicDescriptionJson } from "./api-json.ts";
import { brokerArgs, integerArg, logLevelArgs, oneShotClientOptions, repeatedArg, UsageError } from "./shared-args.ts";
import { configArgs, configPairsArg, configsText } from "./topic-config-args.ts";

const nameArgs = { name: { type: "string", description: "Topic name", required: true } } as const;
const jsonArgs = { json: { type: "boolean", description: "Print the broker's answer as JSON", default: false } } as const;
const clientArgs = { ...brokerArgs, ...logLevelArgs("warn") } as const;

const createTopic = defineCommand({
  meta: { name: "create-topic", description: "Create a topic" },
  args: {
    ...nameArgs,
    partitions: { type: "string", description: `Number of partitions (1-${limits.partitionsPerTopicMax})`, default: "1" },
    ...configArgs,
    ...clientArgs,
  },
  async run({ args, rawArgs }) {
    const partitions = integerArg("partitions", args.partitions, 1, limits.partitionsPerTopicMax);
    const configs = configPairsArg(repeatedArg(rawArgs, "config"));
    const topic = await new Admin(oneShotClientOptions(args)).createTopic({ name: args.name, partitions, configs });
    console.log(`created topic ${topic.name} with ${topic.partitions.length} partition${topic.partitions.length === 1 ? "" : "s"}`);
  },
});

const alterTopic = defineCommand({
  meta: { name: "alter-topic", description: "Change a topic's settings (Kafka's incremental alter): --config sets one, --delete-config returns one to the broker's default" },
  args: {
    ...nameArgs,
    ...configArgs,
    "delete-config": { type: "string", description: "A setting to return to the broker's default, repeatable", valueHint: "name" },
    ...jsonArgs,
    ...clientArgs,
  },
  async run({ args, rawArgs }) {
    const set = configPairsArg(repeatedArg(rawArgs, "config"));
    const remove = repeatedArg(rawArgs, "delete-config").map((name) => name.trim());
    if (Object.keys(set).length === 0 && remove.length === 0) throw new UsageError("alter-topic needs --config name=value or --delete-config name");
    const topic = await new Admin(oneShotClientOptions(args)).alterTopicConfig(args.name, { set, delete: remove });
    if (args.json) return console.log(JSON.stringify(topicDescriptionJson(topic)));
    const overrides = topic.configs.filter((entry) => entry.source === "topic");
    console.log(`topic ${topic.name}: ${overrides.length === 0 ? "every setting is the broker's default" : overrides.map((entry) => `${entry.name}=${entry.value}`).join(", ")}`);
  },
});

const listTopics = defineCommand({
  meta: { name: "list-topics", description: "List topics and their partition counts" },
  args: { ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const topics = await new Admin(oneShotClientOptions(args)).listTopics();
    if (args.json) return console.log(JSON.stringify(topics));
    if (topics.length === 0) return console.log("no topics");
    console.log(table([["TOPIC", "PARTITIONS"], ...topics.map((topic) => [topic.name, String(topic.partitions)])]));
  },
});

const describeTopic = defineCommand({
  meta: { name: "describe-topic", description: "Show a topic's partitions (offsets, size on disk, status) and its settings with their sources" },
  args: { ...nameArgs, ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const topic = await new Admin(oneShotClientOptions(args)).describeTopic(args.name);
    console.log(args.json ? JSON.stringify(topicDescriptionJson(topic)) : describeText(topic));
  },
});

const deleteTopic = defineCommand({
  meta: { name: "delete-topic", description: "Delete a topic and all its records" },
  args: { ...nameArgs, ...clientArgs },
  async run({ args }) {
    await new Admin(oneShotClientOptions(args)).deleteTopic(args.name);
    console.log(`deleted topic ${args.name}`);
  },
});

const deleteRecords = defineCommand({
  meta: { name: "delete-records", description: "Delete a partition's records below an offset for good (Kafka's DeleteRecords)" },
  args: {
    topic: { type: "string", description: "Topic name", required: true },
    partition: { type: "string", description: "Partition", required: true },
    before: { type: "string", description: "Delete every record below this offset (-1: the high watermark)", required: true },
    ...clientArgs,
  },
  async run({ args }) {
    const partition = integerArg("partition", args.partition, 0, limits.partitionsPerTopicMax - 1);
    const before = integerArg("before", args.before, -1);
    const [result] = await new Admin(oneShotClientOptions(args)).deleteRecords(args.topic, [{ partition, before }]);
    console.log(`${args.topic}-${partition}: log start offset ${result!.logStartOffset}`);
  },
});

export default defineCommand({
  meta: { name: "admin", description: "Manage topics on a broker, verify a data dir, promote a follower, show the cluster; users, tokens and ACLs" },
  subCommands: {
    "create-topic": createTopic,
    "list-topics": listTopics,
    "describe-topic": describeTopic,
    "alter-topic": alterTopic,
    "delete-topic": deleteTopic,
    "delete-records": deleteRecords,
    verify: () => import("./admin-verify.ts").then((module) => module.default),
    groups: () => import("./admin-groups.ts").then((module) => module.default),
    promote: () => import("./admin-promote.ts").then((module) => module.default),
    cluster: () => import("./admin-cluster.ts").then((module) => module.default),
    users: () => import("./admin-users.ts").then((module) => module.default),
    tokens: () => import("./admin-tokens.ts").then((module) => module.default),
    acls: () => import("./admin-acls.ts").then((module) => module.default),
  },
});

function describeText(topic: TopicDescription): string {
  const rows = [["PARTITION", "EARLIEST", "NEXT", "BYTES", "STATUS"]];
  for (const partition of topic.partitions) {
    const status = partition.error === undefined ? partition.status : `${partition.status}: ${partition.error}`;
    rows.push([
      String(partition.partition),
      String(partition.earliestOffset),
      String(partition.nextOffset),
      String(partition.sizeBytes),
      status,
    ]);
  }
  const created = Number.isFinite(topic.createdAtMs) ? ` (created ${new Date(topic.createdAtMs).toISOString()})` : "";
  return `topic ${topic.name}${created}\n${table(rows)}${configsText(topic.configs, table)}`;
}

/** Left-aligned columns separated by two spaces. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
}

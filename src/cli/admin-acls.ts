import { defineCommand } from "citty";
import { Admin, type Acl, type AclFilter, type AclOperationName } from "../client/index.ts";
import { brokerArgs, logLevelArgs, oneShotClientOptions, UsageError } from "./shared-args.ts";
import { table } from "./table.ts";
import { aclBindingJson } from "../security/security-snapshot.ts";

/**
 * `gafka admin acls add|list|remove`, with kafka-acls' flags: `--principal
 * User:alice --operation read --topic orders [--prefixed] [--deny]`,
 * `--group g`, `--cluster`. A topic or group name is literal unless
 * `--prefixed` (kafka-acls' --resource-pattern-type defaults to literal
 * too); `*` is every name. For list and remove every flag is a filter,
 * and a flag left out matches anything.
 */

const OPERATIONS: readonly AclOperationName[] = ["read", "write", "create", "delete", "describe", "alter", "cluster_action", "all"];
/** The cluster resource's name in every binding (Kafka's). */
const CLUSTER_RESOURCE_NAME = "kafka-cluster";

const jsonArgs = { json: { type: "boolean", description: "Print the answer as JSON", default: false } } as const;
const clientArgs = { ...brokerArgs, ...logLevelArgs("warn") } as const;
const bindingArgs = {
  principal: { type: "string", description: "Who: User:<name>, or User:* for every authenticated user", valueHint: "User:name" },
  operation: { type: "string", description: `What, one or several comma-separated: ${OPERATIONS.join(", ")}`, valueHint: "read[,describe]" },
  topic: { type: "string", description: "On this topic (* for all)", valueHint: "name" },
  group: { type: "string", description: "On this consumer group (* for all)", valueHint: "id" },
  cluster: { type: "boolean", description: "On the cluster (promote, security administration, replication)", default: false },
  prefixed: { type: "boolean", description: "--topic/--group is a name prefix, not a name", default: false },
  deny: { type: "boolean", description: "A deny (deny wins over allow)", default: false },
  allow: { type: "boolean", description: "An allow (the default for add; a filter for list and remove)", default: false },
} as const;

interface BindingFlags {
  principal?: string;
  operation?: string;
  topic?: string;
  group?: string;
  cluster: boolean;
  prefixed: boolean;
  deny: boolean;
  allow: boolean;
}

/** The resource flags as filter fields; `required` demands exactly one resource. */
function resourceFilter(flags: BindingFlags, required: boolean): AclFilter {
  const given = [flags.topic !== undefined && "--topic", flags.group !== undefined && "--group", flags.cluster && "--cluster"].filter(Boolean);
  if (given.length > 1) throw new UsageError(`give one resource: ${given.join(", ")} together make no binding`);
  if (given.length === 0) {
    if (required) throw new UsageError("give the resource: --topic NAME, --group ID or --cluster");
    if (flags.prefixed) throw new UsageError("--prefixed goes with --topic or --group");
    return {};
  }
  if (flags.cluster) {
    if (flags.prefixed) throw new UsageError("--prefixed goes with --topic or --group, not --cluster");
    return { resourceType: "cluster", resourceName: CLUSTER_RESOURCE_NAME, patternType: "literal" };
  }
  const resourceType = flags.topic !== undefined ? "topic" : "group";
  const resourceName = (flags.topic ?? flags.group)!;
  return { resourceType, resourceName, patternType: flags.prefixed ? "prefixed" : "literal" };
}

function operationsArg(text: string): AclOperationName[] {
  const operations = text.split(",").map((part) => part.trim().toLowerCase().replaceAll("-", "_"));
  for (const operation of operations) {
    if (!(OPERATIONS as readonly string[]).includes(operation)) throw new UsageError(`--operation must be among ${OPERATIONS.join(", ")}, not '${text}'`);
  }
  return operations as AclOperationName[];
}

function permissionFilter(flags: BindingFlags): AclFilter {
  if (flags.allow && flags.deny) throw new UsageError("give --allow or --deny, not both");
  return flags.deny ? { permission: "deny" } : flags.allow ? { permission: "allow" } : {};
}

/** The filter list and remove select by: each flag given narrows it. */
function filterOf(flags: BindingFlags): AclFilter[] {
  const base: AclFilter = { ...(flags.principal === undefined ? {} : { principal: flags.principal }), ...resourceFilter(flags, false), ...permissionFilter(flags) };
  if (flags.operation === undefined) return [base];
  return operationsArg(flags.operation).map((operation) => ({ ...base, operation }));
}

function aclTable(acls: readonly Acl[]): string {
  const rows = acls.map((acl) => [acl.principal, acl.permission, acl.operation, acl.resourceType, acl.resourceName, acl.patternType]);
  return table([["PRINCIPAL", "PERMISSION", "OPERATION", "RESOURCE-TYPE", "RESOURCE-NAME", "PATTERN-TYPE"], ...rows]);
}

const add = defineCommand({
  meta: { name: "add", description: "Allow (or --deny) a principal an operation on a topic, group or the cluster" },
  args: { ...bindingArgs, ...jsonArgs, ...clientArgs },
  async run({ args }) {
    if (args.principal === undefined) throw new UsageError("give --principal User:NAME (or User:*)");
    if (args.operation === undefined) throw new UsageError(`give --operation (${OPERATIONS.join(", ")})`);
    const resource = resourceFilter(args, true) as Pick<Acl, "resourceType" | "resourceName" | "patternType">;
    const permission = permissionFilter(args).permission ?? "allow";
    const admin = new Admin(oneShotClientOptions(args));
    const results: { acl: Acl; created: boolean }[] = [];
    for (const operation of operationsArg(args.operation)) {
      const acl: Acl = { principal: args.principal, ...resource, operation, permission };
      results.push({ acl, created: await admin.addAcl(acl) });
    }
    if (args.json) return console.log(JSON.stringify(results.map(({ acl, created }) => ({ acl: aclBindingJson(acl), created }))));
    for (const { acl, created } of results) console.log(`${created ? "added" : "already there"}: ${describeAcl(acl)}`);
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List ACL bindings, all or those matching the flags given" },
  args: { ...bindingArgs, ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const admin = new Admin(oneShotClientOptions(args));
    const acls: Acl[] = [];
    for (const filter of filterOf(args)) acls.push(...(await admin.listAcls(filter)));
    if (args.json) return console.log(JSON.stringify(acls.map(aclBindingJson)));
    console.log(acls.length === 0 ? "no ACLs" : aclTable(acls));
  },
});

const remove = defineCommand({
  meta: { name: "remove", description: "Remove the ACL bindings matching the flags (--all for every binding)" },
  args: { ...bindingArgs, all: { type: "boolean", description: "Remove every binding", default: false }, ...jsonArgs, ...clientArgs },
  async run({ args }) {
    const filters = filterOf(args);
    const narrowed = filters.some((filter) => Object.keys(filter).length > 0);
    // kafka-acls --remove needs a resource; without one this would remove every binding.
    if (narrowed === args.all) throw new UsageError(args.all ? "--all removes every binding: give no other filter with it" : "give what to remove (--principal, --operation, --topic/--group/--cluster, --allow/--deny), or --all");
    const admin = new Admin(oneShotClientOptions(args));
    const removed: Acl[] = [];
    for (const filter of filters) removed.push(...(await admin.removeAcls(filter)));
    if (args.json) return console.log(JSON.stringify(removed.map(aclBindingJson)));
    console.log(removed.length === 0 ? "no ACLs matched: nothing removed" : `removed ${removed.length} ACL${removed.length === 1 ? "" : "s"}\n${aclTable(removed)}`);
  },
});

/** `User:alice may read topic orders (literal)`. */
function describeAcl(acl: Acl): string {
  const verb = acl.permission === "allow" ? "may" : "may not";
  const pattern = acl.resourceType === "cluster" ? "" : ` (${acl.patternType})`;
  const resource = acl.resourceType === "cluster" ? "the cluster" : `${acl.resourceType} ${acl.resourceName}`;
  return `${acl.principal} ${verb} ${acl.operation} ${resource}${pattern}`;
}

export default defineCommand({
  meta: { name: "acls", description: "Access control lists: add, list, remove" },
  subCommands: { add, list, remove },
});

import type { AssignorName, TopicPartition } from "../../groups/assignor.ts";
import type { GroupStatus, MembershipView, OffsetCommit, ResetTarget } from "../../groups/coordinator.ts";
import { invalidRequest } from "../../core/errors.ts";
import { principalOf, readJsonObject } from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/**
 * Consumer groups (spec/seed.md §5): list, status, explicit join, the seed's
 * heartbeat, leave, explicit commit, offset reset and delete. Group-mode
 * consume lives with consume (src/http/routes/consume.ts).
 */

function params(request: Bun.BunRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

/**
 * A membership answer. `leader_epoch` is the leader epoch this broker led
 * under when the call began (0 without replication): a member that has seen
 * a newer one drops this answer's assignment, which may come from a deposed
 * coordinator (docs/api.md "Consumer groups").
 */
export function membershipJson(view: MembershipView, leaderEpoch: number) {
  return {
    group_id: view.groupId,
    consumer_id: view.memberId,
    generation: view.generation,
    assignment: view.assignment,
    session_timeout_ms: view.sessionTimeoutMs,
    leader_epoch: leaderEpoch,
  };
}

/**
 * The epoch a membership answer carries, read before the coordinator acts:
 * a broker deposed during a long poll must not stamp its answer with the
 * newer epoch it learned meanwhile.
 */
export function coordinatorEpoch(context: RouteContext): number {
  return context.replication?.leaderEpoch ?? 0;
}

function statusJson(status: GroupStatus) {
  return {
    group_id: status.groupId,
    state: status.state,
    generation: status.generation,
    assignor: status.assignor,
    members: status.members.map((m) => ({
      consumer_id: m.memberId,
      topics: m.topics,
      session_timeout_ms: m.sessionTimeoutMs,
      last_heartbeat: m.lastHeartbeatAtMs,
      assignment: m.assignment,
    })),
    partitions: status.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      committed_offset: p.committedOffset,
      log_start_offset: p.logStartOffset,
      below_log_start: p.belowLogStart,
      log_end_offset: p.logEndOffset,
      lag: p.lag,
      owner: p.owner,
    })),
  };
}

/** A topic list as JSON ["a","b"] or the query form "a,b". */
export function topicList(value: unknown, field: string): string[] {
  if (typeof value === "string") return value.split(",").filter((topic) => topic.length > 0);
  if (Array.isArray(value) && value.every((topic) => typeof topic === "string")) return value as string[];
  throw invalidRequest(`field '${field}' must be a topic name, a comma-separated list or an array of names`, { field });
}

function optionalInteger(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) throw invalidRequest(`field '${field}' must be an integer`, { field });
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidRequest(`field '${field}' must be a string`, { field });
  return value;
}

/** GET /api/v1/consumer-groups */
function listGroups(request: Request, context: RouteContext): Response {
  const groups = context.groups.listGroups(principalOf(request)).map((g) => ({ group_id: g.groupId, state: g.state, generation: g.generation, members: g.members }));
  return Response.json({ groups });
}

/** GET /api/v1/consumer-groups/{group}/status */
function groupStatus(request: Bun.BunRequest, context: RouteContext): Response {
  return Response.json(statusJson(context.groups.describeGroup(params(request).group ?? "", principalOf(request))));
}

/** POST /api/v1/consumer-groups/{group}/members/{member} {"topics", "session_timeout_ms"?, "assignor"?} */
async function join(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  const { group = "", member = "" } = params(request);
  const epoch = coordinatorEpoch(context);
  const view = context.groups.join(group, member, {
    topics: topicList(body.topics ?? body.topic, "topics"),
    sessionTimeoutMs: optionalInteger(body, "session_timeout_ms"),
    assignor: optionalString(body, "assignor") as AssignorName | undefined,
  }, principalOf(request));
  return Response.json(membershipJson(view, epoch));
}

/** POST /api/v1/consumer-groups/{group}/members/{member}/heartbeat (no body needed) */
function heartbeat(request: Bun.BunRequest, context: RouteContext): Response {
  const { group = "", member = "" } = params(request);
  const epoch = coordinatorEpoch(context);
  return Response.json(membershipJson(context.groups.heartbeat(group, member, principalOf(request)), epoch));
}

/** DELETE /api/v1/consumer-groups/{group}/members/{member} */
function leave(request: Bun.BunRequest, context: RouteContext): Response {
  const { group = "", member = "" } = params(request);
  context.groups.leave(group, member, principalOf(request));
  return Response.json({ group_id: group, consumer_id: member, left: true });
}

function parseCommits(value: unknown): OffsetCommit[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidRequest("field 'offsets' must be a non-empty array of {topic, partition, offset}", { field: "offsets" });
  }
  return value.map((entry, index) => {
    const e = entry as Record<string, unknown>;
    if (typeof e !== "object" || e === null || typeof e.topic !== "string" || !Number.isInteger(e.partition) || !Number.isInteger(e.offset)) {
      throw invalidRequest(`offsets[${index}] must be {topic: string, partition: integer, offset: integer}`, { field: "offsets" });
    }
    return { topic: e.topic, partition: e.partition as number, offset: e.offset as number };
  });
}

/** POST /api/v1/consumer-groups/{group}/offsets {"consumer_id"?, "generation"?, "offsets": [{topic, partition, offset}]} */
async function commitOffsets(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  const group = params(request).group ?? "";
  const commits = parseCommits(body.offsets);
  await context.groups.commit(group, optionalString(body, "consumer_id"), optionalInteger(body, "generation"), commits, principalOf(request));
  return Response.json({ group_id: group, committed: commits });
}

function parseResetTarget(body: Record<string, unknown>): ResetTarget {
  switch (body.to) {
    case "earliest":
    case "latest":
      return { to: body.to };
    case "offset": {
      const offset = optionalInteger(body, "offset");
      if (offset === undefined || offset < 0) throw invalidRequest("'to: offset' needs a non-negative integer 'offset'", { field: "offset" });
      return { to: "offset", offset };
    }
    case "timestamp": {
      const timestampMs = optionalInteger(body, "timestamp");
      if (timestampMs === undefined) throw invalidRequest("'to: timestamp' needs an integer 'timestamp' (ms since the epoch)", { field: "timestamp" });
      return { to: "timestamp", timestampMs };
    }
    default:
      throw invalidRequest("field 'to' must be earliest, latest, offset or timestamp", { field: "to" });
  }
}

/** POST /api/v1/consumer-groups/{group}/offsets/reset {"topic", "partitions"?, "to", "offset"?, "timestamp"?} */
async function resetOffsets(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  const group = params(request).group ?? "";
  if (typeof body.topic !== "string") throw invalidRequest("field 'topic' is required", { field: "topic" });
  let partitions: number[] | undefined;
  if (body.partitions !== undefined) {
    if (!Array.isArray(body.partitions) || !body.partitions.every((p) => Number.isInteger(p) && p >= 0)) {
      throw invalidRequest("field 'partitions' must be an array of partition numbers", { field: "partitions" });
    }
    partitions = body.partitions as number[];
  }
  const target = parseResetTarget(body);
  const entries = await context.groups.resetOffsets(group, body.topic, partitions, target, principalOf(request));
  return Response.json({
    group_id: group,
    offsets: entries.map((e) => ({ topic: e.topic, partition: e.partition, offset: e.offset } satisfies TopicPartition & { offset: number })),
  });
}

/** DELETE /api/v1/consumer-groups/{group} */
async function deleteGroup(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const group = params(request).group ?? "";
  await context.groups.deleteGroup(group, principalOf(request));
  return Response.json({ deleted: group });
}

export const groupRoutes: Route[] = [
  { method: "GET", path: "/api/v1/consumer-groups", handle: listGroups },
  { method: "GET", path: "/api/v1/consumer-groups/{group}/status", handle: groupStatus },
  { method: "DELETE", path: "/api/v1/consumer-groups/{group}", handle: deleteGroup },
  { method: "POST", path: "/api/v1/consumer-groups/{group}/members/{member}", handle: join },
  { method: "DELETE", path: "/api/v1/consumer-groups/{group}/members/{member}", handle: leave },
  { method: "POST", path: "/api/v1/consumer-groups/{group}/members/{member}/heartbeat", handle: heartbeat },
  { method: "POST", path: "/api/v1/consumer-groups/{group}/offsets", handle: commitOffsets },
  { method: "POST", path: "/api/v1/consumer-groups/{group}/offsets/reset", handle: resetOffsets },
];

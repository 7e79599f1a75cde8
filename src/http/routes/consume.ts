import type { FetchOffset } from "../../broker/broker.ts";
import { invalidRequest } from "../../core/errors.ts";
import { limits } from "../../core/limits.ts";
import { acceptsRecordBatches, groupBatchesResponse, partitionBatchesResponse } from "../consume-batches.ts";
import { groupConsumeResponse, partitionConsumeResponse } from "../consume-json.ts";
import { parseEncoding } from "../record-json.ts";
import {
  parseDurationParameter,
  parseIntegerInRange,
  parseNonNegativeInteger,
  principalOf,
  queryOf,
  requiredParameter,
} from "../request.ts";
import type { Route, RouteContext } from "../route.ts";
import type { AssignorName } from "../../groups/assignor.ts";
import { coordinatorEpoch, membershipJson, topicList } from "./groups.ts";

/**
 * GET /api/v1/consume?topic&partition&offset&count&timeout&value_encoding —
 * records at or after `offset`; with a timeout, a long poll that answers as
 * soon as one is there (or with an empty list when the timeout ends). Both
 * forms answer with the stored record batches instead of JSON records when
 * the request accepts them (src/http/consume-batches.ts).
 */
async function consume(request: Request, context: RouteContext): Promise<Response> {
  const query = queryOf(request);
  if (query.has("group_id")) return consumeAsGroupMember(request, query, context);
  const topic = requiredParameter(query, "topic");
  const partition = parseNonNegativeInteger(requiredParameter(query, "partition"), "partition");
  const offset = parseOffset(query.get("offset"));
  const maxRecords = parseIntegerInRange(query, "count", 1, limits.consumeCountMax, limits.consumeCountDefault);
  const waitMs = parseDurationParameter(query, "timeout", limits.fetchWaitMsMax, 0);
  const encoding = parseEncoding(query.get("value_encoding"), "value_encoding", "utf8");
  const binary = acceptsRecordBatches(request);
  const result = await context.broker.consume({
    topic,
    partition,
    offset,
    maxRecords,
    waitMs,
    signal: waitMs > 0 ? request.signal : undefined,
    format: binary ? "batches" : "records",
  }, principalOf(request));
  if (binary) return partitionBatchesResponse(topic, partition, result);
  return partitionConsumeResponse(topic, partition, result.records, encoding, result.nextOffset, result.highWatermark);
}

/**
 * The seed's group form: GET /api/v1/consume?topic=a,b&group_id&consumer_id&count&timeout
 * (optional: partition, generation, session_timeout_ms, assignor, value_encoding, commit).
 * Joins on the first call, commits what the previous call delivered (unless
 * commit=none), and long-polls across every partition the member owns.
 */
async function consumeAsGroupMember(request: Request, query: URLSearchParams, context: RouteContext): Promise<Response> {
  const groupId = requiredParameter(query, "group_id");
  const memberId = requiredParameter(query, "consumer_id");
  const topics = topicList(requiredParameter(query, "topic"), "topic");
  const maxRecords = parseIntegerInRange(query, "count", 1, limits.consumeCountMax, limits.consumeCountDefault);
  const waitMs = parseDurationParameter(query, "timeout", limits.fetchWaitMsMax, 0);
  const encoding = parseEncoding(query.get("value_encoding"), "value_encoding", "utf8");
  const partition = query.get("partition");
  const generation = query.get("generation");
  const sessionTimeout = query.get("session_timeout_ms");
  if (partition !== null && topics.length !== 1) {
    throw invalidRequest("'partition' needs exactly one topic", { parameter: "partition" });
  }
  const commit = query.get("commit") ?? "previous";
  if (commit !== "previous" && commit !== "none") {
    throw invalidRequest(`'commit' must be "previous" or "none", not ${JSON.stringify(commit)}`, { parameter: "commit" });
  }
  const binary = acceptsRecordBatches(request);
  const epoch = coordinatorEpoch(context);
  const result = await context.groups.consume(groupId, memberId, {
    commit,
    format: binary ? "batches" : "records",
    topics,
    maxRecords,
    waitMs,
    generation: generation === null ? undefined : parseNonNegativeInteger(generation, "generation"),
    only: partition === null ? undefined : { topic: topics[0]!, partition: parseNonNegativeInteger(partition, "partition") },
    sessionTimeoutMs: sessionTimeout === null ? undefined : parseNonNegativeInteger(sessionTimeout, "session_timeout_ms"),
    assignor: (query.get("assignor") ?? undefined) as AssignorName | undefined,
    signal: request.signal,
  }, principalOf(request));
  if (binary) return groupBatchesResponse(membershipJson(result, epoch), result.chunks);
  return groupConsumeResponse(membershipJson(result, epoch), result.records, encoding);
}

function parseOffset(text: string | null): FetchOffset {
  if (text === null || text === "earliest") return "earliest";
  if (text === "latest") return "latest";
  return parseNonNegativeInteger(text, "offset");
}

export const consumeRoutes: Route[] = [{ method: "GET", path: "/api/v1/consume", handle: consume }];

import type { TopicDescription } from "../../broker/broker.ts";
import { invalidRequest } from "../../core/errors.ts";
import { limits } from "../../core/limits.ts";
import { principalOf, readJsonObject } from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/** POST /api/v1/topics {"name", "partitions"?, "configs"?: {"retention.ms": "3600000", ...}} → 201 with the topic's description. */
async function createTopic(request: Request, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  if (typeof body.name !== "string") throw invalidRequest("field 'name' is required and must be a string", { field: "name" });
  const partitions = body.partitions ?? limits.topicPartitionsDefault;
  if (typeof partitions !== "number") throw invalidRequest("field 'partitions' must be a number", { field: "partitions" });
  // `configs` is checked by the domain, after the gate.
  const description = await context.broker.createTopic(body.name, partitions, principalOf(request), body.configs ?? {});
  return Response.json(topicDescriptionJson(description, context), { status: 201 });
}

/**
 * POST /api/v1/topics/{name}/configs {"set"?: {"retention.ms": "3600000"}, "delete"?: ["segment.ms"]}
 * (Kafka's IncrementalAlterConfigs) → the topic's description with its new settings.
 */
async function alterTopicConfigs(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  // `set` and `delete` are checked by the domain, after the gate.
  const description = await context.broker.alterTopicConfig(topicParameter(request), body.set ?? {}, body.delete ?? [], principalOf(request));
  return Response.json(topicDescriptionJson(description, context));
}

/** GET /api/v1/topics → {"topics": [{"name", "partitions"}]}, sorted by name: those the caller may describe. */
function listTopics(request: Request, context: RouteContext): Response {
  const topics = context.broker.listTopicsFor(principalOf(request)).map((topic) => ({ name: topic.name, partitions: topic.partitionCount }));
  return Response.json({ topics });
}

/** GET /api/v1/topics/{name} → offsets, size and status of every partition. */
function describeTopic(request: Bun.BunRequest, context: RouteContext): Response {
  return Response.json(topicDescriptionJson(context.broker.describeTopicFor(topicParameter(request), principalOf(request)), context));
}

/** DELETE /api/v1/topics/{name} → {"deleted": name} once the deletion is durable. */
async function deleteTopic(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const name = topicParameter(request);
  await context.broker.deleteTopic(name, principalOf(request));
  return Response.json({ deleted: name });
}

/**
 * POST /api/v1/topics/{name}/delete-records {"partitions": [{"partition", "before"}]}
 * → {"topic", "partitions": [{"partition", "log_start_offset"}]} (Kafka's DeleteRecords; `before` -1: the high watermark).
 */
async function deleteRecords(request: Bun.BunRequest, context: RouteContext): Promise<Response> {
  const name = topicParameter(request);
  const body = await readJsonObject(request, context.requestBytesMax);
  const partitions = body.partitions;
  if (!Array.isArray(partitions) || partitions.length === 0 || partitions.length > limits.partitionsPerTopicMax) {
    throw invalidRequest("field 'partitions' must be a non-empty array of {partition, before}", { field: "partitions" });
  }
  const requests = partitions.map((item: unknown) => {
    const entry = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof entry.partition !== "number" || typeof entry.before !== "number") {
      throw invalidRequest("each of 'partitions' needs a number 'partition' and a number 'before'", { field: "partitions" });
    }
    return { partition: entry.partition, before: entry.before };
  });
  const results = context.broker.deleteRecords(name, requests, principalOf(request));
  return Response.json({ topic: name, partitions: results.map((r) => ({ partition: r.partition, log_start_offset: r.logStartOffset })) });
}

function topicParameter(request: Bun.BunRequest): string {
  return (request.params as Record<string, string>).name ?? "";
}

/** A partition's error names files relative to the data dir. */
function topicDescriptionJson(description: TopicDescription, context: RouteContext) {
  return {
    name: description.name,
    created_at: description.createdAtMs,
    partitions: description.partitions.map((partition) => ({
      partition: partition.partition,
      earliest_offset: partition.earliestOffset,
      next_offset: partition.nextOffset,
      size_bytes: partition.sizeBytes,
      status: partition.status,
      ...(partition.error === undefined ? {} : { error: context.dataDirText.relative(partition.error) }),
    })),
    configs: description.configs,
  };
}

export const topicRoutes: Route[] = [
  { method: "POST", path: "/api/v1/topics", handle: createTopic },
  { method: "GET", path: "/api/v1/topics", handle: listTopics },
  { method: "GET", path: "/api/v1/topics/{name}", handle: describeTopic },
  { method: "DELETE", path: "/api/v1/topics/{name}", handle: deleteTopic },
  { method: "POST", path: "/api/v1/topics/{name}/delete-records", handle: deleteRecords },
  { method: "POST", path: "/api/v1/topics/{name}/configs", handle: alterTopicConfigs },
];

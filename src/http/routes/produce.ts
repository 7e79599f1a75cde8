import type { Acks } from "../../broker/broker.ts";
import { invalidRequest } from "../../core/errors.ts";
import { LEADER_EPOCH_HEADER } from "../../replication/request-guard.ts";
import { decodeProduceRequest } from "../record-json.ts";
import { queryOf, readJsonObject } from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/**
 * POST /api/v1/produce — one record (answered with where it landed) or the
 * `records` batch form (one result per record, in request order). `acks`
 * (body or query): 1 (default) answers once the records are durable here per
 * the fsync policy, "all" (or -1) once every in-sync replica holds them, 0 at
 * once with 202 and offsets -1.
 */
async function produce(request: Request, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  const acks = parseAcks(body.acks ?? queryOf(request).get("acks") ?? undefined);
  const { topic, records, batch } = decodeProduceRequest(body);
  const results = await context.broker.produce(topic, records, { acks });
  context.metrics.produced.count(topic, records);
  const init: ResponseInit = {
    status: acks === 0 ? 202 : 200,
    headers: context.replication === undefined ? {} : { [LEADER_EPOCH_HEADER]: String(context.replication.leaderEpoch) },
  };
  if (!batch) {
    const result = results[0]!;
    return Response.json({ topic, partition: result.partition, offset: result.offset, timestamp: result.timestampMs }, init);
  }
  const wire = new Array<{ partition: number; offset: number; timestamp: number }>(results.length);
  for (let i = 0; i < results.length; i++) {
    const result = results[i]!;
    wire[i] = { partition: result.partition, offset: result.offset, timestamp: result.timestampMs };
  }
  return Response.json({ topic, results: wire }, init);
}

/** 0, 1, "all" or -1 (Kafka's spelling of all), as a number or a string; 1 when absent. */
function parseAcks(value: unknown): Acks {
  if (value === undefined || value === null) return 1;
  const text = String(value);
  if (text === "1") return 1;
  if (text === "0") return 0;
  if (text === "all" || text === "-1") return "all";
  throw invalidRequest(`'acks' must be 0, 1 or "all" (or -1), not ${JSON.stringify(value)}`, { field: "acks" });
}

export const produceRoutes: Route[] = [{ method: "POST", path: "/api/v1/produce", handle: produce }];

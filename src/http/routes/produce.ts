import { decodeProduceRequest } from "../record-json.ts";
import { readJsonObject } from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/**
 * POST /api/v1/produce — one record (answered with where it landed) or the
 * `records` batch form (one result per record, in request order). Answered
 * only once every record is durable per the fsync policy.
 */
async function produce(request: Request, context: RouteContext): Promise<Response> {
  const body = await readJsonObject(request, context.requestBytesMax);
  const { topic, records, batch } = decodeProduceRequest(body);
  const results = await context.broker.produce(topic, records);
  if (!batch) {
    const result = results[0]!;
    return Response.json({ topic, partition: result.partition, offset: result.offset, timestamp: result.timestampMs });
  }
  const wire = new Array<{ partition: number; offset: number; timestamp: number }>(results.length);
  for (let i = 0; i < results.length; i++) {
    const result = results[i]!;
    wire[i] = { partition: result.partition, offset: result.offset, timestamp: result.timestampMs };
  }
  return Response.json({ topic, results: wire });
}

export const produceRoutes: Route[] = [{ method: "POST", path: "/api/v1/produce", handle: produce }];

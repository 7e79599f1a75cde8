import type { FetchOffset } from "../../broker/broker.ts";
import { limits } from "../../core/limits.ts";
import { encodeStoredRecord, parseEncoding, type RecordJson } from "../record-json.ts";
import {
  parseDurationParameter,
  parseIntegerInRange,
  parseNonNegativeInteger,
  queryOf,
  requiredParameter,
} from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/**
 * GET /api/v1/consume?topic&partition&offset&count&timeout&value_encoding —
 * records at or after `offset`; with a timeout, a long poll that answers as
 * soon as one is there (or with an empty list when the timeout ends).
 */
async function consume(request: Request, context: RouteContext): Promise<Response> {
  const query = queryOf(request);
  const topic = requiredParameter(query, "topic");
  const partition = parseNonNegativeInteger(requiredParameter(query, "partition"), "partition");
  const offset = parseOffset(query.get("offset"));
  const maxRecords = parseIntegerInRange(query, "count", 1, limits.consumeCountMax, limits.consumeCountDefault);
  const waitMs = parseDurationParameter(query, "timeout", limits.fetchWaitMsMax, 0);
  const encoding = parseEncoding(query.get("value_encoding"), "value_encoding", "utf8");
  const result = await context.broker.fetch({
    topic,
    partition,
    offset,
    maxRecords,
    waitMs,
    signal: waitMs > 0 ? request.signal : undefined,
  });
  const records = new Array<RecordJson>(result.records.length);
  for (let i = 0; i < records.length; i++) records[i] = encodeStoredRecord(result.records[i]!, partition, encoding);
  return Response.json({
    topic,
    partition,
    records,
    next_offset: result.nextOffset,
    high_watermark: result.highWatermark,
  });
}

function parseOffset(text: string | null): FetchOffset {
  if (text === null || text === "earliest") return "earliest";
  if (text === "latest") return "latest";
  return parseNonNegativeInteger(text, "offset");
}

export const consumeRoutes: Route[] = [{ method: "GET", path: "/api/v1/consume", handle: consume }];

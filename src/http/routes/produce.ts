import { type Acks, parseAcks } from "../../broker/acks.ts";
import { GafkaError } from "../../core/errors.ts";
import { LEADER_EPOCH_HEADER } from "../leader-epoch-header.ts";
import { decodeProduceRequest } from "../record-json.ts";
import {
  isJsonContentType,
  isRecordBatchContentType,
  RECORD_BATCH_MEDIA_TYPE,
  parseNonNegativeInteger,
  principalOf,
  queryOf,
  readBinaryBody,
  readJsonObject,
  requiredParameter,
} from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/**
 * POST /api/v1/produce — one record (answered with where it landed) or the
 * `records` batch form (one result per record, in request order). `acks`
 * (body or query): 1 (default) answers once the records are durable here per
 * the fsync policy, "all" (or -1) once every in-sync replica holds them, 0 at
 * once with 202 and offsets -1. A batch spanning partitions that fails in
 * some answers the first failure's error with every record's outcome in
 * `error.results` (Broker.produce, which also decides whether this broker
 * may take the write and counts what was produced).
 */
async function produce(request: Request, context: RouteContext): Promise<Response> {
  const contentType = request.headers.get("content-type");
  if (isRecordBatchContentType(contentType)) return produceBatches(request, context);
  if (!isJsonContentType(contentType)) {
    throw new GafkaError(
      "unsupported_media_type",
      `a produce body is JSON (Content-Type: application/json) or record batches (Content-Type: ${RECORD_BATCH_MEDIA_TYPE})`,
    );
  }
  const body = await readJsonObject(request, context.requestBytesMax);
  const acks = parseAcks(body.acks ?? queryOf(request).get("acks") ?? undefined);
  const { topic, records, batch } = decodeProduceRequest(body);
  const results = await context.broker.produce(topic, records, { acks }, principalOf(request));
  const init = answerInit(acks, context);
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

/**
 * POST /api/v1/produce?topic&partition&acks with a body of RecordBatch v2
 * (docs/api.md "Record batches"): appended as sent once every batch passes
 * its checks; answered with the offsets the records got.
 */
async function produceBatches(request: Request, context: RouteContext): Promise<Response> {
  const query = queryOf(request);
  const topic = requiredParameter(query, "topic");
  const partition = parseNonNegativeInteger(requiredParameter(query, "partition"), "partition");
  const acks = parseAcks(query.get("acks") ?? undefined);
  const body = await readBinaryBody(request, context.requestBytesMax);
  const result = await context.broker.produceBatches(topic, partition, body, { acks }, principalOf(request));
  return Response.json(
    { topic, partition: result.partition, base_offset: result.baseOffset, last_offset: result.lastOffset },
    answerInit(acks, context),
  );
}

function answerInit(acks: Acks, context: RouteContext): ResponseInit {
  return {
    status: acks === 0 ? 202 : 200,
    headers: context.replication === undefined ? {} : { [LEADER_EPOCH_HEADER]: String(context.replication.leaderEpoch) },
  };
}

export const produceRoutes: Route[] = [{ method: "POST", path: "/api/v1/produce", handle: produce }];

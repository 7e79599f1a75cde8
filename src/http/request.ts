import { GafkaError, invalidRequest } from "../core/errors.ts";
import { joinBytes } from "../core/bytes.ts";
import { parseDurationMs } from "../core/duration.ts";
import { ANONYMOUS, type Principal } from "../broker/write-gate.ts";
import { bodyLeaseOf } from "./body-budget.ts";

/**
 * Request parsing shared by the routes. Every failure is a GafkaError
 * (400 invalid_request, 413 message_too_large, 415 unsupported_media_type),
 * thrown before anything reaches the broker.
 */

/**
 * Where the server puts the principal it authenticated on the request
 * itself: a property under a symbol only this module knows, rather than a
 * WeakMap, whose entry per request would cost the garbage collector on every
 * produce.
 */
const PRINCIPAL = Symbol("gafka.principal");

type WithPrincipal = Request & { [PRINCIPAL]?: Principal };

/**
 * Who sends the request: the principal every domain call is made for, as the
 * server authenticated it before the route ran (anonymous when it carried no
 * credentials); the domain's gate decides what it may do (Broker.admit,
 * Broker.authorize).
 */
export function principalOf(request: Request): Principal {
  return (request as WithPrincipal)[PRINCIPAL] ?? ANONYMOUS;
}

/** The server's record of who sent `request` (src/http/server.ts authenticates each one before its route runs). */
export function setPrincipal(request: Request, principal: Principal): void {
  (request as WithPrincipal)[PRINCIPAL] = principal;
}

/**
 * The request's JSON body, which must be an object. Checks the content type
 * (415) and the size (413, readBinaryBody).
 */
export async function readJsonObject(request: Request, requestBytesMax: number): Promise<Record<string, unknown>> {
  if (!isJsonContentType(request.headers.get("content-type"))) {
    throw new GafkaError("unsupported_media_type", "the request body must be JSON (Content-Type: application/json)");
  }
  const text = await readBodyText(request, requestBytesMax);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw invalidRequest(`the request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest("the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** The request body as UTF-8 text, refused with 413 beyond requestBytesMax (readBinaryBody). */
export async function readBodyText(request: Request, requestBytesMax: number): Promise<string> {
  return utf8.decode(await readBinaryBody(request, requestBytesMax));
}

const utf8 = new TextDecoder();

/**
 * The request body's bytes, refused with 413 message_too_large beyond
 * requestBytesMax, and never more than that in memory: a Content-Length over
 * the limit is refused before a byte is read, and a body without one
 * (chunked) is read as it arrives and refused as soon as it passes the limit.
 * Bun then drops the rest as it arrives and keeps the connection (closing it
 * early could reset it before the client has read the 413). This is the only
 * body limit that fires: Bun's own answers with an empty 413 and buffers up to
 * it, so src/http/server.ts sets it out of reach. Every route reads its body
 * through here.
 *
 * The bytes are drawn from the broker-wide budget (src/http/body-budget.ts)
 * before they are read: a declared length at once, a chunked body chunk by
 * chunk; a body that does not fit is refused with 503 server_busy.
 */
export async function readBinaryBody(request: Request, requestBytesMax: number): Promise<Uint8Array> {
  const lease = bodyLeaseOf(request);
  const declaredLength = request.headers.get("content-length");
  if (declaredLength !== null) {
    const declaredBytes = Number(declaredLength);
    if (!Number.isSafeInteger(declaredBytes) || declaredBytes < 0) throw invalidRequest(`Content-Length must be a number of bytes, not '${declaredLength}'`);
    if (declaredBytes > requestBytesMax) throw bodyTooLarge(requestBytesMax, declaredBytes);
    lease?.reserve(declaredBytes);
    // Bun frames the body by Content-Length: exactly declaredBytes arrive.
    return new Uint8Array(await request.arrayBuffer());
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let receivedBytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return joinBytes(chunks, receivedBytes);
    receivedBytes += value.length;
    if (receivedBytes > requestBytesMax) {
      void reader.cancel().catch(() => {});
      throw bodyTooLarge(requestBytesMax);
    }
    try {
      lease?.reserve(value.length);
    } catch (error) {
      void reader.cancel().catch(() => {});
      throw error;
    }
    chunks.push(value);
  }
}

/** 413 for a body over the limit; its size is known when it was declared, else only that it passed the limit. */
function bodyTooLarge(requestBytesMax: number, declaredBytes?: number): GafkaError {
  const size = declaredBytes === undefined ? `more than ${requestBytesMax} bytes` : `${declaredBytes} bytes`;
  return new GafkaError("message_too_large", `the request body is ${size}; the most a request may carry is ${requestBytesMax}`, {
    details: declaredBytes === undefined ? { max_bytes: requestBytesMax } : { size_bytes: declaredBytes, max_bytes: requestBytesMax },
  });
}

/** Kafka's RecordBatch v2 bytes, the binary produce and consume form (docs/api.md "Record batches"). */
export const RECORD_BATCH_MEDIA_TYPE = "application/vnd.kafka.record-batch";

/** `application/json`, with or without parameters such as `; charset=utf-8`, in any case. */
export function isJsonContentType(value: string | null): boolean {
  return isMediaType(value, "application/json");
}

/** RECORD_BATCH_MEDIA_TYPE, with or without parameters, in any case. */
export function isRecordBatchContentType(value: string | null): boolean {
  return isMediaType(value, RECORD_BATCH_MEDIA_TYPE);
}

function isMediaType(value: string | null, mediaType: string): boolean {
  if (value === null) return false;
  if (value === mediaType) return true;
  const semicolon = value.indexOf(";");
  return (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase() === mediaType;
}

/** Each request's query, parsed once however many layers ask (the replication guard, then the route). */
const parsedQueries = new WeakMap<Request, URLSearchParams>();

/** The query string's parameters (empty when there is none). */
export function queryOf(request: Request): URLSearchParams {
  let query = parsedQueries.get(request);
  if (query === undefined) {
    const url = request.url;
    const questionMark = url.indexOf("?");
    query = new URLSearchParams(questionMark === -1 ? "" : url.slice(questionMark + 1));
    parsedQueries.set(request, query);
  }
  return query;
}

export function requiredParameter(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null || value === "") throw invalidRequest(`query parameter '${name}' is required`, { parameter: name });
  return value;
}

/** A non-negative safe integer written in decimal digits, or a 400 naming the parameter. */
export function parseNonNegativeInteger(text: string, name: string): number {
  let digits = text.length > 0 && text.length <= 16;
  for (let i = 0; digits && i < text.length; i++) {
    const code = text.charCodeAt(i);
    digits = code >= 48 && code <= 57;
  }
  const value = digits ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw invalidRequest(`query parameter '${name}' must be a non-negative integer, not '${text}'`, { parameter: name });
  }
  return value;
}

/** An integer in [min, max] given as a query parameter, or `fallback` when absent. */
export function parseIntegerInRange(
  query: URLSearchParams,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const value = parseNonNegativeInteger(text, name);
  if (value < min || value > max) {
    throw invalidRequest(`query parameter '${name}' must be from ${min} to ${max}, not ${value}`, { parameter: name });
  }
  return value;
}

/** A duration query parameter ("500ms", "30s", "2m", plain ms) of at most maxMs, or `fallback` when absent. */
export function parseDurationParameter(query: URLSearchParams, name: string, maxMs: number, fallback: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const value = parseDurationMs(text, { bareNumberUnit: "ms" });
  if (value === undefined) {
    throw invalidRequest(`query parameter '${name}' must be a duration such as 500ms, 30s or 2m, not '${text}'`, {
      parameter: name,
    });
  }
  if (value > maxMs) {
    throw invalidRequest(`query parameter '${name}' may be at most ${maxMs}ms, not ${value}ms`, { parameter: name });
  }
  return value;
}

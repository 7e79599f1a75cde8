import { crc32c } from "../../../src/protocol/crc32c.ts";
import { buildersFor, type FuzzScope, JSON_TYPE, RECORD_BATCH_TYPE, type RequestShape } from "./base-requests.ts";
import type { FuzzRequest } from "./fuzz-request.ts";
import { encodeQuery, encodeSegment, jsonText, oddJson, oddQueryValue, oddSegment, oddString, RawJson } from "./odd-values.ts";
import { Prng } from "./prng.ts";
import { refusedToSend } from "./replication-guard.ts";

/**
 * The fuzz harness's requests: request i of seed s is always the same. Most
 * are a route's valid-shaped request (base-requests.ts) with one to three
 * mutations — method, path parameter, query, a JSON field, the body's bytes,
 * content type, record batch bytes, the leader-epoch or Authorization header —
 * so validation deep inside is reached; some go out unmutated, some are
 * random through and through, some go to paths no route has.
 */

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "TRACE"];
const UNROUTED_PATHS = [
  "/", "/api", "/api/v1", "/api/v2/topics", "/api/v1/topics/a/b", "/metrics/", "/healthz/", "/healthz/x", "/api/v1/replication",
  "/api/v1/consumer-groups/g/members", "/api/v1/consumer-groups/g/offsets/reset/x", "//api/v1/topics", "/api/v1//topics", "/API/V1/TOPICS",
  "/api/v1/topics/%2F", "/.env", "/api/v1/produce/", "/%2e%2e/%2e%2e/etc/passwd", "/api/v1/consume;x=1",
];
const CONTENT_TYPES = [
  "", JSON_TYPE, RECORD_BATCH_TYPE, "text/plain", "application/json; charset=utf-16", "APPLICATION/JSON", "application/json, text/plain",
  "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream", "application/vnd.kafka.record-batch; v=9",
  "application/jsonx", ";;;", "*/*",
];
const EPOCH_HEADERS = ["abc", "-1", "1.5", "NaN", "Infinity", "99999999999999999999", "1e400", "-9007199254740993", "", " ", "0", "0x", "2147483648", "1,2"];
/**
 * Bun's HTTP parser answers a request head over 16 KiB with a bare 431 (and
 * an unknown method or a raw space in the target with a bare 400 or 505)
 * before gafka sees the request; the harness fuzzes gafka, not the parser, so
 * its heads stay below that and well-formed.
 */
const HEAD_BYTES_MAX = 12 * 1024;
const BATCH_HEADER_BYTES = 61;
const CRC_POSITION = 17;
const ATTRIBUTES_POSITION = 21;

export class RequestGenerator {
  private readonly builders;

  constructor(
    private readonly seed: number,
    private readonly scope: FuzzScope,
    routeTable: readonly { method: string; path: string }[],
  ) {
    this.builders = buildersFor(routeTable);
  }

  /** Request `index` of this seed, never one the replication guard refuses (it is regenerated under a derived seed). */
  request(index: number): FuzzRequest {
    for (let attempt = 0; attempt < 20; attempt++) {
      const rng = new Prng(hash(this.seed, index, attempt));
      const request = this.make(rng);
      if (headBytes(request) <= HEAD_BYTES_MAX && refusedToSend(request, this.scope) === undefined) return request;
    }
    return { target: "leader", method: "GET", path: "/healthz", headers: [], origin: "fallback" };
  }

  private make(rng: Prng): FuzzRequest {
    const target = this.scope.hasFollower && rng.chance(0.15) ? "follower" : "leader";
    const roll = rng.next();
    if (roll < 0.07) return { target, ...randomRequest(rng), origin: "random" };
    const { route, build } = roll < 0.1 ? { route: "unrouted", build: () => unroutedShape(rng) } : rng.pick(this.builders);
    const shape = build(rng, this.scope);
    const mutations: string[] = [];
    if (rng.chance(0.85)) {
      for (let n = rng.int(1, 3); n > 0; n--) mutations.push(mutate(rng, shape));
    }
    return { target, ...written(shape), origin: `${route}${mutations.length === 0 ? " (valid-shaped)" : `, mutated: ${mutations.join(", ")}`}` };
  }
}

function headBytes(request: FuzzRequest): number {
  return Buffer.byteLength(request.path) + request.headers.reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
}

function hash(seed: number, index: number, attempt: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35) ^ Math.imul(attempt + 1, 0x27d4eb2f);
  h ^= h >>> 16;
  return Math.imul(h, 0x7feb352d) >>> 0;
}

function unroutedShape(rng: Prng): RequestShape {
  return { method: rng.pick(METHODS), template: rng.pick(UNROUTED_PATHS), params: {}, query: [], headers: [] };
}

function randomRequest(rng: Prng): Omit<FuzzRequest, "target" | "origin"> {
  const segments = Array.from({ length: rng.int(0, 6) }, () => (rng.chance(0.5) ? rng.pick(["api", "v1", "topics", "consume", "replication", "consumer-groups", "members", "offsets"]) : oddSegment(rng)));
  const headers: [string, string][] = rng.chance(0.5) ? [["content-type", rng.pick(CONTENT_TYPES)]] : [];
  return { method: rng.pick(METHODS), path: `/${segments.join("/")}${rng.chance(0.3) ? `?${oddQueryValue(rng)}=${oddQueryValue(rng)}` : ""}`, headers, body: rng.chance(0.6) ? rng.bytes(rng.length(4096)) : undefined };
}

/** Applies one mutation to the shape; returns its name. */
function mutate(rng: Prng, shape: RequestShape): string {
  const kinds = ["method", "param", "query", "json", "bytes", "content-type", "epoch", "authorization", "batch"];
  const kind = rng.pick(kinds);
  switch (kind) {
    case "method":
      shape.method = rng.pick(METHODS);
      break;
    case "param": {
      const names = Object.keys(shape.params);
      if (names.length === 0) shape.template += rng.chance(0.5) ? `/${oddSegment(rng)}` : "/";
      else shape.params[rng.pick(names)] = oddSegment(rng);
      break;
    }
    case "query":
      mutateQuery(rng, shape);
      break;
    case "json":
      if (shape.body === undefined || rng.chance(0.1)) shape.body = oddJson(rng);
      else shape.body = mutateJson(rng, shape.body);
      setHeader(shape, "content-type", shape.headers.find(([name]) => name === "content-type")?.[1] ?? JSON_TYPE);
      shape.bodyBytes = undefined;
      break;
    case "bytes":
      shape.bodyBytes = mutateBytes(rng, bodyOf(shape) ?? new Uint8Array());
      break;
    case "content-type":
      if (rng.chance(0.2)) shape.headers = shape.headers.filter(([name]) => name !== "content-type");
      else setHeader(shape, "content-type", rng.chance(0.9) ? rng.pick(CONTENT_TYPES) : printable(oddString(rng)));
      break;
    case "epoch":
      shape.headers.push(["gafka-leader-epoch", rng.chance(0.8) ? rng.pick(EPOCH_HEADERS) : printable(oddString(rng))]);
      break;
    case "authorization":
      shape.headers.push(["authorization", authorization(rng)]);
      break;
    default:
      shape.bodyBytes = mutateBatch(rng, shape.bodyBytes ?? (shape.body === undefined ? new Uint8Array() : recordBatchLike(rng)));
      setHeader(shape, "content-type", RECORD_BATCH_TYPE);
  }
  return kind;
}

function mutateQuery(rng: Prng, shape: RequestShape): void {
  const roll = rng.next();
  if (shape.query.length > 0 && roll < 0.5) shape.query[rng.int(0, shape.query.length - 1)]![1] = oddQueryValue(rng);
  else if (shape.query.length > 0 && roll < 0.65) shape.query.splice(rng.int(0, shape.query.length - 1), 1);
  else if (shape.query.length > 0 && roll < 0.8) shape.query.push([rng.pick(shape.query)[0], oddQueryValue(rng)]);
  else shape.query.push([rng.pick(["topic", "partition", "offset", "count", "timeout", "acks", "group_id", "consumer_id", "x", "", "a b"]).replace(" ", "%20"), oddQueryValue(rng)]);
}

/** The value with one of its fields (at any depth) replaced, removed or joined by an unknown one. */
function mutateJson(rng: Prng, value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || rng.chance(0.2)) return [...value, oddJson(rng)];
    const copy = [...value];
    const at = rng.int(0, copy.length - 1);
    copy[at] = rng.chance(0.5) ? mutateJson(rng, copy[at]) : oddJson(rng);
    return copy;
  }
  if (value !== null && typeof value === "object" && !(value instanceof RawJson)) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    const roll = rng.next();
    if (keys.length === 0 || roll < 0.1) copy[rng.chance(0.5) ? "unknown" : oddString(rng).slice(0, 30)] = oddJson(rng);
    else if (roll < 0.25) delete copy[rng.pick(keys)];
    else {
      const key = rng.pick(keys);
      copy[key] = rng.chance(0.6) ? oddJson(rng) : mutateJson(rng, copy[key]);
    }
    return copy;
  }
  return oddJson(rng);
}

function mutateBytes(rng: Prng, bytes: Uint8Array): Uint8Array {
  switch (rng.int(0, 7)) {
    case 0: return bytes.subarray(0, rng.int(0, bytes.length));
    case 1: return flip(rng, bytes, rng.int(1, 4));
    case 2: return rng.bytes(rng.length(8192));
    case 3: return new Uint8Array();
    case 4: return new TextEncoder().encode(rng.pick(["null", "[]", '"s"', "1", "{", '{"a":1,"a":2}', "\ufeff{}", "{}garbage", "{} {}", "\u0000"]));
    case 5: return Buffer.concat([bytes, rng.bytes(rng.int(1, 64))]);
    case 6: return Buffer.concat([new TextEncoder().encode("\ufeff"), bytes]);
    default: return new TextEncoder().encode(new TextDecoder("latin1").decode(bytes).replace(/"/g, rng.pick(["'", "", '""'])));
  }
}

function flip(rng: Prng, bytes: Uint8Array, times: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  for (let i = 0; i < times && copy.length > 0; i++) copy[rng.int(0, copy.length - 1)]! ^= 1 << rng.int(0, 7);
  return copy;
}

function recordBatchLike(rng: Prng): Uint8Array {
  return rng.bytes(rng.int(BATCH_HEADER_BYTES, 200));
}

/**
 * A record batch broken in one place: truncated, bit-flipped (its CRC-32C
 * fixed again most of the time, so the checks behind the CRC are reached), a
 * header field set to an odd value, or garbage after it.
 */
function mutateBatch(rng: Prng, batch: Uint8Array): Uint8Array {
  const copy = new Uint8Array(batch);
  const roll = rng.int(0, 4);
  if (roll === 0) return copy.subarray(0, rng.int(0, copy.length));
  if (roll === 1) return Buffer.concat([copy, rng.bytes(rng.int(1, 80))]);
  if (copy.length < BATCH_HEADER_BYTES) return flip(rng, copy, 1);
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  if (roll === 2) copy[rng.int(0, copy.length - 1)]! ^= 1 << rng.int(0, 7);
  else {
    // A header field: batchLength, magic, attributes, lastOffsetDelta, producer id/epoch, base sequence, record count.
    const field = rng.pick([[8, 4], [16, 1], [21, 2], [23, 4], [43, 8], [51, 2], [53, 4], [57, 4]] as const);
    const value = rng.pick([0, 1, -1, 2, 7, 0x7fffffff, -0x80000000, 0xff]);
    if (field[1] === 1) view.setInt8(field[0], value);
    else if (field[1] === 2) view.setInt16(field[0], value);
    else if (field[1] === 4) view.setInt32(field[0], value);
    else view.setBigInt64(field[0], BigInt(value));
  }
  if (rng.chance(0.75)) view.setUint32(CRC_POSITION, crc32c(copy, ATTRIBUTES_POSITION));
  return copy;
}

function authorization(rng: Prng): string {
  return rng.pick([
    "Basic !!!", `Basic ${btoa("user:password")}`, "Basic ", "Bearer ", `Bearer ${"x".repeat(rng.pick([1, 100, 8000]))}`, "Negotiate abc",
    "basic", "", "Basic Og==", `Basic ${Buffer.from(rng.bytes(20)).toString("base64")}`, "Bearer a b c", "Scram-SHA-256 x",
  ]);
}

function setHeader(shape: RequestShape, name: string, value: string): void {
  shape.headers = [...shape.headers.filter(([header]) => header !== name), [name, value]];
}

/** Header values carry visible ASCII only: anything else is refused by the HTTP parser, before gafka sees it. */
function printable(text: string): string {
  return text.replace(/[^\u0020-\u007e]/g, "?");
}

function bodyOf(shape: RequestShape): Uint8Array | undefined {
  if (shape.bodyBytes !== undefined) return shape.bodyBytes;
  return shape.body === undefined ? undefined : new TextEncoder().encode(jsonText(shape.body));
}

function written(shape: RequestShape): Omit<FuzzRequest, "target" | "origin"> {
  const path = shape.template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = shape.params[name] ?? "";
    return /^[A-Za-z0-9._-]*$/.test(value) ? value : value.includes("%") || [...value].some((c) => c.charCodeAt(0) > 0x7f) ? value : encodeSegment(value);
  });
  const query = shape.query.map(([name, value]) => `${name}=${/^[\w.,:-]*$/.test(value) ? value : value.includes("%") ? value : encodeQuery(value)}`).join("&");
  return { method: shape.method, path: query === "" ? path : `${path}?${query}`, headers: shape.headers, body: bodyOf(shape) };
}

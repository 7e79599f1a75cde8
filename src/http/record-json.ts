import type { ProduceRecord } from "../broker/broker.ts";
import { invalidRequest } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { RecordHeader, StoredRecord } from "../protocol/record.ts";

/**
 * Records between their JSON wire form (docs/api.md) and the broker's bytes.
 *
 * Produce, one record (the batch form carries a list of these without
 * `topic`, and may give the encodings once at the top level):
 *   {"topic": "t", "key": "user123" | null, "value": "Hello" | null,
 *    "partition": 0, "headers": {"trace-id": "abc"} | [{"key": "k", "value": "v" | null}],
 *    "timestamp": 1764000000000, "key_encoding": "utf8" | "base64", "value_encoding": "utf8" | "base64"}
 * `key_encoding` applies to the key; `value_encoding` to the value and the
 * header values. Header keys are always UTF-8 text.
 *
 * Consume, one record:
 *   {"partition": 0, "offset": 100, "key": "user123" | null, "value": "Hello" | null,
 *    "headers": {"trace-id": "abc"}, "timestamp": 1764000000000}
 * with key, value and header values in the requested encoding. Headers come
 * as an object, or as a list of {"key","value"} when a key repeats.
 */
export type Encoding = "utf8" | "base64";

export interface ProduceRequest {
  topic: string;
  records: ProduceRecord[];
  /** True for the `records` form, which is answered with a list of results. */
  batch: boolean;
}

export type HeadersJson = Record<string, string | null> | { key: string; value: string | null }[];

export interface RecordJson {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: HeadersJson;
  timestamp: number;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
const NO_HEADERS: RecordHeader[] = [];

/** Reads a produce request body; throws invalid_request naming the field at fault. */
export function decodeProduceRequest(body: Record<string, unknown>): ProduceRequest {
  const topic = body.topic;
  if (typeof topic !== "string") throw invalidRequest("field 'topic' is required and must be a string", { field: "topic" });
  const keyEncoding = parseEncoding(body.key_encoding, "key_encoding", "utf8");
  const valueEncoding = parseEncoding(body.value_encoding, "value_encoding", "utf8");
  const list = body.records;
  if (list === undefined) {
    return { topic, records: [decodeRecord(body, "", keyEncoding, valueEncoding)], batch: false };
  }
  if (!Array.isArray(list)) throw invalidRequest("field 'records' must be an array", { field: "records" });
  if (body.value !== undefined || body.key !== undefined) {
    throw invalidRequest("give either 'records' or a single record's 'key'/'value', not both", { field: "records" });
  }
  if (list.length === 0) throw invalidRequest("field 'records' must hold at least one record", { field: "records" });
  if (list.length > limits.recordsPerRequestMax) {
    throw invalidRequest(`field 'records' may hold at most ${limits.recordsPerRequestMax} records`, { field: "records" });
  }
  const records = new Array<ProduceRecord>(list.length);
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    const where = `records[${i}].`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw invalidRequest(`${where.slice(0, -1)} must be an object`, { field: where.slice(0, -1) });
    }
    records[i] = decodeRecord(item as Record<string, unknown>, where, keyEncoding, valueEncoding);
  }
  return { topic, records, batch: true };
}

function decodeRecord(
  source: Record<string, unknown>,
  where: string,
  keyEncodingDefault: Encoding,
  valueEncodingDefault: Encoding,
): ProduceRecord {
  const keyEncoding =
    source.key_encoding === undefined ? keyEncodingDefault : parseEncoding(source.key_encoding, `${where}key_encoding`, "utf8");
  const valueEncoding =
    source.value_encoding === undefined
      ? valueEncodingDefault
      : parseEncoding(source.value_encoding, `${where}value_encoding`, "utf8");
  if (source.value === undefined) throw invalidRequest(`field '${where}value' is required`, { field: `${where}value` });
  const record: ProduceRecord = {
    key: decodeBytes(source.key, `${where}key`, keyEncoding),
    value: decodeBytes(source.value, `${where}value`, valueEncoding),
    headers: source.headers === undefined || source.headers === null ? NO_HEADERS : decodeHeaders(source.headers, where, valueEncoding),
  };
  const partition = source.partition;
  if (partition !== undefined && partition !== null) {
    if (typeof partition !== "number" || !Number.isSafeInteger(partition) || partition < 0) {
      throw invalidRequest(`field '${where}partition' must be a non-negative integer`, { field: `${where}partition` });
    }
    record.partition = partition;
  }
  const timestamp = source.timestamp;
  if (timestamp !== undefined && timestamp !== null) {
    if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw invalidRequest(`field '${where}timestamp' must be milliseconds since the epoch (a non-negative integer)`, {
        field: `${where}timestamp`,
      });
    }
    record.timestampMs = timestamp;
  }
  return record;
}

function decodeHeaders(headers: unknown, where: string, encoding: Encoding): RecordHeader[] {
  const field = `${where}headers`;
  const decoded: RecordHeader[] = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) {
      const entry: unknown = headers[i];
      if (typeof entry !== "object" || entry === null) {
        throw invalidRequest(`field '${field}[${i}]' must be an object {"key", "value"}`, { field });
      }
      const { key, value } = entry as { key?: unknown; value?: unknown };
      decoded.push(decodeHeader(key, value ?? null, `${field}[${i}]`, encoding));
    }
  } else if (typeof headers === "object" && headers !== null) {
    for (const key in headers) decoded.push(decodeHeader(key, (headers as Record<string, unknown>)[key], `${field}.${key}`, encoding));
  } else {
    throw invalidRequest(`field '${field}' must be an object of strings or an array of {"key", "value"}`, { field });
  }
  if (decoded.length > limits.headersPerRecordMax) {
    throw invalidRequest(`field '${field}' may hold at most ${limits.headersPerRecordMax} headers`, { field });
  }
  return decoded;
}

function decodeHeader(key: unknown, value: unknown, field: string, encoding: Encoding): RecordHeader {
  if (typeof key !== "string" || key.length === 0 || key.length > limits.headerKeyLengthMax) {
    throw invalidRequest(`header keys must be strings of 1 to ${limits.headerKeyLengthMax} characters (${field})`, { field });
  }
  return { key, value: decodeBytes(value, field, encoding) };
}

/** A JSON string (UTF-8 text or base64) or null as bytes; anything else is a 400. */
function decodeBytes(text: unknown, field: string, encoding: Encoding): Uint8Array | null {
  if (text === undefined || text === null) return null;
  if (typeof text !== "string") throw invalidRequest(`field '${field}' must be a string or null`, { field });
  if (encoding === "utf8") return utf8Encoder.encode(text);
  try {
    return Uint8Array.fromBase64(text);
  } catch {
    throw invalidRequest(`field '${field}' is not valid base64`, { field });
  }
}

/** "utf8" or "base64" (`fallback` when absent); anything else is a 400 naming the field. */
export function parseEncoding(value: unknown, field: string, fallback: Encoding): Encoding {
  if (value === undefined || value === null) return fallback;
  if (value === "utf8" || value === "base64") return value;
  throw invalidRequest(`'${field}' must be "utf8" or "base64"`, { field });
}

/** A stored record in its consume wire form. */
export function encodeStoredRecord(record: StoredRecord, partition: number, encoding: Encoding): RecordJson {
  return {
    partition,
    offset: record.offset,
    key: encodeBytes(record.key, encoding),
    value: encodeBytes(record.value, encoding),
    headers: encodeHeaders(record.headers, encoding),
    timestamp: record.timestampMs,
  };
}

/** Headers in their consume wire form: an object, or a list of {"key","value"} when a key repeats. */
export function encodeHeaders(headers: RecordHeader[], encoding: Encoding): HeadersJson {
  // No prototype: a header named "__proto__" is data like any other.
  const object = Object.create(null) as Record<string, string | null>;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    if (Object.hasOwn(object, header.key)) {
      // A repeated key: only the list form keeps every value.
      return headers.map((each) => ({ key: each.key, value: encodeBytes(each.value, encoding) }));
    }
    object[header.key] = encodeBytes(header.value, encoding);
  }
  return object;
}

function encodeBytes(bytes: Uint8Array | null, encoding: Encoding): string | null {
  if (bytes === null) return null;
  return encoding === "utf8" ? utf8Decoder.decode(bytes) : bytes.toBase64();
}

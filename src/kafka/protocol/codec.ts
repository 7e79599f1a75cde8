/**
 * The Kafka codec's public surface: one encoder and one decoder for every
 * message gafka describes (types.ts says how a description reads). A request
 * on the wire is `int32 size | request header | body`; a response is
 * `int32 size | response header | body`. This module encodes and decodes the
 * header and the body; the size prefix and the connection are the listener's.
 */
import { GafkaError } from "../../core/errors.ts";
import { readInt16, readInt32 } from "../../protocol/big-endian.ts";
import { malformed, Reader, readStruct } from "./decoder.ts";
import { sizeOfStruct, writeStruct } from "./encoder.ts";
import { API_VERSIONS_KEY } from "./messages/api-versions.ts";
import { REQUEST_HEADER, RESPONSE_HEADER } from "./messages/headers.ts";
import { isDescribedVersion, planOf } from "./plan.ts";
import { inVersionRange, type MessageDescription, type MessageValue } from "./types.ts";

/** Bytes `value` takes as `description` at `version`. */
export function encodedSize(description: MessageDescription, version: number, value: MessageValue): number {
  return sizeOfStruct(planOf(description, version), value);
}

/** Writes `value` at `position` (the caller sized `bytes` with encodedSize); returns the position after it. */
export function encodeInto(
  description: MessageDescription,
  version: number,
  value: MessageValue,
  bytes: Uint8Array,
  position: number,
): number {
  return writeStruct(bytes, position, planOf(description, version), value);
}

export function encode(description: MessageDescription, version: number, value: MessageValue): Uint8Array {
  const bytes = new Uint8Array(encodedSize(description, version, value));
  const end = encodeInto(description, version, value, bytes, 0);
  if (end !== bytes.length) throw new Error(`${description.name} v${version}: sized ${bytes.length} bytes, wrote ${end}`);
  return bytes;
}

/**
 * Reads one `description` at `version` from bytes[position, end) and returns
 * it with the position after it. Malformed input is a GafkaError
 * `invalid_request`; a version gafka does not describe is `invalid_request` too
 * (the listener answers UNSUPPORTED_VERSION before getting here).
 */
export function decodeAt<T = Record<string, unknown>>(
  description: MessageDescription,
  version: number,
  bytes: Uint8Array,
  position = 0,
  end = bytes.length,
): { value: T; position: number } {
  if (!isDescribedVersion(description, version)) {
    throw new GafkaError("invalid_request", `${description.name} version ${version} is not supported`);
  }
  const reader = new Reader(bytes, position, end);
  const value = readStruct(reader, planOf(description, version)) as T;
  return { value, position: reader.position };
}

/** Reads a whole message: bytes left over after it are malformed too. */
export function decode<T = Record<string, unknown>>(description: MessageDescription, version: number, bytes: Uint8Array): T {
  const { value, position } = decodeAt<T>(description, version, bytes);
  if (position !== bytes.length) throw malformed(`${bytes.length - position} bytes after ${description.name}`, position);
  return value;
}

export interface RequestHeader {
  readonly requestApiKey: number;
  readonly requestApiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** The first fields of every request header, read before the API is known (to answer an unknown one). */
export function peekRequestHeader(bytes: Uint8Array): { apiKey: number; apiVersion: number; correlationId: number } {
  if (bytes.length < 8) throw malformed(`request of ${bytes.length} bytes has no header`, 0);
  return { apiKey: readInt16(bytes, 0), apiVersion: readInt16(bytes, 2), correlationId: readInt32(bytes, 4) };
}

/** Request header v2 for a flexible version of the request, v1 otherwise (v0, without a client id, is long gone). */
export function requestHeaderVersion(request: MessageDescription, apiVersion: number): number {
  return inVersionRange(request.flexibleVersions, apiVersion) ? 2 : 1;
}

/** Response header v1 for a flexible version, v0 otherwise; ApiVersions answers always use v0, so that a client learns the versions before it can parse a tagged section. */
export function responseHeaderVersion(response: MessageDescription, apiVersion: number): number {
  if (response.apiKey === API_VERSIONS_KEY) return 0;
  return inVersionRange(response.flexibleVersions, apiVersion) ? 1 : 0;
}

/** Reads a request's header and body: `bytes` is one request without its size prefix. */
export function decodeRequest<T = Record<string, unknown>>(
  request: MessageDescription,
  bytes: Uint8Array,
): { header: RequestHeader; body: T } {
  const { apiVersion } = peekRequestHeader(bytes);
  const header = decodeAt<RequestHeader>(REQUEST_HEADER, requestHeaderVersion(request, apiVersion), bytes);
  const body = decodeAt<T>(request, apiVersion, bytes, header.position);
  if (body.position !== bytes.length) throw malformed(`${bytes.length - body.position} bytes after ${request.name}`, body.position);
  return { header: header.value, body: body.value };
}

/** Encodes a request: header (v1 or v2 as the version asks) then body. The SDK or tests use it; the broker only decodes requests. */
export function encodeRequest(
  request: MessageDescription,
  header: RequestHeader,
  body: MessageValue,
): Uint8Array {
  const headerVersion = requestHeaderVersion(request, header.requestApiVersion);
  const headerValue = header as unknown as MessageValue;
  const headerSize = encodedSize(REQUEST_HEADER, headerVersion, headerValue);
  const bytes = new Uint8Array(headerSize + encodedSize(request, header.requestApiVersion, body));
  const position = encodeInto(REQUEST_HEADER, headerVersion, headerValue, bytes, 0);
  encodeInto(request, header.requestApiVersion, body, bytes, position);
  return bytes;
}

/** Encodes a response: header (v0 or v1) then body, behind `prefixBytes` bytes the caller fills (e.g. the 4-byte size). */
export function encodeResponse(
  response: MessageDescription,
  apiVersion: number,
  correlationId: number,
  body: MessageValue,
  prefixBytes = 0,
): Uint8Array {
  const headerVersion = responseHeaderVersion(response, apiVersion);
  const header = { correlationId };
  const headerSize = encodedSize(RESPONSE_HEADER, headerVersion, header);
  const bytes = new Uint8Array(prefixBytes + headerSize + encodedSize(response, apiVersion, body));
  const position = encodeInto(RESPONSE_HEADER, headerVersion, header, bytes, prefixBytes);
  const end = encodeInto(response, apiVersion, body, bytes, position);
  if (end !== bytes.length) throw new Error(`${response.name} v${apiVersion}: sized ${bytes.length} bytes, wrote ${end}`);
  return bytes;
}

/** Reads a response's header and body (the SDK's side; tests use it to read what the broker wrote). */
export function decodeResponse<T = Record<string, unknown>>(
  response: MessageDescription,
  apiVersion: number,
  bytes: Uint8Array,
): { correlationId: number; body: T } {
  const header = decodeAt<{ correlationId: number }>(RESPONSE_HEADER, responseHeaderVersion(response, apiVersion), bytes);
  const body = decodeAt<T>(response, apiVersion, bytes, header.position);
  if (body.position !== bytes.length) throw malformed(`${bytes.length - body.position} bytes after ${response.name}`, body.position);
  return { correlationId: header.value.correlationId, body: body.value };
}

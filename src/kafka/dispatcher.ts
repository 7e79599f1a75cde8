/**
 * Turns one Kafka request into its answer: reads the header, picks the API
 * this listener serves, decodes, calls the API's handler, encodes the answer
 * behind room for its size prefix. What cannot be answered in a form the
 * client would read (an API or version not served, malformed bytes) is
 * `undefined`: the listener closes the connection, as Kafka does. The one
 * exception is Kafka's too: ApiVersions at a version the broker does not
 * know answers UNSUPPORTED_VERSION with the versions it does, in v0, so the
 * client can retry at one of them.
 */
import type { Logger } from "../core/logger.ts";
import { writeInt32 } from "../protocol/big-endian.ts";
import { type KafkaApiInstrument, type KafkaDoorMetrics, UNSERVED_API } from "../metrics/kafka-door-metrics.ts";
import { decodeRequest, encodeResponse, peekRequestHeader, type RequestHeader } from "./protocol/codec.ts";
import { API_VERSIONS } from "./protocol/messages/api-versions.ts";
import { isDescribedVersion } from "./protocol/plan.ts";
import { type ApiDescription, type MessageValue, parseVersionRange } from "./protocol/types.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { NO_ANSWER } from "./listener.ts";

export { NO_ANSWER };

const NEVER_ABORTED = new AbortController().signal;
const NOT_REUSED = () => {};

/**
 * What a served API answers to have the connection closed instead of
 * answered: Kafka's way of telling an acks=0 producer that a produce failed
 * (it reads no answer, but sees the connection drop and refreshes metadata).
 */
export const CLOSE_CONNECTION = Symbol("close the connection");

type Answer = MessageValue | typeof NO_ANSWER | typeof CLOSE_CONNECTION;

/** One served API: its description and what answers a decoded request. */
export interface ServedApi {
  readonly api: ApiDescription;
  /**
   * `signal` aborts when the connection closes or the listener stops: a long
   * poll answers then. `release`: called once nothing refers to the
   * request's bytes any more (the body's byte fields are views of them), so
   * the listener may reuse its memory (RequestHandler); a handler that keeps
   * such views, or is not sure, never calls it.
   */
  handle(body: Record<string, unknown>, header: RequestHeader, signal: AbortSignal, release?: () => void): Answer | Promise<Answer>;
  /**
   * Older versions advertised and read, but only to be refused with an
   * error answer (Produce 0–2, which Kafka 4 advertises for librdkafka's
   * sake and refuses): their own description and handler.
   */
  readonly removedVersions?: ServedApi;
}

export class KafkaDispatcher {
  private readonly served = new Map<number, ServedApi>();
  private readonly instruments = new Map<number, KafkaApiInstrument>();
  private readonly unserved: KafkaApiInstrument | undefined;

  /** `metrics` counts and times every request (labelled by the APIs served, resolved here once). */
  constructor(
    apis: readonly ServedApi[],
    private readonly logger: Logger,
    metrics?: KafkaDoorMetrics,
  ) {
    for (const served of apis) this.served.set(served.api.apiKey, served);
    // ApiVersions is always served: a client asks it first.
    this.served.set(API_VERSIONS.apiKey, { api: API_VERSIONS, handle: () => this.apiVersionsBody() });
    if (metrics !== undefined) {
      for (const served of this.served.values()) this.instruments.set(served.api.apiKey, metrics.api(served.api.name));
      this.unserved = metrics.api(UNSERVED_API);
    }
  }

  /** The answer to one request (size prefix included), NO_ANSWER, or undefined to close the connection; counted and timed when metrics were given. */
  async handle(request: Uint8Array, signal: AbortSignal = NEVER_ABORTED, release: () => void = NOT_REUSED): Promise<Uint8Array | typeof NO_ANSWER | undefined> {
    if (this.unserved === undefined) return (await this.answer(request, signal, release)).answer;
    const startedMs = this.unserved.started();
    let outcome: Outcome = CLOSED;
    try {
      outcome = await this.answer(request, signal, release);
    } catch (error) {
      // A handler's bug: counted under its API, and the listener closes the connection.
      outcome = { answer: undefined, apiKey: peekRequestHeader(request).apiKey, errorCode: "closed" };
      throw error;
    } finally {
      const instrument = (outcome.apiKey === undefined ? undefined : this.instruments.get(outcome.apiKey)) ?? this.unserved;
      instrument.answered(outcome.errorCode, startedMs);
    }
    return outcome.answer;
  }

  private async answer(request: Uint8Array, signal: AbortSignal, release: () => void): Promise<Outcome> {
    let peeked: ReturnType<typeof peekRequestHeader>;
    try {
      peeked = peekRequestHeader(request);
    } catch {
      this.logger.debug(`kafka request of ${request.length} bytes has no header; closing`);
      return CLOSED;
    }
    const { apiKey, apiVersion, correlationId } = peeked;
    let served = this.served.get(apiKey);
    if (served?.removedVersions !== undefined && isDescribedVersion(served.removedVersions.api.request, apiVersion)) served = served.removedVersions;
    if (served === undefined) {
      this.logger.debug(`kafka API key ${apiKey} is not served; closing`);
      return CLOSED;
    }
    if (!isDescribedVersion(served.api.request, apiVersion)) {
      if (apiKey !== API_VERSIONS.apiKey) {
        this.logger.debug(`kafka ${served.api.name} v${apiVersion} is not served; closing`);
        return CLOSED;
      }
      // Kafka's answer to a client newer than the broker: the error and the versions served, in v0, which every client reads.
      const answer = withSizePrefix(encodeResponse(API_VERSIONS.response, 0, correlationId, { ...this.apiVersionsBody(), errorCode: KAFKA_ERRORS.unsupportedVersion }, 4));
      return { answer, apiKey, errorCode: KAFKA_ERRORS.unsupportedVersion };
    }
    let decoded: { header: RequestHeader; body: Record<string, unknown> };
    try {
      decoded = decodeRequest(served.api.request, request);
    } catch (error) {
      this.logger.debug(`kafka ${served.api.name} v${apiVersion} is malformed (${error instanceof Error ? error.message : String(error)}); closing`);
      return { answer: undefined, apiKey, errorCode: "closed" };
    }
    const body = await served.handle(decoded.body, decoded.header, signal, release);
    if (body === NO_ANSWER) return { answer: NO_ANSWER, apiKey, errorCode: KAFKA_ERRORS.none };
    if (body === CLOSE_CONNECTION) {
      this.logger.debug(`kafka ${served.api.name} v${apiVersion} ends its connection`);
      return { answer: undefined, apiKey, errorCode: "closed" };
    }
    const answer = withSizePrefix(encodeResponse(served.api.response, apiVersion, correlationId, body, 4));
    return { answer, apiKey, errorCode: this.unserved === undefined ? KAFKA_ERRORS.none : firstErrorCode(body) };
  }

  /** ApiVersions' answer: every API served, with the versions described, by key. */
  private apiVersionsBody(): MessageValue {
    const apiKeys = [...this.served.values()]
      .map(({ api, removedVersions }) => {
        const range = parseVersionRange(api.request.validVersions);
        const removed = removedVersions === undefined ? range : parseVersionRange(removedVersions.api.request.validVersions);
        return { apiKey: api.apiKey, minVersion: Math.min(range.min, removed.min), maxVersion: range.max };
      })
      .sort((a, b) => a.apiKey - b.apiKey);
    return { errorCode: KAFKA_ERRORS.none, apiKeys, throttleTimeMs: 0 };
  }
}

/** Fills the 4 bytes encodeResponse left in front with the size of what follows. */
function withSizePrefix(bytes: Uint8Array): Uint8Array {
  // Byte by byte: a DataView would make the engine materialize the answer's ArrayBuffer, on every answer.
  writeInt32(bytes, 0, bytes.length - 4);
  return bytes;
}

/** What one request came to: the answer, the API it was for (undefined when it names none served), the error code it is counted under. */
interface Outcome {
  answer: Uint8Array | typeof NO_ANSWER | undefined;
  apiKey: number | undefined;
  errorCode: number | "closed";
}

const CLOSED: Outcome = { answer: undefined, apiKey: undefined, errorCode: "closed" };

/**
 * The error code a request is counted under: the answer's own, else the
 * first non-zero one of its topics, partitions or resources, else 0. Record
 * bytes are not walked.
 */
function firstErrorCode(value: unknown): number {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return KAFKA_ERRORS.none;
  if (Array.isArray(value)) {
    for (const item of value) {
      const code = firstErrorCode(item);
      if (code !== KAFKA_ERRORS.none) return code;
    }
    return KAFKA_ERRORS.none;
  }
  const fields = value as Record<string, unknown>;
  if (typeof fields.errorCode === "number" && fields.errorCode !== KAFKA_ERRORS.none) return fields.errorCode;
  for (const key in fields) {
    const field = fields[key];
    if (typeof field === "object" && field !== null) {
      const code = firstErrorCode(field);
      if (code !== KAFKA_ERRORS.none) return code;
    }
  }
  return KAFKA_ERRORS.none;
}

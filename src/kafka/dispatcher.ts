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
import { decodeRequest, encodeResponse, peekRequestHeader, type RequestHeader } from "./protocol/codec.ts";
import { API_VERSIONS } from "./protocol/messages/api-versions.ts";
import { isDescribedVersion } from "./protocol/plan.ts";
import { type ApiDescription, type MessageValue, parseVersionRange } from "./protocol/types.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { NO_ANSWER } from "./listener.ts";

export { NO_ANSWER };

const NEVER_ABORTED = new AbortController().signal;

/** One served API: its description and what answers a decoded request. */
export interface ServedApi {
  readonly api: ApiDescription;
  /** `signal` aborts when the connection closes or the listener stops: a long poll answers then. */
  handle(body: Record<string, unknown>, header: RequestHeader, signal: AbortSignal): MessageValue | typeof NO_ANSWER | Promise<MessageValue | typeof NO_ANSWER>;
  /**
   * Older versions advertised and read, but only to be refused with an
   * error answer (Produce 0–2, which Kafka 4 advertises for librdkafka's
   * sake and refuses): their own description and handler.
   */
  readonly removedVersions?: ServedApi;
}

export class KafkaDispatcher {
  private readonly served = new Map<number, ServedApi>();

  constructor(
    apis: readonly ServedApi[],
    private readonly logger: Logger,
  ) {
    for (const served of apis) this.served.set(served.api.apiKey, served);
    // ApiVersions is always served: a client asks it first.
    this.served.set(API_VERSIONS.apiKey, { api: API_VERSIONS, handle: () => this.apiVersionsBody() });
  }

  /** The answer to one request (size prefix included), NO_ANSWER, or undefined to close the connection. */
  async handle(request: Uint8Array, signal: AbortSignal = NEVER_ABORTED): Promise<Uint8Array | typeof NO_ANSWER | undefined> {
    let peeked: ReturnType<typeof peekRequestHeader>;
    try {
      peeked = peekRequestHeader(request);
    } catch {
      this.logger.debug(`kafka request of ${request.length} bytes has no header; closing`);
      return undefined;
    }
    const { apiKey, apiVersion, correlationId } = peeked;
    let served = this.served.get(apiKey);
    if (served?.removedVersions !== undefined && isDescribedVersion(served.removedVersions.api.request, apiVersion)) served = served.removedVersions;
    if (served === undefined) {
      this.logger.debug(`kafka API key ${apiKey} is not served; closing`);
      return undefined;
    }
    if (!isDescribedVersion(served.api.request, apiVersion)) {
      if (apiKey !== API_VERSIONS.apiKey) {
        this.logger.debug(`kafka ${served.api.name} v${apiVersion} is not served; closing`);
        return undefined;
      }
      // Kafka's answer to a client newer than the broker: the error and the versions served, in v0, which every client reads.
      return withSizePrefix(encodeResponse(API_VERSIONS.response, 0, correlationId, { ...this.apiVersionsBody(), errorCode: KAFKA_ERRORS.unsupportedVersion }, 4));
    }
    let decoded: { header: RequestHeader; body: Record<string, unknown> };
    try {
      decoded = decodeRequest(served.api.request, request);
    } catch (error) {
      this.logger.debug(`kafka ${served.api.name} v${apiVersion} is malformed (${error instanceof Error ? error.message : String(error)}); closing`);
      return undefined;
    }
    const body = await served.handle(decoded.body, decoded.header, signal);
    if (body === NO_ANSWER) return NO_ANSWER;
    return withSizePrefix(encodeResponse(served.api.response, apiVersion, correlationId, body, 4));
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
  new DataView(bytes.buffer, bytes.byteOffset, 4).setInt32(0, bytes.length - 4);
  return bytes;
}

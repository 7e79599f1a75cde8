import { GafkaClientError, type ClientErrorCode } from "./client-error.ts";
import { RetryPolicy, type RetryClock, type RetryEvent, type RetryOptions } from "./retry.ts";
import { SocketFetch, type HttpResponseLike } from "./socket-fetch.ts";

/** How the SDK sends a request: fetch's shape, answering at least what `HttpResponseLike` names. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<HttpResponseLike>;

/** TLS to the brokers, as PEM text (not paths: the SDK reads no files). */
export interface ClientTls {
  /** CA(s) that signed the brokers' certificates; default: the system's CAs. */
  ca?: string;
  /** A client certificate, for brokers that require one (--tls-ca on the broker); with `key`. */
  cert?: string;
  /** The private key of `cert`. */
  key?: string;
}

/**
 * Credentials sent on every request (docs/api.md "Authentication"): a
 * user's password as HTTP Basic, or a bearer token (`admin tokens create`).
 */
export type ClientAuth = { user: string; password: string } | { token: string };

/** How to reach the brokers, and how long to keep trying; shared by `Admin`, `Producer` and the consumers. */
export interface ClientOptions extends RetryOptions {
  /**
   * `host:port`, or an `http://` or `https://` URL; several, comma-separated,
   * as `brokers` does. A bare `host:port` is reached by https when `tls` is
   * given or another broker listed is an https URL, by http otherwise.
   * Default `localhost:9001`.
   */
  broker?: string;
  /**
   * Several brokers of one cluster (`host:port` or URLs), instead of `broker`:
   * requests go to the first until it cannot be reached, then to the next.
   * A follower's 421 names the leader, and requests go there (a follower
   * serves partition reads itself). Any one of them is enough to find the
   * leader; listing them all lets the client go on when one is down.
   */
  brokers?: readonly string[];
  /** Bound on one request, on top of any long-poll wait the request asks for. Default 30 s. */
  requestTimeoutMs?: number;
  /** Told before each wait between attempts (a CLI logs it). */
  onRetry?: (event: RetryEvent) => void;
  /** Time and jitter for the retry waits; tests pass a fake one. */
  retryClock?: RetryClock;
  /** https to the brokers with this CA and client certificate (Bun's fetch `tls` option). */
  tls?: ClientTls;
  /** Who the requests are from; anonymous when absent. Use it over https off loopback: Basic and Bearer are plain text on the wire. */
  auth?: ClientAuth;
  /** A fetch to use instead of the SDK's own keep-alive transport (src/client/socket-fetch.ts); tests, or the global fetch. */
  fetch?: FetchFunction;
  /** An existing transport to share; when given, the options above are ignored. */
  transport?: HttpClient;
}

export type HttpMethod = "GET" | "POST" | "DELETE";

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as they are, with `contentType`, instead of a JSON `body`. */
  bytes?: Uint8Array;
  contentType?: string;
  /**
   * A binary media type the caller reads too (sent as `Accept`): a successful
   * answer of that type comes back as bytes (`exchange`). Errors stay JSON.
   */
  accept?: string;
  /**
   * Safe to send twice, so retried after its answer was lost (a reset
   * connection, no answer in time). GET requests are. Any request is retried
   * when the connection was refused (the broker never saw it) and when the
   * broker answered with a retriable error (it did not act on it).
   */
  idempotent?: boolean;
  /**
   * Not safe to send twice, but the caller accepts a duplicate rather than a
   * failure: retried after a lost answer too. The producer's choice
   * (at-least-once, as Kafka's producer without idempotence): a produce
   * whose answer was lost may have been appended, and is appended again.
   */
  resendAfterLostAnswer?: boolean;
  /** How long the broker may legitimately hold the request (long polls); added to the time bound. */
  waitMs?: number;
  signal?: AbortSignal;
}

/** An answer: parsed JSON, or the bytes of the binary type the request accepted. */
export type HttpAnswer<T> = { kind: "json"; json: T } | { kind: "bytes"; bytes: Uint8Array; contentType: string };

export const DEFAULT_BROKER = "localhost:9001";
/** Carries the newest leader epoch seen, both ways (docs/api.md "Replication"). */
const LEADER_EPOCH_HEADER = "gafka-leader-epoch";
const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/** Characters of an unexpected body quoted in an error message. */
const BODY_EXCERPT_LENGTH_MAX = 200;
/** Network errors raised before the request left this process. */
const neverSentErrors = new WeakSet<GafkaClientError>();

/**
 * The transport under the SDK: JSON in, JSON out (or bytes, for
 * the record-batch forms that ask for them), and every failure turned into a
 * `GafkaClientError`. Error answers have the body
 * `{"error": {"code", "message", ...details}}` (docs/api.md).
 */
export class HttpClient {
  /** The brokers given, as URLs, in the order given. */
  readonly brokerUrls: readonly string[];
  /** When and how long requests are retried (src/client/retry.ts); the GroupConsumer's rejoins use it too. */
  readonly retryPolicy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly fetchFunction: FetchFunction;
  /** The Authorization header of every request; undefined without `auth`. */
  private readonly authorization: string | undefined;
  /** The scheme of a bare `host:port`. */
  private readonly defaultScheme: "http" | "https";
  /** The listed broker requests go to while no leader is known; moves on when it cannot be reached. */
  private brokerIndex = 0;
  /** Where a follower's 421 pointed: later requests go there until it cannot be reached. */
  private leaderUrl: string | undefined;
  /** The newest leader epoch any broker answered with; sent along so a deposed leader learns it is one. */
  private leaderEpoch = -1;

  constructor(options: ClientOptions = {}) {
    const brokers = options.brokers ?? splitBrokers(options.broker ?? DEFAULT_BROKER);
    if (brokers.length === 0) throw new GafkaClientError("invalid_request", "brokers must name at least one broker");
    // A cluster runs TLS throughout: a bare address (given, or a 421's pointer to the leader) takes the scheme the others have.
    this.defaultScheme = options.tls !== undefined || brokers.some((broker) => /^https:\/\//i.test(broker)) ? "https" : "http";
    this.brokerUrls = [...new Set(brokers.map((broker) => brokerUrl(broker, this.defaultScheme)))];
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    this.retryPolicy = new RetryPolicy(options, options.retryClock, options.onRetry);
    this.fetchFunction = options.fetch ?? new SocketFetch({ tls: options.tls }).fetch;
    this.authorization = options.auth === undefined ? undefined : authorizationHeader(options.auth);
  }

  /** The first broker given. */
  get baseUrl(): string {
    return this.brokerUrls[0]!;
  }

  /** The broker requests go to now: the leader a follower named, or the listed broker in turn. */
  get currentUrl(): string {
    return this.leaderUrl ?? this.brokerUrls[this.brokerIndex]!;
  }

  /**
   * Sends one request, retrying under the retry policy what may be retried
   * (see `RequestOptions.idempotent`). A follower's 421 not_leader that names
   * the leader is followed at once (the follower never acted on the request),
   * and later requests go to that leader. A broker that cannot be reached is
   * left for the next one listed (the leader it named, for a leader that
   * cannot be reached); a 421 that names no leader moves on too.
   */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const answer = await this.exchange<T>(method, path, options);
    if (answer.kind === "bytes") {
      throw new GafkaClientError("invalid_response", `broker answered ${answer.contentType} where JSON was expected`);
    }
    return answer.json;
  }

  /** `request`, for callers that accept a binary answer (`options.accept`) as well as JSON. */
  async exchange<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<HttpAnswer<T>> {
    const suffix = path + queryString(options.query);
    const body = options.bytes ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const contentType = options.bytes === undefined ? "application/json" : (options.contentType ?? "application/octet-stream");
    const repeatable = options.idempotent ?? method === "GET";
    const schedule = this.retryPolicy.start();
    let followedLeader = false;
    for (;;) {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers["content-type"] = contentType;
      if (options.accept !== undefined) headers.accept = options.accept;
      if (this.leaderEpoch >= 0) headers[LEADER_EPOCH_HEADER] = String(this.leaderEpoch);
      if (this.authorization !== undefined) headers.authorization = this.authorization;
      const init: RequestInit = { method, headers, ...(body === undefined ? {} : { body }) };
      const url = this.currentUrl;
      try {
        return await this.attempt<T>(url + suffix, init, options);
      } catch (error) {
        if (!(error instanceof GafkaClientError)) throw error;
        if (error.code === "not_leader") {
          if (typeof error.details.leader_epoch === "number") this.leaderEpoch = Math.max(this.leaderEpoch, error.details.leader_epoch);
          const leader = namedLeader(error, this.defaultScheme);
          if (leader === undefined || leader === url) {
            this.moveOn(url);
          } else {
            this.leaderUrl = leader;
            // The first pointer is followed at once; pointers that go round in circles (a switch under way) wait their turn.
            if (!followedLeader) {
              followedLeader = true;
              continue;
            }
          }
        } else if (error.code === "network_error" || error.code === "timeout") {
          this.moveOn(url);
        }
        const answered = error.status > 0;
        const resendable = answered || repeatable || options.resendAfterLostAnswer === true || neverSentErrors.has(error);
        if (!resendable) throw error;
        await schedule.wait(error, options.signal);
      }
    }
  }

  /** `url` failed to serve: forget it as the leader, and go to the next listed broker if it was the current one. */
  private moveOn(url: string): void {
    if (this.leaderUrl === url) this.leaderUrl = undefined;
    if (this.brokerUrls[this.brokerIndex] === url) this.brokerIndex = (this.brokerIndex + 1) % this.brokerUrls.length;
  }

  private async attempt<T>(url: string, init: RequestInit, options: RequestOptions): Promise<HttpAnswer<T>> {
    const timeoutMs = this.requestTimeoutMs + (options.waitMs ?? 0);
    // One controller, a timer and a listener, all released when the answer is in: AbortSignal.timeout
    // and AbortSignal.any per request left the garbage collector weak references to process.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
    const callerSignal = options.signal;
    const onCallerAbort = () => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
    let response: HttpResponseLike;
    let text: string;
    let answer: HttpAnswer<T> | undefined;
    try {
      response = await this.fetchFunction(url, { ...init, signal: controller.signal });
      const contentType = response.headers?.get("content-type") ?? "";
      if (response.ok && options.accept !== undefined && mediaType(contentType) === options.accept) {
        answer = { kind: "bytes", bytes: new Uint8Array(await response.arrayBuffer()), contentType };
        text = "";
      } else {
        text = await response.text();
      }
    } catch (error) {
      throw transportError(error, url, timeoutMs, options.signal);
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", onCallerAbort);
    }
    const epoch = Number(response.headers?.get(LEADER_EPOCH_HEADER) ?? Number.NaN);
    if (Number.isSafeInteger(epoch) && epoch > this.leaderEpoch) this.leaderEpoch = epoch;
    if (answer !== undefined) return answer;
    if (!response.ok) throw errorFromAnswer(response, text);
    try {
      return { kind: "json", json: JSON.parse(text) as T };
    } catch (error) {
      throw new GafkaClientError("invalid_response", `broker answered ${response.status} with a body that is not JSON: ${excerpt(text)}`, {
        status: response.status,
        cause: error,
      });
    }
  }
}

/**
 * `Basic base64(user:password)` of the UTF-8 bytes (RFC 7617), or
 * `Bearer <token>`. Refuses what could not be sent in a header or would be
 * misread: a user name with `:`, control characters, an empty token.
 */
export function authorizationHeader(auth: ClientAuth): string {
  if ("token" in auth) {
    const token = auth.token.trim();
    if (!/^[\x21-\x7e]+$/.test(token)) throw new GafkaClientError("invalid_request", "auth.token must be a non-empty token of visible ASCII characters");
    return `Bearer ${token}`;
  }
  const { user, password } = auth;
  if (typeof user !== "string" || user === "" || user.includes(":")) throw new GafkaClientError("invalid_request", "auth.user must be a non-empty name without ':'");
  if (typeof password !== "string") throw new GafkaClientError("invalid_request", "auth.password must be a string");
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/** `a:9001,b:9002` as its addresses (Kafka's `bootstrap.servers` form). */
export function splitBrokers(text: string): string[] {
  return text
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== "");
}

/** Accepts `host:port` (the CLI's `--broker`, reached by `scheme`) or a full http or https URL. */
export function brokerUrl(broker: string, scheme: "http" | "https" = "http"): string {
  const withScheme = /^https?:\/\//i.test(broker) ? broker : `${scheme}://${broker}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new GafkaClientError("invalid_request", `'${broker}' is not a broker address (expected host:port)`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

/** `type/subtype` of a Content-Type, without parameters, in lower case. */
function mediaType(contentType: string): string {
  const end = contentType.indexOf(";");
  return (end === -1 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
}

function queryString(query: RequestOptions["query"]): string {
  if (!query) return "";
  const parameters = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) parameters.set(name, String(value));
  }
  const text = parameters.toString();
  return text === "" ? "" : `?${text}`;
}

function errorFromAnswer(response: HttpResponseLike, text: string): GafkaClientError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === "object" && error !== null) {
    const { code, message, retriable, ...details } = error as Record<string, unknown>;
    if (typeof code === "string" && typeof message === "string") {
      // The broker says whether the same call may succeed later (src/core/errors.ts); older answers lack the flag.
      const flag = typeof retriable === "boolean" ? { retriable } : {};
      return new GafkaClientError(code as ClientErrorCode, message, { status: response.status, details, ...flag });
    }
  }
  return new GafkaClientError(
    "invalid_response",
    `broker answered ${response.status} ${response.statusText} without an error body: ${excerpt(text)}`,
    { status: response.status, retriable: response.status >= 500 },
  );
}

function transportError(error: unknown, url: string, timeoutMs: number, callerSignal: AbortSignal | undefined): GafkaClientError {
  if (callerSignal?.aborted) return new GafkaClientError("aborted", `request to ${url} was aborted`, { cause: error });
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new GafkaClientError("timeout", `no answer from ${url} within ${timeoutMs} ms`, { cause: error });
  }
  const systemCode = (error as { code?: unknown } | null)?.code;
  const tlsFailure = typeof systemCode === "string" ? tlsFailureText(systemCode) : undefined;
  if (tlsFailure !== undefined) {
    // Trying again will not change a certificate: fail at once, saying what to fix.
    return new GafkaClientError("network_error", `${tlsFailure} at ${new URL(url).origin} (${systemCode})`, { cause: error, retriable: false });
  }
  // A refused connection never carried the request, so even a produce may be resent.
  const neverSent = systemCode === "ECONNREFUSED" || systemCode === "ConnectionRefused";
  const reason = typeof systemCode === "string" ? systemCode : String((error as Error | null)?.message ?? error);
  const clientError = new GafkaClientError("network_error", `cannot reach broker at ${new URL(url).origin} (${reason})`, {
    cause: error,
  });
  if (neverSent) neverSentErrors.add(clientError);
  return clientError;
}

/** Verification codes (OpenSSL's, and Node's for a name mismatch) that mean the broker's certificate was not accepted. */
const CERTIFICATE_REFUSED = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

/** What a TLS failure means to the user of the client; undefined for other failures. */
function tlsFailureText(code: string): string | undefined {
  if (CERTIFICATE_REFUSED.test(code)) return "the broker's certificate does not verify (give the CA that signed it: tls.ca, --tls-ca)";
  if (code === "EPROTO") return "TLS handshake failed (does the broker speak https there, and does it require a client certificate: tls.cert and tls.key, --tls-cert and --tls-key?)";
  return undefined;
}

function excerpt(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return "(empty)";
  return trimmed.length > BODY_EXCERPT_LENGTH_MAX ? `${trimmed.slice(0, BODY_EXCERPT_LENGTH_MAX)}…` : trimmed;
}

/** The leader a 421 names, as a URL; undefined when it names none. */
function namedLeader(error: GafkaClientError, scheme: "http" | "https"): string | undefined {
  const leader = error.details.leader;
  if (typeof leader !== "string" || leader === "") return undefined;
  try {
    return brokerUrl(leader, scheme);
  } catch {
    return undefined;
  }
}

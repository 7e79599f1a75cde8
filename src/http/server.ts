import type { Broker } from "../broker/broker.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import { type Authenticator, NO_CREDENTIALS } from "../security/authenticator.ts";
import type { BrokerTls } from "../security/tls-files.ts";
import { DataDirText } from "../core/data-dir-text.ts";
import { GafkaError } from "../core/errors.ts";
import { listenOrExplain } from "../core/listen-or-explain.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import { BrokerMetrics } from "../metrics/broker-metrics.ts";
import { RequestBodyBudget } from "./body-budget.ts";
import { errorResponse, gafkaErrorResponse } from "./error-status.ts";
import { observeCarriedEpoch } from "./leader-epoch-header.ts";
import { setPrincipal } from "./request.ts";
import type { HttpMethod, Route, RouteContext } from "./route.ts";
import { consumeRoutes } from "./routes/consume.ts";
import { groupRoutes } from "./routes/groups.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { produceRoutes } from "./routes/produce.ts";
import { replicationRoutes } from "./routes/replication.ts";
import { securityRoutes } from "./routes/security.ts";
import { topicRoutes } from "./routes/topics.ts";

/** Every endpoint the server answers; docs/openapi.yaml must name exactly these (src/http/openapi.test.ts). */
export const routes: readonly Route[] = [
  ...produceRoutes,
  ...consumeRoutes,
  ...topicRoutes,
  ...groupRoutes,
  ...replicationRoutes,
  ...securityRoutes,
  ...healthRoutes,
  ...metricsRoutes,
];

export const routeTable: readonly { method: HttpMethod; path: string }[] = routes.map(({ method, path }) => ({
  method,
  path,
}));

export interface ServerOptions {
  broker: Broker;
  groups: GroupCoordinator;
  /** Leader/follower role: the routes' answers carry its leader epoch, and a request's carried epoch may fence it. */
  replication?: ReplicaManager;
  /** Interface to listen on, e.g. "127.0.0.1". */
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** Largest request body; defaults to limits.requestBytesMax (and is never more than the budget's room for one body). */
  requestBytesMax?: number;
  /** Request-body bytes held at once by all requests (src/http/body-budget.ts); defaults to limits.requestBytesInFlightMaxDefault. */
  requestBytesInFlightMax?: number;
  /** What the server counts and GET /metrics exposes; a fresh BrokerMetrics when absent. */
  metrics?: BrokerMetrics;
  /** Turns each request's Authorization header into its principal; without one, every request is anonymous and a header is refused (401). */
  authenticator?: Authenticator;
  /** HTTPS only, with this certificate; with its `ca`, clients must present a certificate that CA signed (mutual TLS). Plain HTTP when absent. */
  tls?: BrokerTls;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting connections and resolves once in-flight requests are answered. */
  stop(): Promise<void>;
}

/**
 * Seconds a connection may stay silent. A long poll is silent for up to
 * limits.fetchWaitMsMax, so the connection must outlive it.
 */
const IDLE_TIMEOUT_SECONDS = Math.ceil(limits.fetchWaitMsMax / 1000) + 10;

type BunHandler = (request: Bun.BunRequest, server: Bun.Server<undefined>) => Response | Promise<Response>;

/**
 * Starts the HTTP API on Bun.serve. Bun routes the known paths natively (one
 * handler per method); anything else reaches `fetch`, which answers 405 for a
 * known path with another method and 404 otherwise. Every thrown error goes
 * through the one error→status map; the server never crashes on a request,
 * and no answer names a path outside the data dir (src/core/data-dir-text.ts)
 * or a bug's text (a 500 carries an incident id; the log has the details).
 * Every answer is counted and timed per route (src/metrics), with
 * instruments resolved here, once. Whether a write may be taken
 * (leadership, fencing) is the domain's call (Broker.admit), not the
 * server's: a follower's 421 is the domain's not_leader, mapped like any
 * other error.
 */
export function startServer(options: ServerOptions): RunningServer {
  const bodyBudget = new RequestBodyBudget(options.requestBytesInFlightMax ?? limits.requestBytesInFlightMaxDefault);
  // A body larger than the budget lets in would be refused as busy for ever: it is too large (413).
  const requestBytesMax = Math.min(options.requestBytesMax ?? limits.requestBytesMax, bodyBudget.largeBodiesBytesMax);
  const replication = options.replication;
  const metrics = options.metrics ?? new BrokerMetrics();
  bodyBudget.watch(metrics.registry);
  metrics.watch({ broker: options.broker, groups: options.groups, replication: options.replication });
  const logger = options.logger;
  const authenticator = options.authenticator ?? NO_CREDENTIALS;
  const dataDirText = new DataDirText(options.broker.config.dataDir);
  const answering = { logger, dataDirText };
  const context: RouteContext = { broker: options.broker, groups: options.groups, security: options.broker.security, logger, requestBytesMax, replication, metrics, dataDirText };
  const bunRoutes: Record<string, Partial<Record<HttpMethod, BunHandler>>> = {};
  for (const route of routes) {
    const bunPath = route.path.replaceAll("{", ":").replaceAll("}", "");
    const instrument = metrics.route(route.method, route.path);
    bunRoutes[bunPath] ??= {};
    bunRoutes[bunPath][route.method] = async (request, server) => {
      const startedMs = metrics.clock.monotonicMs();
      let response: Response;
      try {
        if (route.longLived) server.timeout(request, 0);
        const authorization = request.headers.get("authorization");
        if (authorization !== null) {
          // The path is parsed only for a scheme that signs it (Gafka-Peer), not on every Basic or Bearer request.
          const presented = { method: route.method, get path() { return new URL(request.url).pathname; } };
          const principal = authenticator.authenticate(authorization, presented);
          setPrincipal(request, principal instanceof Promise ? await principal : principal);
        }
        // After authentication: the header counts only from a principal allowed to replicate.
        if (replication !== undefined) observeCarriedEpoch(replication, request);
        response = await bodyBudget.during(request, () => route.handle(request, context));
      } catch (error) {
        response = errorResponse(error, answering, `${route.method} ${route.path}`);
      }
      instrument.answered(response.status, startedMs);
      return response;
    };
  }
  const server = listenOrExplain(options.host, options.port, () => Bun.serve({
    hostname: options.host,
    port: options.port,
    development: false,
    // Bun turns SO_REUSEPORT on when development is false: a second broker on
    // this port would then share it (answers alternating between the two)
    // instead of failing with EADDRINUSE.
    reusePort: false,
    idleTimeout: IDLE_TIMEOUT_SECONDS,
    // Out of reach on purpose: Bun refuses a body over this limit with an
    // empty 413 (a Content-Length over it before any handler runs) and
    // buffers a chunked body up to it. Routes read bodies through
    // src/http/request.ts readBinaryBody, which answers 413 in JSON at
    // requestBytesMax and never holds more than that.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    ...(options.tls === undefined ? {} : { tls: bunTls(options.tls) }),
    routes: bunRoutes,
    fetch: (request) => {
      const startedMs = metrics.clock.monotonicMs();
      const response = unrouted(request);
      metrics.unmatched(request.method).answered(response.status, startedMs);
      return response;
    },
    error: (error) => errorResponse(error, answering),
  }));
  const port = server.port;
  if (port === undefined) throw new Error("Bun.serve did not report a port");
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls === undefined ? "http" : "https"}://${host}:${port}`,
    port,
    stop: () => server.stop(),
  };
}

/**
 * Bun.serve's TLS options. With a CA, a client without a certificate that CA
 * signed fails the handshake: no request of it reaches a route.
 */
function bunTls(tls: BrokerTls): Bun.TLSOptions {
  if (tls.ca === undefined) return { cert: tls.cert, key: tls.key };
  return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true };
}

/** A request no route took: 405 with Allow when the path is known, else 404. */
function unrouted(request: Request): Response {
  const url = request.url;
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const queryStart = url.indexOf("?", pathStart);
  const path = url.slice(pathStart, queryStart === -1 ? undefined : queryStart);
  const allowed = routes.filter((route) => pathMatches(route.path, path)).map((route) => route.method);
  if (allowed.length > 0) {
    const response = gafkaErrorResponse(
      new GafkaError("method_not_allowed", `${request.method} is not allowed on ${path}; use ${allowed.join(", ")}`, {
        details: { allowed },
      }),
    );
    response.headers.set("allow", allowed.join(", "));
    return response;
  }
  return gafkaErrorResponse(new GafkaError("not_found", `no such endpoint: ${request.method} ${path}`));
}

/** Whether a concrete path fits a route path, `{param}` matching one non-empty segment. */
function pathMatches(routePath: string, path: string): boolean {
  const expected = routePath.split("/");
  const actual = path.split("/");
  if (expected.length !== actual.length) return false;
  for (let i = 0; i < expected.length; i++) {
    const segment = expected[i]!;
    if (segment.startsWith("{") ? actual[i]!.length === 0 : segment !== actual[i]) return false;
  }
  return true;
}


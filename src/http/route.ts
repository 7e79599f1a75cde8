import type { Broker } from "../broker/broker.ts";
import type { Logger } from "../core/logger.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";

export type HttpMethod = "GET" | "POST" | "DELETE";

/** What every handler may use; built once when the server starts. */
export interface RouteContext {
  readonly broker: Broker;
  readonly groups: GroupCoordinator;
  readonly logger: Logger;
  /** Largest request body accepted (413 beyond). */
  readonly requestBytesMax: number;
}

/**
 * One endpoint. `path` is written as in docs/openapi.yaml (`{name}` for a
 * path parameter); the handler finds parameters in `request.params`, decoded.
 * A handler throws GafkaErrors for expected failures; the server maps them.
 */
export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  handle(request: Bun.BunRequest, context: RouteContext): Promise<Response> | Response;
}

import type { Broker } from "../broker/broker.ts";
import type { SecurityAdmin } from "../broker/security-admin.ts";
import type { DataDirText } from "../core/data-dir-text.ts";
import type { Logger } from "../core/logger.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import type { BrokerMetrics } from "../metrics/broker-metrics.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";

export type HttpMethod = "GET" | "POST" | "DELETE";

/** What every handler may use; built once when the server starts. */
export interface RouteContext {
  readonly broker: Broker;
  readonly groups: GroupCoordinator;
  /** Users, tokens and ACLs, through the domain's gate. */
  readonly security: SecurityAdmin;
  readonly logger: Logger;
  /** Largest request body accepted (413 beyond). */
  readonly requestBytesMax: number;
  /** Leader/follower role and replication; absent on a server started without it (tests). */
  readonly replication?: ReplicaManager;
  /** The series GET /metrics exposes (traffic is counted by the broker's hooks, not by handlers). */
  readonly metrics: BrokerMetrics;
  /** Makes paths in text for an answer relative to the data dir (a partition's error, say). */
  readonly dataDirText: DataDirText;
}

/**
 * One endpoint. `path` is written as in docs/openapi.yaml (`{name}` for a
 * path parameter); the handler finds parameters in `request.params`, decoded.
 * A handler throws GafkaErrors for expected failures; the server maps them.
 */
export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  /** The answer streams for as long as both sides live (replication): no idle timeout. */
  readonly longLived?: boolean;
  handle(request: Bun.BunRequest, context: RouteContext): Promise<Response> | Response;
}

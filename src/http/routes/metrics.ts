import { EXPOSITION_CONTENT_TYPE } from "../../metrics/registry.ts";
import { CLUSTER } from "../../security/operations.ts";
import { principalOf } from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/**
 * GET /metrics — every series in the Prometheus text format 0.0.4 (docs/api.md "Metrics"), for a
 * principal the gate lets describe the cluster (the series name every topic and group). Asked here
 * because the exposition is this door's own; a Kafka door has no such endpoint.
 */
function metrics(request: Request, context: RouteContext): Response {
  context.broker.authorize(principalOf(request), "describe_cluster", CLUSTER);
  return new Response(context.metrics.expose(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } });
}

export const metricsRoutes: Route[] = [{ method: "GET", path: "/metrics", handle: metrics }];

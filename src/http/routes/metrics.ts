import { EXPOSITION_CONTENT_TYPE } from "../../metrics/registry.ts";
import type { Route, RouteContext } from "../route.ts";

/** GET /metrics — every series in the Prometheus text format 0.0.4 (docs/api.md "Metrics"). */
function metrics(_request: Request, context: RouteContext): Response {
  return new Response(context.metrics.expose(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } });
}

export const metricsRoutes: Route[] = [{ method: "GET", path: "/metrics", handle: metrics }];

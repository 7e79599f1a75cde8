import type { Route, RouteContext } from "../route.ts";

/**
 * GET /healthz — `ok`, or `degraded` listing the partitions that are not serving (their errors
 * naming files relative to the data dir); and the cluster id (null before a follower first heard
 * from its leader).
 */
function health(_request: Request, context: RouteContext): Response {
  const unhealthy = context.broker
    .unhealthyPartitions()
    .map((partition) => ({ ...partition, error: context.dataDirText.relative(partition.error) }));
  return Response.json({
    status: unhealthy.length === 0 ? "ok" : "degraded",
    broker_id: context.broker.config.brokerId,
    cluster_id: context.replication?.clusterId ?? null,
    offline_partitions: unhealthy,
  });
}

export const healthRoutes: Route[] = [{ method: "GET", path: "/healthz", handle: health }];

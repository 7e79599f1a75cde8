import type { ReplicaManager } from "./replica-manager.ts";

/** Request header carrying the newest leader epoch a client has seen; answers carry it too. */
export const LEADER_EPOCH_HEADER = "gafka-leader-epoch";

/**
 * Whether a request changes state that only the leader may change: produce,
 * topic creation and deletion, and every consumer-group call (the group form
 * of consume included). A follower answers them 421 not_leader naming its
 * leader; it serves reads (explicit partition/offset consume, describe, list,
 * health, replication status).
 */
export function isLeaderOnly(method: string, path: string, query: () => URLSearchParams): boolean {
  if (path === "/api/v1/produce") return true;
  if (path.startsWith("/api/v1/consumer-groups")) return true;
  if (path.startsWith("/api/v1/topics")) return method === "POST" || method === "DELETE";
  if (path === "/api/v1/consume") return query().has("group_id");
  return false;
}

/**
 * Run before every route: a request carrying a newer leader epoch fences a
 * stale leader, and a leader-only request to a broker that does not lead is
 * refused with not_leader (421).
 */
export function guardRequest(
  replication: ReplicaManager,
  method: string,
  routePath: string,
  request: Request,
  /** The request's query (parsed on demand, once: src/http/request.ts queryOf). */
  query: () => URLSearchParams,
): void {
  const carried = request.headers.get(LEADER_EPOCH_HEADER);
  if (carried !== null) {
    const epoch = Number(carried);
    if (Number.isSafeInteger(epoch)) replication.observeEpoch(epoch);
  }
  if (isLeaderOnly(method, routePath, query)) replication.checkLeader();
}

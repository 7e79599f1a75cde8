import { isLeaderEpoch } from "../core/limits.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";

/** Request header carrying the newest leader epoch a client has seen; answers carry it too. */
export const LEADER_EPOCH_HEADER = "gafka-leader-epoch";

/**
 * Hands replication the leader epoch a request carries, before any route
 * runs: a newer one than this leader's fences it (ReplicaManager.observeEpoch),
 * and the domain's gate then refuses its writes. The door only reads the
 * header; whether a write may be taken is decided in the domain. A value
 * that is no leader epoch (not an integer in [0, LEADER_EPOCH_MAX]) is
 * ignored: no epoch past the maximum is ever taken in.
 */
export function observeCarriedEpoch(replication: ReplicaManager, request: Request): void {
  const carried = request.headers.get(LEADER_EPOCH_HEADER);
  if (carried === null) return;
  const epoch = Number(carried);
  if (isLeaderEpoch(epoch)) replication.observeEpoch(epoch);
}

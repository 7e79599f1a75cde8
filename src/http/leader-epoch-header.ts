import { isLeaderEpoch } from "../core/limits.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import { principalOf } from "./request.ts";

/** Request header carrying the newest leader epoch a client has seen; answers carry it too. */
export const LEADER_EPOCH_HEADER = "gafka-leader-epoch";

/**
 * Hands replication the leader epoch a request carries, with the principal
 * the server authenticated it as, before any route runs: from a principal
 * allowed to replicate, a newer one than this leader's fences it
 * (ReplicaManager.observeCarriedEpoch), and the domain's gate then refuses
 * its writes. The door only reads the header; whether it counts, and
 * whether a write may be taken, is decided in the domain.
 * A value that is no leader epoch (not an integer in [0, LEADER_EPOCH_MAX])
 * is ignored: no epoch past the maximum is ever taken in.
 */
export function observeCarriedEpoch(replication: ReplicaManager, request: Request): void {
  const carried = request.headers.get(LEADER_EPOCH_HEADER);
  if (carried === null) return;
  const epoch = Number(carried);
  if (isLeaderEpoch(epoch)) replication.observeCarriedEpoch(principalOf(request), epoch);
}

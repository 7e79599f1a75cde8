import type { FollowerStatus, LeaseStatus } from "./leader-replicator.ts";
import type { ReplicaContext } from "./replica-context.ts";

/**
 * A broker's place in replication as GET /api/v1/replication/status reports
 * it: role and epoch, its followers and lease when it leads, its fetcher when
 * it follows, and every partition's log end and high watermark.
 * `promotionLeaseWaitMs`: asked only of a follower with a fetcher.
 */
export function replicaStatus(context: ReplicaContext, promotionLeaseWaitMs: () => number) {
  const { options, state } = context;
  const fetcher = context.fetcher?.status();
  const now = options.config.clock.monotonicMs();
  return {
    brokerId: options.config.brokerId,
    address: context.address,
    clusterId: context.clusterIds.clusterId,
    role: context.role,
    fenced: context.fenced,
    leaderEpoch: state.leaderEpoch,
    leader: context.role === "follower" ? state.leader : null,
    leaderId: context.role === "follower" ? state.leaderId : null,
    toInform: state.toInform,
    replicaLagMaxMs: options.replication.replicaLagMaxMs,
    minInsyncReplicas: options.replication.minInsyncReplicas,
    /** The credential store's state_version this broker holds (a follower: its leader's, once adopted); null when it replicates none. */
    securityVersion: options.credentials?.version ?? null,
    followers: context.leader?.status() ?? ([] as FollowerStatus[]),
    lease: context.leader?.leaseStatus() ?? (null as LeaseStatus | null),
    fetcher:
      fetcher === undefined
        ? null
        : {
            connected: fetcher.connected,
            lastMessageMsAgo: fetcher.lastMessageMs === 0 ? null : Math.round(now - fetcher.lastMessageMs),
            error: fetcher.lastError ?? null,
            promotionLeaseWaitMs: promotionLeaseWaitMs(),
          },
    partitions: options.broker.partitionEntries().map((entry) => ({
      topic: entry.topic,
      partition: entry.partition,
      logEndOffset: entry.log?.status === "online" ? entry.log.logEndOffset : null,
      highWatermark: entry.log?.status === "online" ? entry.log.highWatermark : null,
    })),
  };
}

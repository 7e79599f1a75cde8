import { HttpClient, type ClientOptions } from "./http-client.ts";

/** One broker's view of replication (GET /api/v1/replication/status). */
export interface ReplicationStatus {
  brokerId: number;
  /** host:port other brokers reach it at. */
  address: string;
  /** The cluster it belongs to; null for a follower that has not heard from its leader yet. */
  clusterId: string | null;
  role: "leader" | "follower";
  /** A leader that learned of a newer epoch and refuses writes until told whom to follow. */
  fenced: boolean;
  leaderEpoch: number;
  /** A follower's leader (host:port); null for a leader. */
  leader: string | null;
  /**
   * A follower's stream from its leader; null for a leader. `promotionLeaseWaitMs`: how long a
   * promotion started now would wait for the old leader's lease to lapse if that leader is not
   * reached (0 once it has, or when the leader's min.insync.replicas is 1 and it has no lease).
   */
  replication: { connected: boolean; lastMessageMsAgo: number | null; error: string | null; promotionLeaseWaitMs: number } | null;
  /** A leader's followers: connection, records behind (all partitions), partitions in sync. */
  followers: { id: number; address: string; connected: boolean; lag: number; inSyncPartitions: number; partitions: number }[];
  partitions: { topic: string; partition: number; logEndOffset: number | null; highWatermark: number | null }[];
}

export interface PromoteResult {
  brokerId: number;
  /** False when the broker already led. */
  changed: boolean;
  leaderEpoch: number;
  /** The broker it was promoted away from, and whether that one has heard (it is told again every second until it has). */
  formerLeader: { address: string; informed: boolean } | null;
  /** The former leader's other followers, told to follow this broker (each is told again every second until it hears). */
  otherFollowers: { address: string; informed: boolean }[];
  /** Whether the follower held everything its leader could have made visible or acknowledged; false only with `force`. */
  clean: boolean;
  /** Why it was clean, or why not. */
  why: string;
  /** Per partition: the follower's log end against the leader's high watermark (and log end, when it answered). */
  partitions: PromotedPartition[];
  /** How the old leader's term ended before the new leader acted, and how long that took. */
  lease: { end: "leader_stepped_down" | "leader_dead" | "lease_expired" | "no_lease" | "was_leader"; waitedMs: number };
}

export interface PromotedPartition {
  topic: string;
  partition: number;
  logEndOffset: number;
  /** The leader's high watermark: as it answered (`source` leader) or the last it sent (`last_sent`). */
  highWatermark: number | null;
  source: "leader" | "last_sent";
  leaderLogEndOffset: number | null;
  /** Records visible or acknowledged on the old leader that the new one lacks, at least. */
  missingAtLeast: number;
}

export interface PromoteOptions {
  /** Promote even when the follower cannot be shown to hold everything (an unclean election). */
  force?: boolean;
  /** The old leader is dead: do not wait out its lease. */
  leaderDead?: boolean;
  /** How long the broker may wait before it answers (the lease wait); by default asked of the broker first. */
  waitMs?: number;
}

interface WireStatus {
  broker_id: number;
  address: string;
  cluster_id?: string | null;
  role: "leader" | "follower";
  fenced: boolean;
  leader_epoch: number;
  leader: string | null;
  replication: { connected: boolean; last_message_ms_ago: number | null; error: string | null; promotion_lease_wait_ms?: number } | null;
  followers: { id: number; address: string; connected: boolean; lag: number; in_sync_partitions: number; partitions: unknown[] }[];
  partitions: { topic: string; partition: number; log_end_offset: number | null; high_watermark: number | null }[];
}

interface WirePromote {
  broker_id: number;
  changed: boolean;
  leader_epoch: number;
  former_leader: { address: string; informed: boolean } | null;
  other_followers?: { address: string; informed: boolean }[];
  clean?: boolean;
  why?: string;
  partitions?: {
    topic: string;
    partition: number;
    log_end_offset: number;
    high_watermark: number | null;
    high_watermark_source: "leader" | "last_sent";
    leader_log_end_offset: number | null;
    missing_at_least: number;
  }[];
  lease?: { end: PromoteResult["lease"]["end"]; waited_ms: number };
}

/** Beyond the lease wait: the leader asked twice, a catch-up, the announcements. */
const PROMOTE_WORK_MS = 10_000;

/**
 * Replication administration of one broker: its status, and promotion of a
 * follower to leader (docs/operations.md, "The leader crashed"). Never
 * redirected: it talks to exactly the broker named.
 */
export class ClusterAdmin {
  private readonly http: HttpClient;

  constructor(options: ClientOptions = {}) {
    this.http = options.transport ?? new HttpClient(options);
  }

  async status(): Promise<ReplicationStatus> {
    const wire = await this.http.request<WireStatus>("GET", "/api/v1/replication/status");
    return {
      brokerId: wire.broker_id,
      address: wire.address,
      clusterId: wire.cluster_id ?? null,
      role: wire.role,
      fenced: wire.fenced,
      leaderEpoch: wire.leader_epoch,
      leader: wire.leader,
      replication:
        wire.replication === null
          ? null
          : {
              connected: wire.replication.connected,
              lastMessageMsAgo: wire.replication.last_message_ms_ago,
              error: wire.replication.error,
              promotionLeaseWaitMs: wire.replication.promotion_lease_wait_ms ?? 0,
            },
      followers: wire.followers.map((f) => ({
        id: f.id,
        address: f.address,
        connected: f.connected,
        lag: f.lag,
        inSyncPartitions: f.in_sync_partitions,
        partitions: f.partitions.length,
      })),
      partitions: wire.partitions.map((p) => ({ topic: p.topic, partition: p.partition, logEndOffset: p.log_end_offset, highWatermark: p.high_watermark })),
    };
  }

  /**
   * Makes this broker (a follower) the leader under a new leader epoch; a leader answers
   * changed: false. Rejects with `replica_not_in_sync` when the follower cannot be shown to hold
   * everything its leader made visible or acknowledged, unless `force` (an unclean election: the
   * answer's `partitions` say what may be lost). The broker acts as leader only once the old one
   * stepped down when told, or its lease lapsed, or `leaderDead`: the call may take that long.
   */
  async promote(options: PromoteOptions = {}): Promise<PromoteResult> {
    const body = { ...(options.force === true ? { force: true } : {}), ...(options.leaderDead === true ? { leader_dead: true } : {}) };
    const leaseWaitMs = options.waitMs ?? (options.leaderDead === true ? 0 : ((await this.status()).replication?.promotionLeaseWaitMs ?? 0));
    const wire = await this.http.request<WirePromote>("POST", "/api/v1/replication/promote", { body, idempotent: true, waitMs: leaseWaitMs + PROMOTE_WORK_MS });
    return {
      brokerId: wire.broker_id,
      changed: wire.changed,
      leaderEpoch: wire.leader_epoch,
      formerLeader: wire.former_leader,
      otherFollowers: wire.other_followers ?? [],
      clean: wire.clean ?? true,
      why: wire.why ?? "",
      partitions: (wire.partitions ?? []).map((p) => ({
        topic: p.topic,
        partition: p.partition,
        logEndOffset: p.log_end_offset,
        highWatermark: p.high_watermark,
        source: p.high_watermark_source,
        leaderLogEndOffset: p.leader_log_end_offset,
        missingAtLeast: p.missing_at_least,
      })),
      lease: { end: wire.lease?.end ?? "was_leader", waitedMs: wire.lease?.waited_ms ?? 0 },
    };
  }
}

import { HttpClient, type ClientOptions } from "./http-client.ts";

/** One broker's view of replication (GET /api/v1/replication/status). */
export interface ReplicationStatus {
  brokerId: number;
  /** host:port other brokers reach it at. */
  address: string;
  role: "leader" | "follower";
  /** A leader that learned of a newer epoch and refuses writes until told whom to follow. */
  fenced: boolean;
  leaderEpoch: number;
  /** A follower's leader (host:port); null for a leader. */
  leader: string | null;
  /** A follower's stream from its leader; null for a leader. */
  replication: { connected: boolean; lastMessageMsAgo: number | null; error: string | null } | null;
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
}

interface WireStatus {
  broker_id: number;
  address: string;
  role: "leader" | "follower";
  fenced: boolean;
  leader_epoch: number;
  leader: string | null;
  replication: { connected: boolean; last_message_ms_ago: number | null; error: string | null } | null;
  followers: { id: number; address: string; connected: boolean; lag: number; in_sync_partitions: number; partitions: unknown[] }[];
  partitions: { topic: string; partition: number; log_end_offset: number | null; high_watermark: number | null }[];
}

interface WirePromote {
  broker_id: number;
  changed: boolean;
  leader_epoch: number;
  former_leader: { address: string; informed: boolean } | null;
  other_followers?: { address: string; informed: boolean }[];
}

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
      role: wire.role,
      fenced: wire.fenced,
      leaderEpoch: wire.leader_epoch,
      leader: wire.leader,
      replication:
        wire.replication === null
          ? null
          : { connected: wire.replication.connected, lastMessageMsAgo: wire.replication.last_message_ms_ago, error: wire.replication.error },
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
   * changed: false. Rejects with `replica_not_in_sync` when the follower lacks records its
   * leader had committed, unless `force` (which accepts losing them).
   */
  async promote(options: { force?: boolean } = {}): Promise<PromoteResult> {
    const body = options.force === true ? { force: true } : {};
    const wire = await this.http.request<WirePromote>("POST", "/api/v1/replication/promote", { body, idempotent: true });
    return {
      brokerId: wire.broker_id,
      changed: wire.changed,
      leaderEpoch: wire.leader_epoch,
      formerLeader: wire.former_leader,
      otherFollowers: wire.other_followers ?? [],
    };
  }
}

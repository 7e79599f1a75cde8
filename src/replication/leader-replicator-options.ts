import type { Broker } from "../broker/broker.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { SecuritySnapshot } from "../security/security-snapshot.ts";
import type { PartitionCheckpoint } from "./high-watermark-checkpoint.ts";
import type { KnownBroker } from "./replication-state.ts";
import type { ReplicatedOffset } from "./stream-codec.ts";

/** What a LeaderReplicator (leader-replicator.ts) is started with. */
export interface LeaderReplicatorOptions {
  broker: Broker;
  clock: Clock;
  logger: Logger;
  leaderId: number;
  leaderEpoch: number;
  /** This cluster's id (cluster-id.ts), stated in every metadata message. */
  clusterId: string;
  replicaLagMaxMs: number;
  minInsyncReplicas: number;
  /** Where Kafka clients reach this leader (stated in every metadata message); undefined: its Kafka door is off. */
  kafkaAddress?: string;
  /** Who was in sync as of the last checkpoint (a restart keeps them in sync until they catch up or time out). */
  checkpoint: Map<string, PartitionCheckpoint>;
  knownFollowers: readonly KnownBroker[];
  /** Committed group offsets, for the snapshot a new stream starts with, and the offset-store write it covers. */
  offsetsSnapshot: () => { sequence: number; entries: ReplicatedOffset[] };
  /** The credential store's whole state, sent after the first metadata of every stream and after each change; none: not replicated. */
  securitySnapshot?: () => SecuritySnapshot;
  /** A follower appeared or changed its address: remember it (replication.json). */
  onFollowerSeen: (follower: KnownBroker) => void;
  /** --follower-expiry (default limits.followerExpiryMsDefault): see follower-expiry.ts. */
  followerExpiryMs?: number;
  /** The replica count R stated under this leadership so far (replication.json `replicas`): never lowered. */
  replicasStated?: number;
  /** Followers were dropped by follower-expiry.ts: forget them (replication.json). */
  onFollowersExpired?: (ids: number[]) => void;
}

import type { StreamMessage, TopicInfo } from "./stream-codec.ts";

/** What a leader states about itself in a stream's metadata message. */
export interface LeaderFacts {
  readonly clusterId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** R: the replica count the leader states (LeaderReplicator.replicasStated), never lowered by an expiry. */
  readonly replicas: number;
  readonly minInsyncReplicas: number;
  readonly replicaLagMaxMs: number;
  /** Where Kafka clients reach the leader; undefined: its Kafka door is off. */
  readonly kafkaAddress?: string;
}

/**
 * The metadata message of one stream: the leader's topics and followers, and
 * what a follower needs to judge its own promotion (N, R, the lease period),
 * and the Kafka addresses it knows, its own first.
 */
export function leaderMetadata(
  session: string,
  facts: LeaderFacts,
  followers: Iterable<{ readonly id: number; readonly address: string; readonly kafkaAddress?: string }>,
  topics: TopicInfo[],
): StreamMessage {
  const all = [...followers];
  const kafkaBrokers = [{ id: facts.leaderId, address: facts.kafkaAddress }, ...all.map((follower) => ({ id: follower.id, address: follower.kafkaAddress }))].filter(
    (broker): broker is { id: number; address: string } => broker.address !== undefined,
  );
  return {
    type: "metadata",
    session,
    clusterId: facts.clusterId,
    leaderId: facts.leaderId,
    leaderEpoch: facts.leaderEpoch,
    topics,
    followers: all.map((follower) => ({ id: follower.id, address: follower.address })),
    replicas: facts.replicas,
    minInsyncReplicas: facts.minInsyncReplicas,
    replicaLagMaxMs: facts.replicaLagMaxMs,
    kafkaBrokers,
  };
}

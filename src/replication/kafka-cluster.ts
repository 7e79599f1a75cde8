import { checkpointKey } from "./high-watermark-checkpoint.ts";
import type { ReplicaContext } from "./replica-context.ts";
import type { KafkaBrokerAddress } from "./stream-codec.ts";

/**
 * The cluster as a broker's Kafka door describes it (Metadata,
 * FindCoordinator): which broker leads, where Kafka clients reach each broker
 * and which brokers hold a copy of each partition.
 *
 * Brokers learn each other's Kafka addresses through replication alone: a
 * follower states its own when it opens its stream (taken only from a caller
 * the gate lets replicate, so with a cluster secret only from a broker proving
 * it, speaking for itself), and the leader states its own and its followers'
 * in every stream's metadata message. A broker whose Kafka door is off states
 * none and is left out. Nothing of it is persisted: a restarted leader knows a
 * follower's address once that follower's stream opens again.
 */
export interface KafkaClusterView {
  /** The leader's broker id when its Kafka address is known here (then it is in `brokers`); null otherwise, and while a leader is fenced. */
  leaderId: number | null;
  /** Every broker with a known Kafka address: this one, the leader, and the followers (on the leader, those connected now). */
  brokers: KafkaBrokerAddress[];
  /** The brokers holding a copy of every partition, known by their Kafka address: the leader first; empty when leaderId is null. */
  replicaIds: number[];
  /** Of replicaIds, the followers not connected to the leader now (the leader's view; a follower does not know). */
  offlineIds: number[];
  /** The leader and the followers in the partition's in-sync set; a follower, which does not track that set, answers the leader alone. */
  inSyncIds(topic: string, partition: number): number[];
}

const NO_LEADER: KafkaClusterView = { leaderId: null, brokers: [], replicaIds: [], offlineIds: [], inSyncIds: () => [] };

/** The view from `context`'s broker now (a fresh one each call: roles and followers change). */
export function kafkaClusterView(context: ReplicaContext): KafkaClusterView {
  const selfId = context.options.config.brokerId;
  const self = context.kafkaAddress === undefined ? [] : [{ id: selfId, address: context.kafkaAddress }];
  if (context.role === "leader") return leaderView(context, selfId, self);
  const known = context.leaderKafkaBrokers;
  const leaderId = context.state.leaderId;
  // The leader's word is about itself only while it still leads; one redirect later, it is no one's.
  const leader = known?.leaderId === leaderId ? known?.brokers.find((broker) => broker.id === leaderId) : undefined;
  if (known === undefined || leader === undefined) return { ...NO_LEADER, brokers: self };
  const others = known.brokers.filter((broker) => broker.id !== selfId);
  const followerIds = others.filter((broker) => broker.id !== leader.id).map((broker) => broker.id);
  if (self.length > 0) followerIds.push(selfId);
  return {
    leaderId: leader.id,
    brokers: [...self, ...others],
    replicaIds: [leader.id, ...followerIds.sort((a, b) => a - b)],
    offlineIds: [],
    inSyncIds: () => [leader.id],
  };
}

function leaderView(context: ReplicaContext, selfId: number, self: KafkaBrokerAddress[]): KafkaClusterView {
  const replicator = context.leader;
  // A fenced leader takes no writes until told whom to follow: no broker to send clients to yet.
  if (replicator === undefined || context.fenced || self.length === 0) return { ...NO_LEADER, brokers: self };
  const followers = [...replicator.followerReplicas()].filter((follower) => follower.kafkaAddress !== undefined).sort((a, b) => a.id - b.id);
  return {
    leaderId: selfId,
    brokers: [...self, ...followers.filter((follower) => follower.session !== undefined).map((follower) => ({ id: follower.id, address: follower.kafkaAddress! }))],
    replicaIds: [selfId, ...followers.map((follower) => follower.id)],
    offlineIds: followers.filter((follower) => follower.session === undefined).map((follower) => follower.id),
    inSyncIds: (topic, partition) => {
      const key = checkpointKey(topic, partition);
      return [selfId, ...followers.filter((follower) => follower.partitions.get(key)?.inSync === true).map((follower) => follower.id)];
    },
  };
}

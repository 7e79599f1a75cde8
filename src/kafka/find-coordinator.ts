/**
 * FindCoordinator (0–2): which broker coordinates a group. gafka's group
 * coordinator runs on the cluster's leader, so the answer is the leader, with
 * the Kafka address Metadata lists for it (src/replication/kafka-cluster.ts),
 * from whichever broker is asked. A principal that may not describe the group
 * (the gate's `group_describe`, as the HTTP door's group status asks) gets
 * GROUP_AUTHORIZATION_FAILED and learns nothing of the cluster; a leader not
 * known here is COORDINATOR_NOT_AVAILABLE, which clients retry. gafka has no
 * transactions: key type 1 (a transactional id) and any other are
 * INVALID_REQUEST, which a client does not retry.
 */
import type { Broker } from "../broker/broker.ts";
import { splitHostPort } from "../core/host-port.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import type { ClusterView } from "./metadata.ts";
import { FIND_COORDINATOR } from "./protocol/messages/find-coordinator.ts";
import type { MessageValue } from "./protocol/types.ts";

/** FindCoordinator's key types (Kafka's CoordinatorType). */
const KEY_TYPE_GROUP = 0;

export function findCoordinatorApi(broker: Broker, cluster: ClusterView, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: FIND_COORDINATOR,
    // Before v1 there is no key type: the key is a group id.
    handle: (body) => coordinatorOf(broker, cluster, principal, body.key as string, (body.keyType as number | undefined) ?? KEY_TYPE_GROUP),
  };
}

function coordinatorOf(broker: Broker, cluster: ClusterView, principal: Principal, key: string, keyType: number): MessageValue {
  if (keyType !== KEY_TYPE_GROUP) {
    return noCoordinator(KAFKA_ERRORS.invalidRequest, `key type ${keyType} is not served: gafka coordinates groups (key type 0) only, and has no transactions`);
  }
  if (!broker.allows(principal, "group_describe", { kind: "group", id: key })) {
    return noCoordinator(KAFKA_ERRORS.groupAuthorizationFailed, null);
  }
  const members = cluster.members();
  const leader = members.leaderId === null ? undefined : members.brokers.find((member) => member.id === members.leaderId);
  if (leader === undefined) return noCoordinator(KAFKA_ERRORS.coordinatorNotAvailable, "the cluster's leader is not known to this broker yet");
  // The leader is this broker: the address it advertises (as Metadata lists it).
  const address = leader.id === cluster.brokerId ? cluster.advertised : splitHostPort(leader.address);
  return { throttleTimeMs: 0, errorCode: KAFKA_ERRORS.none, errorMessage: null, nodeId: leader.id, host: address.host, port: address.port };
}

function noCoordinator(errorCode: number, errorMessage: string | null): MessageValue {
  return { throttleTimeMs: 0, errorCode, errorMessage, nodeId: -1, host: "", port: -1 };
}

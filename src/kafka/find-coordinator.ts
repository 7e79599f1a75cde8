/**
 * FindCoordinator (0–2), minimal: every group's coordinator is this broker
 * (its id and advertised address) when it leads; a follower answers
 * COORDINATOR_NOT_AVAILABLE, knowing no Kafka address of its leader to
 * give. Key type 1 (transactions) is not served.
 */
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import type { ClusterView } from "./metadata.ts";
import { FIND_COORDINATOR } from "./protocol/messages/find-coordinator.ts";

export function findCoordinatorApi(cluster: ClusterView): ServedApi {
  return {
    api: FIND_COORDINATOR,
    handle: (body) => {
      const here = { nodeId: cluster.brokerId, host: cluster.advertised.host, port: cluster.advertised.port };
      const refusal = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, nodeId: -1, host: "", port: -1 });
      if (body.keyType !== 0) return refusal(KAFKA_ERRORS.invalidRequest, "only group coordinators are served");
      if (cluster.leaderId() !== cluster.brokerId) return refusal(KAFKA_ERRORS.coordinatorNotAvailable, "this broker does not lead the cluster");
      return { throttleTimeMs: 0, errorCode: KAFKA_ERRORS.none, errorMessage: null, ...here };
    },
  };
}

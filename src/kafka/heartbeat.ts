/** Heartbeat (0–3): keeps a classic group's member alive; REBALANCE_IN_PROGRESS tells it to rejoin. */
import type { Logger } from "../core/logger.ts";
import type { ClassicCoordinator } from "../groups/classic-coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { HEARTBEAT } from "./protocol/messages/heartbeat.ts";

interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
}

export function heartbeatApi(groups: ClassicCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: HEARTBEAT,
    handle: (body) => {
      const request = body as unknown as HeartbeatRequest;
      try {
        const error = groups.heartbeat(request.groupId, request.memberId, request.generationId, principal);
        return { throttleTimeMs: 0, errorCode: error === null ? KAFKA_ERRORS.none : groupFailureCode(error, logger, "Heartbeat") };
      } catch (error) {
        return { throttleTimeMs: 0, errorCode: groupFailureCode(error, logger, `Heartbeat of ${request.groupId}`) };
      }
    },
  };
}

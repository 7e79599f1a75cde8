/**
 * SyncGroup (0–3): the leader hands in every member's assignment, and each
 * member's answer carries its own; a follower's answer is held until the
 * leader's sync arrives (ClassicCoordinator.sync).
 */
import type { Logger } from "../core/logger.ts";
import type { ClassicCoordinator } from "../groups/classic-coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { untilAborted } from "./until-aborted.ts";
import { SYNC_GROUP } from "./protocol/messages/sync-group.ts";

interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  assignments: { memberId: string; assignment: Uint8Array }[];
}

export function syncGroupApi(groups: ClassicCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: SYNC_GROUP,
    handle: async (body, _header, signal) => {
      const request = body as unknown as SyncGroupRequest;
      const assignments = new Map(request.assignments.map((entry) => [entry.memberId, entry.assignment]));
      try {
        const answer = await untilAborted(groups.sync(request.groupId, request.memberId, request.generationId, assignments, principal), signal);
        const errorCode = answer.error === null ? KAFKA_ERRORS.none : groupFailureCode(answer.error, logger, "SyncGroup");
        return { throttleTimeMs: 0, errorCode, assignment: answer.assignment };
      } catch (error) {
        return { throttleTimeMs: 0, errorCode: groupFailureCode(error, logger, `SyncGroup of ${request.groupId}`), assignment: new Uint8Array(0) };
      }
    },
  };
}

/**
 * LeaveGroup (0–3): one member (0–2, memberId) or a batch (3, members, each
 * answered) leaves a classic group, which rebalances without them. Before
 * v3 the one member's error is the answer's.
 */
import type { Logger } from "../core/logger.ts";
import type { ClassicCoordinator } from "../groups/classic-coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { LEAVE_GROUP } from "./protocol/messages/leave-group.ts";
import type { MessageValue } from "./protocol/types.ts";

interface LeaveGroupRequest {
  groupId: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null }[];
}

export function leaveGroupApi(groups: ClassicCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: LEAVE_GROUP,
    handle: (body, header) => {
      const request = body as unknown as LeaveGroupRequest;
      const batch = header.requestApiVersion >= 3;
      const members = batch ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
      let answers: MessageValue[];
      try {
        const errors = groups.leave(
          request.groupId,
          members.map((member) => member.memberId),
          principal,
        );
        answers = members.map((member, index) => ({
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          errorCode: errors[index] === null ? KAFKA_ERRORS.none : groupFailureCode(errors[index], logger, "LeaveGroup"),
        }));
      } catch (error) {
        return { throttleTimeMs: 0, errorCode: groupFailureCode(error, logger, `LeaveGroup of ${request.groupId}`), members: [] };
      }
      return { throttleTimeMs: 0, errorCode: batch ? KAFKA_ERRORS.none : (answers[0].errorCode as number), members: answers };
    },
  };
}

/**
 * JoinGroup (0–5): a member of a classic consumer group joins and waits for
 * the rebalance (ClassicCoordinator.join); the answer is held until the
 * generation forms, without holding up other connections. From v4 a member
 * without an id gets MEMBER_ID_REQUIRED and an id to join again with. v0
 * has no rebalance timeout: the session timeout stands for it. Static
 * membership (group.instance.id, v5) is not served: such a member is
 * treated as a dynamic one. ClientHost is not known to the handler and is
 * answered empty in DescribeGroups.
 */
import type { Logger } from "../core/logger.ts";
import type { ClassicCoordinator } from "../groups/classic-coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { untilAborted } from "./until-aborted.ts";
import { JOIN_GROUP } from "./protocol/messages/join-group.ts";
import type { MessageValue } from "./protocol/types.ts";

interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: { name: string; metadata: Uint8Array }[];
}

export function joinGroupApi(groups: ClassicCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: JOIN_GROUP,
    handle: async (body, header, signal) => {
      const request = body as unknown as JoinGroupRequest;
      const version = header.requestApiVersion;
      try {
        const joining = groups.join(
          request.groupId,
          {
            memberId: request.memberId,
            clientId: header.clientId ?? "",
            clientHost: "",
            protocolType: request.protocolType,
            protocols: request.protocols,
            sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: version >= 1 ? request.rebalanceTimeoutMs : -1,
            requireKnownMemberId: version >= 4,
          },
          principal,
        );
        const answer = await untilAborted(joining, signal);
        return {
          throttleTimeMs: 0,
          errorCode: answer.error === null ? KAFKA_ERRORS.none : groupFailureCode(answer.error, logger, "JoinGroup"),
          generationId: answer.generationId,
          protocolName: answer.protocolName,
          leader: answer.leader,
          memberId: answer.memberId,
          members: answer.members.map((member) => ({ memberId: member.memberId, groupInstanceId: null, metadata: member.metadata })),
        } satisfies MessageValue;
      } catch (error) {
        return {
          throttleTimeMs: 0,
          errorCode: groupFailureCode(error, logger, `JoinGroup of ${request.groupId}`),
          generationId: -1,
          protocolName: "",
          leader: "",
          memberId: request.memberId,
          members: [],
        };
      }
    },
  };
}

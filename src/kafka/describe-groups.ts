/**
 * DescribeGroups (0–4): each named group's state (Kafka's names), protocol
 * type, chosen protocol (while Stable) and members with their metadata and
 * assignment (ClassicCoordinator.describe). A group unknown to this broker
 * is Dead, one with only committed offsets Empty, one with HTTP members
 * Stable without members (they are not Kafka members). Authorized
 * operations are not computed (the field's "not asked" value).
 */
import type { Logger } from "../core/logger.ts";
import type { ClassicCoordinator } from "../groups/classic-coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { DESCRIBE_GROUPS } from "./protocol/messages/describe-groups.ts";
import type { MessageValue } from "./protocol/types.ts";

const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

export function describeGroupsApi(groups: ClassicCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: DESCRIBE_GROUPS,
    handle: (body) => ({
      throttleTimeMs: 0,
      groups: (body.groups as string[]).map((groupId): MessageValue => {
        try {
          const group = groups.describe(groupId, principal);
          return {
            errorCode: KAFKA_ERRORS.none,
            groupId,
            groupState: group.state,
            protocolType: group.protocolType,
            protocolData: group.protocolName,
            members: group.members.map((member) => ({
              memberId: member.memberId,
              groupInstanceId: null,
              clientId: member.clientId,
              clientHost: member.clientHost,
              memberMetadata: member.metadata,
              memberAssignment: member.assignment,
            })),
            authorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN,
          };
        } catch (error) {
          const errorCode = groupFailureCode(error, logger, `DescribeGroups of ${groupId}`);
          return { errorCode, groupId, groupState: "", protocolType: "", protocolData: "", members: [], authorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN };
        }
      }),
    }),
  };
}

/**
 * ListGroups (0–2): every group this broker coordinates, live (over HTTP or
 * Kafka) or with committed offsets, that the principal may see, as the HTTP
 * list shows them (GroupCoordinator.listGroups); the protocol type is a
 * Kafka group's members' ("consumer"), empty for the others.
 */
import type { Logger } from "../core/logger.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { groupFailureCode } from "./group-failure.ts";
import { LIST_GROUPS } from "./protocol/messages/list-groups.ts";

export function listGroupsApi(groups: GroupCoordinator, logger: Logger, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: LIST_GROUPS,
    handle: () => {
      try {
        const listed = groups.listGroups(principal).map((group) => ({ groupId: group.groupId, protocolType: groups.classic.protocolTypeOf(group.groupId) }));
        return { throttleTimeMs: 0, errorCode: KAFKA_ERRORS.none, groups: listed };
      } catch (error) {
        return { throttleTimeMs: 0, errorCode: groupFailureCode(error, logger, "ListGroups"), groups: [] };
      }
    },
  };
}

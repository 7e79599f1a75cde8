import type { ApiDescription } from "../types.ts";

export const JOIN_GROUP_KEY = 11;

/**
 * JoinGroup 0–5: a member of a classic consumer group joins (or rejoins) and
 * waits for the rebalance to complete; the leader's answer carries every
 * member's protocol metadata. From v4 a member without an id is first sent
 * one (MEMBER_ID_REQUIRED) and joins again with it.
 */
export const JOIN_GROUP: ApiDescription = {
  apiKey: JOIN_GROUP_KEY,
  name: "JoinGroup",
  request: {
    name: "JoinGroupRequest",
    apiKey: JOIN_GROUP_KEY,
    validVersions: "0-5",
    flexibleVersions: "6+",
    fields: [
      { name: "groupId", type: "string", versions: "0+" },
      { name: "sessionTimeoutMs", type: "int32", versions: "0+" },
      { name: "rebalanceTimeoutMs", type: "int32", versions: "1+", default: -1 },
      { name: "memberId", type: "string", versions: "0+" },
      { name: "groupInstanceId", type: "string", versions: "5+", nullableVersions: "5+", default: null },
      { name: "protocolType", type: "string", versions: "0+" },
      {
        name: "protocols",
        type: "[]JoinGroupRequestProtocol",
        versions: "0+",
        fields: [
          { name: "name", type: "string", versions: "0+" },
          { name: "metadata", type: "bytes", versions: "0+" },
        ],
      },
    ],
  },
  response: {
    name: "JoinGroupResponse",
    apiKey: JOIN_GROUP_KEY,
    validVersions: "0-5",
    flexibleVersions: "6+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "2+" },
      { name: "errorCode", type: "int16", versions: "0+" },
      { name: "generationId", type: "int32", versions: "0+", default: -1 },
      { name: "protocolName", type: "string", versions: "0+", nullableVersions: "7+" },
      { name: "leader", type: "string", versions: "0+" },
      { name: "memberId", type: "string", versions: "0+" },
      {
        name: "members",
        type: "[]JoinGroupResponseMember",
        versions: "0+",
        fields: [
          { name: "memberId", type: "string", versions: "0+" },
          { name: "groupInstanceId", type: "string", versions: "5+", nullableVersions: "5+", default: null },
          { name: "metadata", type: "bytes", versions: "0+" },
        ],
      },
    ],
  },
};

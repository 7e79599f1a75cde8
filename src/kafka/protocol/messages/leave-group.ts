import type { ApiDescription } from "../types.ts";

export const LEAVE_GROUP_KEY = 13;

/** LeaveGroup 0–3: one member (0–2) or a batch of members (3) leave a classic group. */
export const LEAVE_GROUP: ApiDescription = {
  apiKey: LEAVE_GROUP_KEY,
  name: "LeaveGroup",
  request: {
    name: "LeaveGroupRequest",
    apiKey: LEAVE_GROUP_KEY,
    validVersions: "0-3",
    flexibleVersions: "4+",
    fields: [
      { name: "groupId", type: "string", versions: "0+" },
      { name: "memberId", type: "string", versions: "0-2" },
      {
        name: "members",
        type: "[]MemberIdentity",
        versions: "3+",
        fields: [
          { name: "memberId", type: "string", versions: "3+" },
          { name: "groupInstanceId", type: "string", versions: "3+", nullableVersions: "3+", default: null },
        ],
      },
    ],
  },
  response: {
    name: "LeaveGroupResponse",
    apiKey: LEAVE_GROUP_KEY,
    validVersions: "0-3",
    flexibleVersions: "4+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "1+" },
      { name: "errorCode", type: "int16", versions: "0+" },
      {
        name: "members",
        type: "[]MemberResponse",
        versions: "3+",
        fields: [
          { name: "memberId", type: "string", versions: "3+" },
          { name: "groupInstanceId", type: "string", versions: "3+", nullableVersions: "3+" },
          { name: "errorCode", type: "int16", versions: "3+" },
        ],
      },
    ],
  },
};

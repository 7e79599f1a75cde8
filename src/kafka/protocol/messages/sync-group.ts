import type { ApiDescription } from "../types.ts";

export const SYNC_GROUP_KEY = 14;

/** SyncGroup 0–3: the leader hands in every member's assignment; each member waits for its own. */
export const SYNC_GROUP: ApiDescription = {
  apiKey: SYNC_GROUP_KEY,
  name: "SyncGroup",
  request: {
    name: "SyncGroupRequest",
    apiKey: SYNC_GROUP_KEY,
    validVersions: "0-3",
    flexibleVersions: "4+",
    fields: [
      { name: "groupId", type: "string", versions: "0+" },
      { name: "generationId", type: "int32", versions: "0+" },
      { name: "memberId", type: "string", versions: "0+" },
      { name: "groupInstanceId", type: "string", versions: "3+", nullableVersions: "3+", default: null },
      {
        name: "assignments",
        type: "[]SyncGroupRequestAssignment",
        versions: "0+",
        fields: [
          { name: "memberId", type: "string", versions: "0+" },
          { name: "assignment", type: "bytes", versions: "0+" },
        ],
      },
    ],
  },
  response: {
    name: "SyncGroupResponse",
    apiKey: SYNC_GROUP_KEY,
    validVersions: "0-3",
    flexibleVersions: "4+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "1+" },
      { name: "errorCode", type: "int16", versions: "0+" },
      { name: "assignment", type: "bytes", versions: "0+" },
    ],
  },
};

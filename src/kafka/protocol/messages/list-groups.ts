import type { ApiDescription } from "../types.ts";

export const LIST_GROUPS_KEY = 16;

/** ListGroups 0–2: every group the principal may see, with its protocol type. */
export const LIST_GROUPS: ApiDescription = {
  apiKey: LIST_GROUPS_KEY,
  name: "ListGroups",
  request: {
    name: "ListGroupsRequest",
    apiKey: LIST_GROUPS_KEY,
    validVersions: "0-2",
    flexibleVersions: "3+",
    fields: [],
  },
  response: {
    name: "ListGroupsResponse",
    apiKey: LIST_GROUPS_KEY,
    validVersions: "0-2",
    flexibleVersions: "3+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "1+" },
      { name: "errorCode", type: "int16", versions: "0+" },
      {
        name: "groups",
        type: "[]ListedGroup",
        versions: "0+",
        fields: [
          { name: "groupId", type: "string", versions: "0+" },
          { name: "protocolType", type: "string", versions: "0+" },
        ],
      },
    ],
  },
};

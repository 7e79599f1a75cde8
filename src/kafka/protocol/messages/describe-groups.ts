import type { ApiDescription } from "../types.ts";

export const DESCRIBE_GROUPS_KEY = 15;

/** DescribeGroups 0–4: each named group's state, protocol and members (with their metadata and assignment). */
export const DESCRIBE_GROUPS: ApiDescription = {
  apiKey: DESCRIBE_GROUPS_KEY,
  name: "DescribeGroups",
  request: {
    name: "DescribeGroupsRequest",
    apiKey: DESCRIBE_GROUPS_KEY,
    validVersions: "0-4",
    flexibleVersions: "5+",
    fields: [
      { name: "groups", type: "[]string", versions: "0+" },
      { name: "includeAuthorizedOperations", type: "bool", versions: "3+" },
    ],
  },
  response: {
    name: "DescribeGroupsResponse",
    apiKey: DESCRIBE_GROUPS_KEY,
    validVersions: "0-4",
    flexibleVersions: "5+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "1+" },
      {
        name: "groups",
        type: "[]DescribedGroup",
        versions: "0+",
        fields: [
          { name: "errorCode", type: "int16", versions: "0+" },
          { name: "groupId", type: "string", versions: "0+" },
          { name: "groupState", type: "string", versions: "0+" },
          { name: "protocolType", type: "string", versions: "0+" },
          { name: "protocolData", type: "string", versions: "0+" },
          {
            name: "members",
            type: "[]DescribedGroupMember",
            versions: "0+",
            fields: [
              { name: "memberId", type: "string", versions: "0+" },
              { name: "groupInstanceId", type: "string", versions: "4+", nullableVersions: "4+", default: null },
              { name: "clientId", type: "string", versions: "0+" },
              { name: "clientHost", type: "string", versions: "0+" },
              { name: "memberMetadata", type: "bytes", versions: "0+" },
              { name: "memberAssignment", type: "bytes", versions: "0+" },
            ],
          },
          { name: "authorizedOperations", type: "int32", versions: "3+", default: -2147483648 },
        ],
      },
    ],
  },
};

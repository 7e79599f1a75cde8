import type { ApiDescription } from "../types.ts";

export const HEARTBEAT_KEY = 12;

/** Heartbeat 0–3: a member of a classic group is alive; the answer says whether it must rejoin. */
export const HEARTBEAT: ApiDescription = {
  apiKey: HEARTBEAT_KEY,
  name: "Heartbeat",
  request: {
    name: "HeartbeatRequest",
    apiKey: HEARTBEAT_KEY,
    validVersions: "0-3",
    flexibleVersions: "4+",
    fields: [
      { name: "groupId", type: "string", versions: "0+" },
      { name: "generationId", type: "int32", versions: "0+" },
      { name: "memberId", type: "string", versions: "0+" },
      { name: "groupInstanceId", type: "string", versions: "3+", nullableVersions: "3+", default: null },
    ],
  },
  response: {
    name: "HeartbeatResponse",
    apiKey: HEARTBEAT_KEY,
    validVersions: "0-3",
    flexibleVersions: "4+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "1+" },
      { name: "errorCode", type: "int16", versions: "0+" },
    ],
  },
};

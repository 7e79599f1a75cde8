import type { ApiDescription } from "../types.ts";

export const FIND_COORDINATOR_KEY = 10;

/** FindCoordinator 0–2: which broker coordinates a group (key type 0); gafka answers the leader. */
export const FIND_COORDINATOR: ApiDescription = {
  apiKey: FIND_COORDINATOR_KEY,
  name: "FindCoordinator",
  request: {
    name: "FindCoordinatorRequest",
    apiKey: FIND_COORDINATOR_KEY,
    validVersions: "0-2",
    flexibleVersions: "3+",
    fields: [
      { name: "key", type: "string", versions: "0-3" },
      { name: "keyType", type: "int8", versions: "1+", default: 0 },
    ],
  },
  response: {
    name: "FindCoordinatorResponse",
    apiKey: FIND_COORDINATOR_KEY,
    validVersions: "0-2",
    flexibleVersions: "3+",
    fields: [
      { name: "throttleTimeMs", type: "int32", versions: "1+" },
      { name: "errorCode", type: "int16", versions: "0-3" },
      { name: "errorMessage", type: "string", versions: "1-3", nullableVersions: "1-3" },
      { name: "nodeId", type: "int32", versions: "0-3" },
      { name: "host", type: "string", versions: "0-3" },
      { name: "port", type: "int32", versions: "0-3" },
    ],
  },
};

import type { MessageDescription } from "../types.ts";

/**
 * Request header v1 (classic) and v2 (flexible: a tagged section follows).
 * ClientId keeps its classic int16-length encoding even in v2, as in Kafka,
 * so a broker can read it before it knows whether the API version is flexible.
 */
export const REQUEST_HEADER: MessageDescription = {
  name: "RequestHeader",
  validVersions: "1-2",
  flexibleVersions: "2+",
  fields: [
    { name: "requestApiKey", type: "int16", versions: "0+" },
    { name: "requestApiVersion", type: "int16", versions: "0+" },
    { name: "correlationId", type: "int32", versions: "0+" },
    { name: "clientId", type: "string", versions: "1+", nullableVersions: "1+", flexibleVersions: "none" },
  ],
};

/** Response header v0 (the correlation id) and v1 (with a tagged section). */
export const RESPONSE_HEADER: MessageDescription = {
  name: "ResponseHeader",
  validVersions: "0-1",
  flexibleVersions: "1+",
  fields: [{ name: "correlationId", type: "int32", versions: "0+" }],
};

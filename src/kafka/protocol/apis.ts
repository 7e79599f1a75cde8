/**
 * Every Kafka API gafka describes, by API key. The listener (src/kafka) serves
 * some of them so far, and ApiVersions advertises those (Produce is advertised from 0
 * though described from 3; see messages/produce.ts).
 */
import { API_VERSIONS } from "./messages/api-versions.ts";
import { CREATE_TOPICS } from "./messages/create-topics.ts";
import { DELETE_TOPICS } from "./messages/delete-topics.ts";
import { DESCRIBE_CONFIGS } from "./messages/describe-configs.ts";
import { DESCRIBE_GROUPS } from "./messages/describe-groups.ts";
import { FETCH } from "./messages/fetch.ts";
import { FIND_COORDINATOR } from "./messages/find-coordinator.ts";
import { HEARTBEAT } from "./messages/heartbeat.ts";
import { JOIN_GROUP } from "./messages/join-group.ts";
import { LEAVE_GROUP } from "./messages/leave-group.ts";
import { LIST_GROUPS } from "./messages/list-groups.ts";
import { LIST_OFFSETS } from "./messages/list-offsets.ts";
import { METADATA } from "./messages/metadata.ts";
import { OFFSET_COMMIT } from "./messages/offset-commit.ts";
import { OFFSET_FETCH } from "./messages/offset-fetch.ts";
import { PRODUCE } from "./messages/produce.ts";
import { SYNC_GROUP } from "./messages/sync-group.ts";
import type { ApiDescription } from "./types.ts";

export const DESCRIBED_APIS: readonly ApiDescription[] = [
  PRODUCE,
  FETCH,
  LIST_OFFSETS,
  METADATA,
  OFFSET_COMMIT,
  OFFSET_FETCH,
  FIND_COORDINATOR,
  JOIN_GROUP,
  HEARTBEAT,
  LEAVE_GROUP,
  SYNC_GROUP,
  DESCRIBE_GROUPS,
  LIST_GROUPS,
  API_VERSIONS,
  CREATE_TOPICS,
  DELETE_TOPICS,
  DESCRIBE_CONFIGS,
];

export const API_BY_KEY: ReadonlyMap<number, ApiDescription> = new Map(DESCRIBED_APIS.map((api) => [api.apiKey, api]));

/**
 * Every Kafka API gafka describes, by API key. The listener (src/kafka) serves
 * some of them so far, and ApiVersions advertises those (Produce is advertised from 0
 * though described from 3; see messages/produce.ts).
 */
import { API_VERSIONS } from "./messages/api-versions.ts";
import { CREATE_TOPICS } from "./messages/create-topics.ts";
import { DELETE_TOPICS } from "./messages/delete-topics.ts";
import { DESCRIBE_CONFIGS } from "./messages/describe-configs.ts";
import { FETCH } from "./messages/fetch.ts";
import { FIND_COORDINATOR } from "./messages/find-coordinator.ts";
import { LIST_OFFSETS } from "./messages/list-offsets.ts";
import { METADATA } from "./messages/metadata.ts";
import { PRODUCE } from "./messages/produce.ts";
import type { ApiDescription } from "./types.ts";

export const DESCRIBED_APIS: readonly ApiDescription[] = [PRODUCE, FETCH, LIST_OFFSETS, METADATA, FIND_COORDINATOR, API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS, DESCRIBE_CONFIGS];

export const API_BY_KEY: ReadonlyMap<number, ApiDescription> = new Map(DESCRIBED_APIS.map((api) => [api.apiKey, api]));

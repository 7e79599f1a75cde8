/**
 * The JSON the broker speaks (docs/api.md), field for field, and the
 * conversions between it and the SDK's types. Nothing here knows how the
 * broker works inside; this is only what travels.
 */

/**
 * Header list on the wire: an object of string values, or an array of
 * `{key, value}` when a key repeats. Values are UTF-8 text, or base64 when the
 * request asked for `value_encoding=base64`.
 */
export type WireHeaders = Record<string, string | null> | { key: string; value: string | null }[];

/**
 * One record in `POST /api/v1/produce` (batch form, without `topic`).
 * `value` and the header values are UTF-8 text, or all base64 with
 * `value_encoding: "base64"`; `key` likewise with `key_encoding`. A null
 * value is a tombstone. `partition` is always set by the SDK.
 */
export interface WireProduceRecord {
  partition?: number;
  key?: string;
  key_encoding?: "base64";
  value: string | null;
  value_encoding?: "base64";
  headers?: WireHeaders;
  timestamp?: number;
}

/** Answer to the batch form: one result per record, in request order. */
export interface WireProduceBatchAnswer {
  topic: string;
  results: { partition: number; offset: number; timestamp: number }[];
}

/**
 * How records travel (docs/api.md "Record batches"): `batch` is Kafka's
 * RecordBatch v2 in binary bodies, `json` the JSON forms.
 */
export type RecordFormat = "batch" | "json";

/** The media type of binary produce bodies and consume answers. */
export const RECORD_BATCH_MEDIA_TYPE = "application/vnd.kafka.record-batch";

/** Answer to a binary produce: the records got base_offset..last_offset in order; both -1 under acks=0. */
export interface WireRecordBatchProduceAnswer {
  topic: string;
  partition: number;
  base_offset: number;
  last_offset: number;
}

/**
 * One partition's bytes in a binary consume answer: `bytes` bytes of whole
 * RecordBatch v2, of which only the records with
 * `offset <= record offset < next_offset` are delivered.
 */
export interface WireChunk {
  topic: string;
  partition: number;
  offset: number;
  next_offset: number;
  bytes: number;
}

/** The JSON header of a binary consume answer: the JSON answer without `records`, plus `chunks`. */
export type WireBatchHeader<Answer> = Omit<Answer, "records"> & { chunks: WireChunk[] };

/** A record in the answer to `GET /api/v1/consume`. `key` is null when the record has none. */
export interface WireConsumedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers?: WireHeaders;
  timestamp: number;
}

/** Answer to `GET /api/v1/consume`: `next_offset` is the offset to ask for next. */
export interface WireConsumeAnswer {
  topic: string;
  partition: number;
  records: WireConsumedRecord[];
  next_offset: number;
  high_watermark: number;
}

export interface WirePartitionDescription {
  partition: number;
  earliest_offset: number;
  next_offset: number;
  size_bytes: number;
  status: "online" | "offline" | "corrupt";
  error?: string;
}

/** Answer to `POST /api/v1/topics` and `GET /api/v1/topics/{name}`. */
export interface WireTopicDescription {
  name: string;
  created_at: number;
  partitions: WirePartitionDescription[];
  /** Absent from a broker older than topic configurations. */
  configs?: { name: string; value: string; source: "topic" | "default" }[];
}

/** Answer to `GET /api/v1/topics`. */
export interface WireTopicList {
  topics: { name: string; partitions: number }[];
}

/** A partition that is not serving, in the answer to `GET /healthz`. */
export interface WireUnhealthyPartition {
  topic: string;
  partition: number;
  status: "offline" | "corrupt";
  error: string;
}

/** Answer to `GET /healthz`. */
export interface WireHealth {
  status: "ok" | "degraded";
  broker_id: number;
  offline_partitions: WireUnhealthyPartition[];
}

/** A partition in a group's assignment or commit. */
export interface WireTopicPartition {
  topic: string;
  partition: number;
}

/** Answer to a join or heartbeat: the member's view of its group. */
export interface WireMembership {
  group_id: string;
  consumer_id: string;
  generation: number;
  assignment: WireTopicPartition[];
  session_timeout_ms: number;
  /** The leader epoch the answering coordinator led under (absent from older brokers). */
  leader_epoch?: number;
}

/** Answer to a group-mode `GET /api/v1/consume`: the membership and records of any owned partition. */
export interface WireGroupConsumeAnswer extends WireMembership {
  records: (WireConsumedRecord & { topic: string })[];
}

/** Answer to `GET /api/v1/consumer-groups`. */
export interface WireGroupList {
  groups: { group_id: string; state: "empty" | "stable"; generation: number; members: number }[];
}

/** Answer to `GET /api/v1/consumer-groups/{group}/status`. */
export interface WireGroupStatus {
  group_id: string;
  state: "empty" | "stable";
  generation: number;
  /** An HTTP group's assignor; a Kafka group's, the protocol its members chose. */
  assignor: "round-robin" | "sticky" | (string & {});
  members: {
    consumer_id: string;
    topics: string[];
    session_timeout_ms: number;
    last_heartbeat: number;
    assignment: WireTopicPartition[];
  }[];
  partitions: {
    topic: string;
    partition: number;
    committed_offset: number | null;
    /** Absent from an older broker. */
    log_start_offset?: number | null;
    below_log_start?: boolean;
    log_end_offset: number | null;
    lag: number | null;
    owner: string | null;
  }[];
}

/** Answer to `POST /api/v1/consumer-groups/{group}/offsets`. */
export interface WireCommitAnswer {
  group_id: string;
  committed: (WireTopicPartition & { offset: number })[];
}

/** Answer to `POST /api/v1/consumer-groups/{group}/offsets/reset`. */
export interface WireResetAnswer {
  group_id: string;
  offsets: (WireTopicPartition & { offset: number })[];
}

const utf8Encoder = new TextEncoder();

/** Bytes of a string (its UTF-8) or of bytes; what the broker hashes for a key. */
export function asBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? utf8Encoder.encode(data) : data;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** Header list as the SDK hands it out: repeated keys kept, in order. */
export function headerList(headers: WireHeaders | undefined): { key: string; value: string | null }[] {
  if (headers === undefined || headers === null) return [];
  if (Array.isArray(headers)) return headers.map(({ key, value }) => ({ key, value }));
  return Object.entries(headers).map(([key, value]) => ({ key, value }));
}

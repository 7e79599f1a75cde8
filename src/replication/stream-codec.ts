import { GafkaError } from "../core/errors.ts";
import { isLeaderEpoch, LEADER_EPOCH_MAX, limits } from "../core/limits.ts";
import type { SecuritySnapshot } from "../security/security-snapshot.ts";
import { type CleanerPass, cleanerPassesJson, cleanerPassesOf } from "../storage/cleaner-checkpoint.ts";
import { isHostPort } from "../core/host-port.ts";
import { isClusterId } from "./cluster-id.ts";
import { isSessionId } from "./session-id.ts";

/**
 * The replication stream: the body of the leader's answer to
 * `POST /api/v1/replication/stream`, one long-lived response read by the
 * follower as it arrives. A sequence of messages, integers big-endian:
 *
 * ```
 * position  size  field
 *        0     1  type          uint8
 *        1     4  payloadBytes  uint32
 *        5     n  payload
 * ```
 *
 * | type | name            | payload |
 * |------|-----------------|---------|
 * | 1    | metadata        | JSON {"session", "cluster_id", "leader_id", "leader_epoch", "topics": [{"name", "partitions", "created_at"}], "followers": [{"id", "address"}], "replicas", "min_insync_replicas", "replica_lag_max_ms", "kafka_brokers": [{"id", "address"}]} — the leader's whole topic list, its followers, its replica count R (the leader and the most followers it has had at once under this leadership, expired ones included: never lowered; an older leader leaves it out, then R = 1 + followers), and its --min-insync-replicas (N) and --replica-lag-max (its lease period), which a follower needs to judge its own promotion, and where Kafka clients reach the leader and each follower that told it (kafka-cluster.ts; a broker whose Kafka door is off is left out; absent from an older leader); first on every stream and again after each change |
 * | 2    | start           | JSON {"topic", "partition", "offset", "restart"?} — the follower cuts its log back to `offset` if it holds more (leader-epoch truncation) and receives from there; `restart: true` (the follower's log ends, or stops agreeing, below the leader's first segment, which retention or DeleteRecords deleted): the follower deletes every segment and starts again, empty, at `offset`, the leader's first segment's base |
 * | 3    | batches         | binary, below: stored frames of one partition, unchanged |
 * | 4    | high_watermarks | JSON [{"topic", "partition", "high_watermark", "log_start_offset"?}] — sent when either moves; `log_start_offset` is the leader's log start (retention, DeleteRecords): the follower moves its own up to it (at most its log end), deleting the same segments, so both keep the same segment files (absent from an older leader) |
 * | 5    | offsets         | JSON {"snapshot": bool, "sequence", "entries": [{"group", "topic", "partition", "offset", "committed_at"}]} — committed group offsets; a snapshot replaces every offset the follower holds; offset -1 deletes. `sequence`: the leader's offset-store write these entries end at (a snapshot: the last write it includes); the follower reports it back (ack's `offsets_sequence`) once it holds them durably |
 * | 6    | heartbeat       | JSON {"leader_epoch"} — at least every heartbeat interval (a quarter of the leader's --replica-lag-max, at most a second), even while other messages flow: a dead stream is noticed, and the follower answers each with an ack that echoes the latest `sent_at` |
 * | 7    | sent_at         | JSON {"sent_at"} — the leader's monotonic clock (ms) when it put out the messages that follow, up to the next `sent_at`; first in every write to the stream. The follower echoes the latest it received in its acks: an echo proves the follower heard the leader as of that time, which is what the leader's lease (leader-lease.ts) runs from |
 * | 8    | security        | JSON: the leader's whole credential store as security.json holds it (security-snapshot.ts: {"version", "state_version", "users", "tokens", "acls"}; SCRAM keys and SHA-256 hashes, never a password or token secret) — right after the first metadata on every stream and again after each change (bursts coalesced); the follower adopts it, durably, when it differs from what it holds |
 * | 9    | cleaner_passes  | JSON {"topic", "partition", "passes": [{"clean_end_offset", "cleaned_at_ms", "delete_retention_ms"?, "min_compaction_lag_ms"?}]} — the leader's cleaner checkpoint (docs/storage.md) right after a compaction pass of the partition is swapped in and recorded, and for every partition with one when a stream opens; each entry is every input of one pass (its clean end, its time, the settings it used; with the entries before it, the checkpoint it read). The follower repeats the passes it has not done, in order, each once it holds the log up to its clean end (src/broker/replicated-passes.ts), and gets the leader's bytes |
 *
 * batches payload:
 *
 * ```
 * position  size  field
 *        0     2  topicBytes      uint16
 *        2     t  topic           UTF-8
 *      2+t     4  partition       uint32
 *      6+t     8  highWatermark   uint64 (the leader's, after these frames)
 *     14+t     1  flags           bit 0: the first frame begins a segment file on the leader
 *     15+t     …  frames          whole frames exactly as in the leader's segment (docs/storage.md)
 * ```
 */
export type StreamMessage =
  | {
      type: "metadata";
      /** The session id (stream-session.ts newSessionId): the follower's acks name it. */
      session: string;
      /** The leader's cluster id (cluster-id.ts): a follower of another cluster refuses the stream, one with none takes it. */
      clusterId: string;
      leaderId: number;
      leaderEpoch: number;
      topics: TopicInfo[];
      followers: { id: number; address: string }[];
      /**
       * R: the leader and the most followers it has had at once under this leadership, expired
       * ones included (never lowered); absent from an older leader (then 1 + followers).
       */
      replicas?: number;
      /** The leader's --min-insync-replicas; absent from an older leader. */
      minInsyncReplicas?: number;
      /** The leader's --replica-lag-max, its lease period; absent from an older leader. */
      replicaLagMaxMs?: number;
      /** The Kafka addresses (`host:port`) of the leader and of its followers that told it theirs; absent from an older leader. */
      kafkaBrokers?: KafkaBrokerAddress[];
    }
  | { type: "start"; topic: string; partition: number; offset: number; restart?: boolean }
  | { type: "batches"; topic: string; partition: number; highWatermark: number; startsSegment: boolean; frames: Uint8Array }
  | { type: "high_watermarks"; entries: { topic: string; partition: number; highWatermark: number; logStartOffset?: number }[] }
  | { type: "offsets"; snapshot: boolean; sequence: number; entries: ReplicatedOffset[] }
  | { type: "heartbeat"; leaderEpoch: number }
  | { type: "sent_at"; sentAtMs: number }
  /** Checked here only for its shape and `state_version`; CredentialStore.adopt checks every field. */
  | { type: "security"; snapshot: SecuritySnapshot }
  | { type: "cleaner_passes"; topic: string; partition: number; passes: CleanerPass[] };

/** A broker's id and where Kafka clients reach it (`host:port`, src/core/host-port.ts). */
export interface KafkaBrokerAddress {
  id: number;
  address: string;
}

export interface TopicInfo {
  name: string;
  partitions: number;
  createdAtMs: number;
  /**
   * The topic's overrides (topics.json's `configs`), Kafka's names to
   * strings; an older leader sends none, which means none. The follower
   * checks them as topics.json's are.
   */
  configs: Readonly<Record<string, string>>;
}

export interface ReplicatedOffset {
  group: string;
  topic: string;
  partition: number;
  /** -1: deleted. */
  offset: number;
  committedAtMs: number;
}

const TYPE_CODES = { metadata: 1, start: 2, batches: 3, high_watermarks: 4, offsets: 5, heartbeat: 6, sent_at: 7, security: 8, cleaner_passes: 9 } as const;
const HEADER_BYTES = 5;
const TWO_POW_32 = 2 ** 32;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function encodeMessage(message: StreamMessage): Uint8Array {
  if (message.type === "batches") return encodeBatches(message);
  const payload = utf8Encoder.encode(JSON.stringify(jsonPayload(message)));
  const bytes = new Uint8Array(HEADER_BYTES + payload.length);
  writeHeader(bytes, TYPE_CODES[message.type], payload.length);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

function jsonPayload(message: Exclude<StreamMessage, { type: "batches" }>): unknown {
  switch (message.type) {
    case "metadata":
      return {
        session: message.session,
        cluster_id: message.clusterId,
        leader_id: message.leaderId,
        leader_epoch: message.leaderEpoch,
        topics: message.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions,
          created_at: t.createdAtMs,
          ...(Object.keys(t.configs).length === 0 ? {} : { configs: t.configs }),
        })),
        followers: message.followers.map((f) => ({ id: f.id, address: f.address })),
        replicas: message.replicas,
        min_insync_replicas: message.minInsyncReplicas,
        replica_lag_max_ms: message.replicaLagMaxMs,
        kafka_brokers: message.kafkaBrokers?.map((b) => ({ id: b.id, address: b.address })),
      };
    case "start":
      return { topic: message.topic, partition: message.partition, offset: message.offset, ...(message.restart ? { restart: true } : {}) };
    case "high_watermarks":
      return message.entries.map((e) => ({ topic: e.topic, partition: e.partition, high_watermark: e.highWatermark, log_start_offset: e.logStartOffset }));
    case "offsets":
      return {
        snapshot: message.snapshot,
        sequence: message.sequence,
        entries: message.entries.map((e) => ({ group: e.group, topic: e.topic, partition: e.partition, offset: e.offset, committed_at: e.committedAtMs })),
      };
    case "heartbeat":
      return { leader_epoch: message.leaderEpoch };
    case "sent_at":
      return { sent_at: message.sentAtMs };
    case "security":
      return message.snapshot;
    case "cleaner_passes":
      return { topic: message.topic, partition: message.partition, passes: cleanerPassesJson(message.passes) };
  }
}

function encodeBatches(message: Extract<StreamMessage, { type: "batches" }>): Uint8Array {
  const topic = utf8Encoder.encode(message.topic);
  const payloadBytes = 2 + topic.length + 4 + 8 + 1 + message.frames.length;
  const bytes = new Uint8Array(HEADER_BYTES + payloadBytes);
  const view = new DataView(bytes.buffer);
  writeHeader(bytes, TYPE_CODES.batches, payloadBytes);
  let at = HEADER_BYTES;
  view.setUint16(at, topic.length);
  bytes.set(topic, at + 2);
  at += 2 + topic.length;
  view.setUint32(at, message.partition);
  view.setUint32(at + 4, Math.floor(message.highWatermark / TWO_POW_32));
  view.setUint32(at + 8, message.highWatermark % TWO_POW_32);
  bytes[at + 12] = message.startsSegment ? 1 : 0;
  bytes.set(message.frames, at + 13);
  return bytes;
}

function writeHeader(bytes: Uint8Array, type: number, payloadBytes: number): void {
  bytes[0] = type;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(1, payloadBytes);
}

/**
 * Cuts the stream back into messages as chunks arrive, whatever their
 * boundaries. A message over limits.replicationMessageBytesMax or of an
 * unknown type is a broken stream: push() throws.
 */
export class StreamDecoder {
  private buffer = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;

  push(chunk: Uint8Array): StreamMessage[] {
    this.append(chunk);
    const messages: StreamMessage[] = [];
    while (this.end - this.start >= HEADER_BYTES) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.start, HEADER_BYTES);
      const type = view.getUint8(0);
      const payloadBytes = view.getUint32(1);
      if (payloadBytes > limits.replicationMessageBytesMax) throw broken(`a message of ${payloadBytes} bytes`);
      if (this.end - this.start < HEADER_BYTES + payloadBytes) break;
      const payload = this.buffer.subarray(this.start + HEADER_BYTES, this.start + HEADER_BYTES + payloadBytes);
      messages.push(decodePayload(type, payload));
      this.start += HEADER_BYTES + payloadBytes;
    }
    return messages;
  }

  private append(chunk: Uint8Array): void {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.end + chunk.length > this.buffer.length) {
      // Move what is kept to the front, into a larger buffer when it must grow.
      const kept = this.end - this.start;
      if (kept + chunk.length > this.buffer.length) {
        const next = new Uint8Array((kept + chunk.length) * 2);
        next.set(this.buffer.subarray(this.start, this.end), 0);
        this.buffer = next;
      } else {
        this.buffer.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = kept;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }
}

/** A topic's overrides as sent: an object of strings, or none (an older leader). */
function configsOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value) || !Object.values(value).every((item) => typeof item === "string")) {
    throw broken("topic configs that are not an object of strings");
  }
  return value as Record<string, string>;
}

function decodePayload(type: number, payload: Uint8Array): StreamMessage {
  if (type === TYPE_CODES.batches) return decodeBatches(payload);
  let json: any;
  try {
    json = JSON.parse(utf8Decoder.decode(payload));
  } catch {
    throw broken(`a message of type ${type} that is not JSON`);
  }
  switch (type) {
    case TYPE_CODES.metadata:
      return {
        type: "metadata",
        session: sessionIdOf(json.session),
        clusterId: clusterIdOf(json.cluster_id),
        leaderId: json.leader_id,
        leaderEpoch: leaderEpochOf(json.leader_epoch),
        topics: (json.topics as any[]).map((t) => ({ name: t.name, partitions: t.partitions, createdAtMs: t.created_at, configs: configsOf(t.configs) })),
        followers: ((json.followers ?? []) as any[]).map((f) => ({ id: f.id, address: f.address })),
        replicas: positiveInteger(json.replicas),
        minInsyncReplicas: positiveInteger(json.min_insync_replicas),
        replicaLagMaxMs: positiveInteger(json.replica_lag_max_ms),
        kafkaBrokers: kafkaBrokersOf(json.kafka_brokers),
      };
    case TYPE_CODES.start:
      return { type: "start", topic: json.topic, partition: json.partition, offset: json.offset, ...(json.restart === true ? { restart: true } : {}) };
    case TYPE_CODES.high_watermarks:
      return {
        type: "high_watermarks",
        entries: (json as any[]).map((e) => ({
          topic: e.topic,
          partition: e.partition,
          highWatermark: e.high_watermark,
          ...(Number.isSafeInteger(e.log_start_offset) && e.log_start_offset >= 0 ? { logStartOffset: e.log_start_offset } : {}),
        })),
      };
    case TYPE_CODES.offsets:
      return {
        type: "offsets",
        snapshot: json.snapshot === true,
        sequence: Number.isSafeInteger(json.sequence) ? json.sequence : 0,
        entries: (json.entries as any[]).map((e) => ({
          group: e.group,
          topic: e.topic,
          partition: e.partition,
          offset: e.offset,
          committedAtMs: e.committed_at,
        })),
      };
    case TYPE_CODES.heartbeat:
      return { type: "heartbeat", leaderEpoch: leaderEpochOf(json?.leader_epoch) };
    case TYPE_CODES.sent_at:
      if (typeof json?.sent_at !== "number" || !Number.isFinite(json.sent_at)) throw broken("a sent_at message without a time");
      return { type: "sent_at", sentAtMs: json.sent_at };
    case TYPE_CODES.security:
      if (typeof json !== "object" || json === null || Array.isArray(json) || !Number.isSafeInteger(json.state_version) || json.state_version < 0) {
        throw broken("a security message without a state_version");
      }
      return { type: "security", snapshot: json };
    case TYPE_CODES.cleaner_passes: {
      const passes = cleanerPassesOf(json?.passes);
      if (typeof json?.topic !== "string" || !Number.isSafeInteger(json.partition) || json.partition < 0 || passes === undefined) {
        throw broken("a cleaner_passes message without a topic, a partition or valid passes");
      }
      return { type: "cleaner_passes", topic: json.topic, partition: json.partition, passes };
    }
    default:
      throw broken(`a message of unknown type ${type}`);
  }
}

function decodeBatches(payload: Uint8Array): StreamMessage {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const topicBytes = view.getUint16(0);
  const topic = utf8Decoder.decode(payload.subarray(2, 2 + topicBytes));
  let at = 2 + topicBytes;
  const partition = view.getUint32(at);
  const highWatermark = view.getUint32(at + 4) * TWO_POW_32 + view.getUint32(at + 8);
  const startsSegment = (payload[at + 12]! & 1) === 1;
  at += 13;
  // A copy: the decoder's buffer is reused for the next chunk.
  return { type: "batches", topic, partition, highWatermark, startsSegment, frames: payload.slice(at) };
}

function clusterIdOf(value: unknown): string {
  if (!isClusterId(value)) throw broken("a metadata message without a cluster id");
  return value;
}

function leaderEpochOf(value: unknown): number {
  if (!isLeaderEpoch(value)) throw broken(`a leader epoch that is not an integer from 0 to ${LEADER_EPOCH_MAX}: ${JSON.stringify(value)}`);
  return value;
}

function sessionIdOf(value: unknown): string {
  if (!isSessionId(value)) throw broken("a metadata message without a session id");
  return value;
}

/**
 * The leader's list of Kafka addresses: the entries that are an integer id and `host:port`
 * (others are dropped: a bad entry costs its broker a place in Kafka Metadata, not the stream),
 * at most one per follower slot and the leader's.
 */
function kafkaBrokersOf(value: unknown): KafkaBrokerAddress[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .filter((b) => Number.isSafeInteger(b?.id) && typeof b.address === "string" && isHostPort(b.address))
    .slice(0, limits.followersMax + 1)
    .map((b) => ({ id: b.id, address: b.address }));
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function broken(what: string): GafkaError {
  return new GafkaError("invalid_request", `the replication stream is broken: ${what}`);
}

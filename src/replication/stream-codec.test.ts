import { expect, test } from "bun:test";
import { LEADER_EPOCH_MAX, limits } from "../core/limits.ts";
import { encodeMessage, StreamDecoder, type StreamMessage } from "./stream-codec.ts";

const messages: StreamMessage[] = [
  { type: "metadata", session: "0123456789abcdef0123456789abcdef", clusterId: "q1Sh-9_ITX2l6MxLvGUkVA", leaderId: 1, leaderEpoch: 3, topics: [{ name: "orders", partitions: 2, createdAtMs: 1_764_000_000_000, configs: {} }, { name: "logs", partitions: 1, createdAtMs: 1_764_000_000_001, configs: { "retention.ms": "3600000" } }], followers: [{ id: 2, address: "localhost:9002" }], minInsyncReplicas: 2, replicaLagMaxMs: 10_000 },
  { type: "start", topic: "orders", partition: 1, offset: 120 },
  { type: "batches", topic: "orders", partition: 1, highWatermark: 2 ** 40 + 5, startsSegment: true, frames: Uint8Array.from({ length: 3000 }, (_, i) => i % 251) },
  { type: "high_watermarks", entries: [{ topic: "orders", partition: 0, highWatermark: 99 }] },
  { type: "offsets", snapshot: true, sequence: 17, entries: [{ group: "g", topic: "orders", partition: 0, offset: -1, committedAtMs: 5 }] },
  { type: "offsets", snapshot: false, sequence: 2 ** 40, entries: [{ group: "g", topic: "orders", partition: 1, offset: 12, committedAtMs: 6 }] },
  { type: "heartbeat", leaderEpoch: 3 },
  { type: "sent_at", sentAtMs: 123_456.789 },
  {
    type: "security",
    snapshot: {
      version: 1,
      state_version: 7,
      users: [{ name: "alice", scram: [{ mechanism: "SCRAM-SHA-256", salt: "c2FsdA==", iterations: 4096, stored_key: "a2V5", server_key: "a2V5" }] }],
      tokens: [{ id: "0123456789abcdef", user: "alice", secret_sha256: "ab".repeat(32), created_at_ms: 5, expires_at_ms: null, description: "ci" }],
      acls: [{ principal: "User:alice", resource_type: "topic", resource_name: "orders", pattern_type: "literal", operation: "read", permission: "allow" }],
    },
  },
  { type: "batches", topic: "ünïcode-topic", partition: 0, highWatermark: 0, startsSegment: false, frames: new Uint8Array([1, 2, 3]) },
  // The log start: a restart at the leader's first segment, and the leader's log start beside its high watermark.
  { type: "start", topic: "orders", partition: 0, offset: 4096, restart: true },
  { type: "high_watermarks", entries: [{ topic: "orders", partition: 1, highWatermark: 99, logStartOffset: 40 }] },
  // A leader's cleaner checkpoint: an older broker's pass (no settings) and one with them.
  {
    type: "cleaner_passes",
    topic: "orders",
    partition: 1,
    passes: [
      { cleanEndOffset: 512, cleanedAtMs: 1_767_000_000_000 },
      { cleanEndOffset: 2 ** 40, cleanedAtMs: 1_767_000_060_000, deleteRetentionMs: 86_400_000, minCompactionLagMs: 0 },
    ],
  },
];

test("messages survive any chunking of the stream", () => {
  const encoded = messages.map(encodeMessage);
  const whole = new Uint8Array(encoded.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of encoded) {
    whole.set(part, at);
    at += part.length;
  }
  for (const chunkBytes of [1, 2, 5, 64, 1000, whole.length]) {
    const decoder = new StreamDecoder();
    const decoded: StreamMessage[] = [];
    for (let position = 0; position < whole.length; position += chunkBytes) decoded.push(...decoder.push(whole.subarray(position, position + chunkBytes)));
    expect(decoded).toEqual(messages);
  }
});

test("a decoded batch's frames are a copy, not a view of the decoder's buffer", () => {
  const decoder = new StreamDecoder();
  const [first] = decoder.push(encodeMessage(messages[2]!)) as [Extract<StreamMessage, { type: "batches" }>];
  decoder.push(encodeMessage({ ...messages[2]!, frames: new Uint8Array(3000).fill(9) } as StreamMessage));
  expect(first.frames[1]).toBe(1);
});

test("an oversized or unknown message is a broken stream", () => {
  const huge = new Uint8Array(5);
  huge[0] = 3;
  new DataView(huge.buffer).setUint32(1, limits.replicationMessageBytesMax + 1);
  expect(() => new StreamDecoder().push(huge)).toThrow(/broken/);
  const unknown = new Uint8Array([99, 0, 0, 0, 2, 123, 125]);
  expect(() => new StreamDecoder().push(unknown)).toThrow(/unknown type 99/);
});

test("a metadata or heartbeat message with a leader epoch out of range is a broken stream", () => {
  const metadata = messages[0] as Extract<StreamMessage, { type: "metadata" }>;
  for (const leaderEpoch of [2 ** 31 - 1, 2 ** 31, -1, 1.5]) {
    expect(() => new StreamDecoder().push(encodeMessage({ ...metadata, leaderEpoch }))).toThrow(/broken: a leader epoch/);
    expect(() => new StreamDecoder().push(encodeMessage({ type: "heartbeat", leaderEpoch }))).toThrow(/broken: a leader epoch/);
  }
  expect(new StreamDecoder().push(encodeMessage({ type: "heartbeat", leaderEpoch: LEADER_EPOCH_MAX }))).toEqual([{ type: "heartbeat", leaderEpoch: LEADER_EPOCH_MAX }]);
});

test("a security message is type 8 whose payload is the snapshot's JSON; one without a state_version is a broken stream", () => {
  const security = messages.find((message) => message.type === "security")!;
  const bytes = encodeMessage(security);
  expect(bytes[0]).toBe(8);
  expect(JSON.parse(new TextDecoder().decode(bytes.subarray(5)))).toEqual((security as Extract<StreamMessage, { type: "security" }>).snapshot);
  const payloadOf = (json: string) => {
    const payload = new TextEncoder().encode(json);
    const message = new Uint8Array(5 + payload.length);
    message[0] = 8;
    new DataView(message.buffer).setUint32(1, payload.length);
    message.set(payload, 5);
    return message;
  };
  for (const json of ["[]", "null", '{"version":1}', '{"state_version":-1}', '{"state_version":1.5}', "{"]) {
    expect(() => new StreamDecoder().push(payloadOf(json))).toThrow(/broken/);
  }
});

test("a metadata message from a leader older than topic configurations means none", () => {
  const payload = new TextEncoder().encode(
    JSON.stringify({ session: "0123456789abcdef0123456789abcdef", cluster_id: "q1Sh-9_ITX2l6MxLvGUkVA", leader_id: 1, leader_epoch: 3, topics: [{ name: "orders", partitions: 2, created_at: 5 }] }),
  );
  const bytes = new Uint8Array(5 + payload.length);
  bytes[0] = 1; // metadata
  new DataView(bytes.buffer).setUint32(1, payload.length);
  bytes.set(payload, 5);
  const decoder = new StreamDecoder();
  const decoded = decoder.push(bytes);
  expect(decoded).toHaveLength(1);
  expect((decoded[0] as Extract<StreamMessage, { type: "metadata" }>).topics).toEqual([{ name: "orders", partitions: 2, createdAtMs: 5, configs: {} }]);
});

test("a cleaner_passes message is type 9 carrying the checkpoint's JSON; one without valid passes is a broken stream", () => {
  const message: StreamMessage = { type: "cleaner_passes", topic: "t", partition: 0, passes: [{ cleanEndOffset: 5, cleanedAtMs: 7, deleteRetentionMs: 1, minCompactionLagMs: 2 }] };
  const bytes = encodeMessage(message);
  expect(bytes[0]).toBe(9);
  expect(JSON.parse(new TextDecoder().decode(bytes.subarray(5)))).toEqual({
    topic: "t",
    partition: 0,
    passes: [{ clean_end_offset: 5, cleaned_at_ms: 7, delete_retention_ms: 1, min_compaction_lag_ms: 2 }],
  });
  const frame = (json: unknown) => {
    const payload = new TextEncoder().encode(JSON.stringify(json));
    const out = new Uint8Array(5 + payload.length);
    out[0] = 9;
    new DataView(out.buffer).setUint32(1, payload.length);
    out.set(payload, 5);
    return out;
  };
  for (const broken of [{ partition: 0, passes: [] }, { topic: "t", partition: -1, passes: [] }, { topic: "t", partition: 0, passes: [{ clean_end_offset: "5", cleaned_at_ms: 7 }] }, { topic: "t", partition: 0 }]) {
    expect(() => new StreamDecoder().push(frame(broken))).toThrow(/broken/);
  }
});

test("a metadata message's Kafka addresses: kept when id and host:port, the others dropped without breaking the stream; none from an older leader", () => {
  const metadata = messages[0] as Extract<StreamMessage, { type: "metadata" }>;
  const withAddresses = { ...metadata, kafkaBrokers: [{ id: 1, address: "leader.example:9092" }, { id: 2, address: "[::1]:9093" }] };
  expect(new StreamDecoder().push(encodeMessage(withAddresses))).toEqual([withAddresses]);
  expect(JSON.parse(new TextDecoder().decode(encodeMessage(withAddresses).subarray(5))).kafka_brokers).toEqual([
    { id: 1, address: "leader.example:9092" },
    { id: 2, address: "[::1]:9093" },
  ]);
  const bad = [{ id: 3, address: "http://evil.example/" }, { id: "4", address: "a:1" }, { address: "b:2" }, null, { id: 5, address: "c:99999" }];
  const json = JSON.parse(new TextDecoder().decode(encodeMessage(withAddresses).subarray(5)));
  const payload = new TextEncoder().encode(JSON.stringify({ ...json, kafka_brokers: [...json.kafka_brokers, ...bad] }));
  const frame = new Uint8Array(5 + payload.length);
  frame[0] = 1; // metadata
  new DataView(frame.buffer).setUint32(1, payload.length);
  frame.set(payload, 5);
  const decoded = new StreamDecoder().push(frame);
  expect((decoded[0] as typeof withAddresses).kafkaBrokers).toEqual(withAddresses.kafkaBrokers);
  // More entries than follower slots and the leader: the rest are dropped.
  const many = Array.from({ length: limits.followersMax + 5 }, (_, id) => ({ id, address: `b${id}:9092` }));
  expect((new StreamDecoder().push(encodeMessage({ ...metadata, kafkaBrokers: many }))[0] as typeof withAddresses).kafkaBrokers).toHaveLength(limits.followersMax + 1);
  expect((new StreamDecoder().push(encodeMessage(metadata))[0] as typeof withAddresses).kafkaBrokers).toBeUndefined();
});

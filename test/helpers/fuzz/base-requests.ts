import { encodeRecordBatch } from "../../../src/protocol/record-batch.ts";
import type { Prng } from "./prng.ts";

/**
 * A valid-shaped request for every route of the HTTP API, the starting point
 * the fuzz harness mutates (so most of its requests get past the first checks
 * and reach the validation deep inside). Writes name only scratch topics and
 * groups; the reference topic and group appear only in reads.
 */

/** Names a run's requests may use. */
export interface FuzzScope {
  referenceTopic: string;
  referenceGroup: string;
  /** Topics and groups the fuzzer may create, fill, reset and delete. */
  scratchTopics: readonly string[];
  scratchGroups: readonly string[];
  /** The leader's cluster id and address, its epoch when the run began. */
  clusterId: string;
  leaderAddress: string;
  leaderEpoch: number;
  hasFollower: boolean;
  /**
   * Brokers authenticate their peers (started with a cluster secret): a
   * well-formed replication call from the fuzzer is refused, so it may send
   * every one fully valid. Until then it never sends one that would make a
   * broker follow, promote, fence or register a made-up peer.
   */
  peersAuthenticated: boolean;
}

/** A request before it is written out: its route's path with parameters filled, a query and a body. */
export interface RequestShape {
  method: string;
  template: string;
  params: Record<string, string>;
  query: [string, string][];
  /** A JSON value (written with jsonText), raw bytes, or none. */
  body?: unknown;
  bodyBytes?: Uint8Array;
  headers: [string, string][];
}

export const JSON_TYPE = "application/json";
export const RECORD_BATCH_TYPE = "application/vnd.kafka.record-batch";

type Builder = (rng: Prng, scope: FuzzScope) => RequestShape;

function shape(method: string, template: string, extra: Partial<RequestShape> = {}): RequestShape {
  const headers: [string, string][] = extra.body !== undefined ? [["content-type", JSON_TYPE]] : [];
  return { method, template, params: {}, query: [], headers, ...extra };
}

const readableTopic = (rng: Prng, scope: FuzzScope) => (rng.chance(0.3) ? scope.referenceTopic : rng.pick(scope.scratchTopics));
const member = (rng: Prng) => rng.pick(["m1", "m2", "m3"]);
/** Long-poll waits stay small: the run bounds every request. */
const smallWait = (rng: Prng) => rng.pick(["0", "1", "20ms", "100ms", "0s"]);

function jsonRecord(rng: Prng): Record<string, unknown> {
  const record: Record<string, unknown> = { value: rng.pick(["v", "", "hello", "aGk=", null]) };
  if (rng.chance(0.5)) record.key = rng.pick(["k", "user1", null, ""]);
  if (rng.chance(0.3)) record.partition = rng.int(0, 2);
  if (rng.chance(0.3)) record.headers = rng.chance(0.5) ? { h: "v" } : [{ key: "h", value: "a" }, { key: "h", value: "b" }];
  if (rng.chance(0.2)) record.timestamp = 1_764_000_000_000 + rng.int(0, 1000);
  if (rng.chance(0.2)) record.value_encoding = rng.pick(["base64", "utf8"]);
  return record;
}

/** One RecordBatch v2 as the binary produce path takes it. */
export function recordBatch(rng: Prng): Uint8Array {
  const records = Array.from({ length: rng.int(1, 4) }, (_, i) => ({
    key: rng.chance(0.5) ? `k${i}` : null,
    value: rng.chance(0.9) ? `value-${i}` : null,
    headers: rng.chance(0.3) ? [{ key: "h", value: new TextEncoder().encode("v") }] : [],
    timestampMs: 1_764_000_000_000 + i,
  }));
  return encodeRecordBatch({ baseOffset: 0, records });
}

function userName(rng: Prng): string {
  return rng.pick(["alice", "bob", "fuzz-user", "admin"]);
}

/** An ACL binding on scratch resources; the fuzzed brokers run with --auth off, so bindings change no answer. */
function aclBinding(rng: Prng, scope: FuzzScope): Record<string, unknown> {
  const resourceType = rng.pick(["topic", "group", "cluster"]);
  const resourceName = resourceType === "cluster" ? "kafka-cluster" : resourceType === "topic" ? rng.pick(scope.scratchTopics) : rng.pick(scope.scratchGroups);
  return {
    principal: `User:${userName(rng)}`,
    resource_type: resourceType,
    resource_name: resourceName,
    pattern_type: resourceType === "cluster" ? "literal" : rng.pick(["literal", "prefixed"]),
    operation: rng.pick(["read", "write", "create", "delete", "describe", "alter", "cluster_action", "all"]),
    permission: rng.pick(["allow", "deny"]),
  };
}

const BUILDERS: Record<string, Builder> = {
  "POST /api/v1/produce": (rng, scope) => {
    const topic = rng.pick(scope.scratchTopics);
    const query: [string, string][] = rng.chance(0.3) ? [["acks", rng.pick(["1", "all", "0", "-1"])]] : [];
    if (rng.chance(0.3)) {
      const batches = Array.from({ length: rng.int(1, 2) }, () => recordBatch(rng));
      return shape("POST", "/api/v1/produce", {
        query: [["topic", topic], ["partition", String(rng.int(0, 2))], ...query],
        bodyBytes: Buffer.concat(batches),
        headers: [["content-type", RECORD_BATCH_TYPE]],
      });
    }
    const body = rng.chance(0.5) ? { topic, ...jsonRecord(rng) } : { topic, records: Array.from({ length: rng.int(1, 4) }, () => jsonRecord(rng)) };
    return shape("POST", "/api/v1/produce", { query, body });
  },
  "GET /api/v1/consume": (rng, scope) => {
    const headers: [string, string][] = rng.chance(0.3) ? [["accept", RECORD_BATCH_TYPE]] : [];
    if (rng.chance(0.6)) {
      const query: [string, string][] = [["topic", readableTopic(rng, scope)], ["partition", String(rng.int(0, 2))]];
      if (rng.chance(0.6)) query.push(["offset", rng.pick(["0", "1", "earliest", "latest", "5"])]);
      if (rng.chance(0.4)) query.push(["count", String(rng.int(1, 20))]);
      if (rng.chance(0.5)) query.push(["timeout", smallWait(rng)]);
      if (rng.chance(0.3)) query.push(["value_encoding", rng.pick(["utf8", "base64"])]);
      return shape("GET", "/api/v1/consume", { query, headers });
    }
    const query: [string, string][] = [
      ["topic", rng.chance(0.7) ? rng.pick(scope.scratchTopics) : scope.scratchTopics.join(",")],
      ["group_id", rng.pick(scope.scratchGroups)],
      ["consumer_id", member(rng)],
      ["timeout", smallWait(rng)],
    ];
    if (rng.chance(0.3)) query.push(["commit", rng.pick(["previous", "none"])]);
    if (rng.chance(0.2)) query.push(["assignor", rng.pick(["round-robin", "sticky"])]);
    if (rng.chance(0.2)) query.push(["session_timeout_ms", String(rng.pick([100, 1000, 10_000]))]);
    if (rng.chance(0.2)) query.push(["generation", String(rng.int(0, 3))]);
    if (rng.chance(0.2)) query.push(["partition", String(rng.int(0, 2))]);
    return shape("GET", "/api/v1/consume", { query, headers });
  },
  "POST /api/v1/topics": (rng, scope) =>
    shape("POST", "/api/v1/topics", { body: { name: rng.pick(scope.scratchTopics), partitions: rng.chance(0.05) ? 100 : rng.int(1, 3) } }),
  "GET /api/v1/topics": () => shape("GET", "/api/v1/topics"),
  "GET /api/v1/topics/{name}": (rng, scope) => shape("GET", "/api/v1/topics/{name}", { params: { name: readableTopic(rng, scope) } }),
  "DELETE /api/v1/topics/{name}": (rng, scope) => shape("DELETE", "/api/v1/topics/{name}", { params: { name: rng.pick(scope.scratchTopics) } }),
  "POST /api/v1/topics/{name}/delete-records": (rng, scope) =>
    shape("POST", "/api/v1/topics/{name}/delete-records", {
      params: { name: rng.pick(scope.scratchTopics) },
      body: { partitions: [{ partition: rng.int(0, 2), before: rng.pick([-1, 0, rng.int(0, 50)]) }] },
    }),
  "POST /api/v1/topics/{name}/configs": (rng, scope) =>
    shape("POST", "/api/v1/topics/{name}/configs", {
      params: { name: rng.pick(scope.scratchTopics) },
      body: rng.chance(0.5)
        ? { set: { [rng.pick(["retention.ms", "segment.ms", "max.message.bytes", "cleanup.policy"])]: rng.pick(["3600000", "compact", "-1", "0"]) } }
        : { delete: [rng.pick(["retention.ms", "segment.bytes", "min.insync.replicas"])] },
    }),
  "GET /api/v1/consumer-groups": () => shape("GET", "/api/v1/consumer-groups"),
  "GET /api/v1/consumer-groups/{group}/status": (rng, scope) =>
    shape("GET", "/api/v1/consumer-groups/{group}/status", { params: { group: rng.chance(0.3) ? scope.referenceGroup : rng.pick(scope.scratchGroups) } }),
  "DELETE /api/v1/consumer-groups/{group}": (rng, scope) => shape("DELETE", "/api/v1/consumer-groups/{group}", { params: { group: rng.pick(scope.scratchGroups) } }),
  "POST /api/v1/consumer-groups/{group}/members/{member}": (rng, scope) =>
    shape("POST", "/api/v1/consumer-groups/{group}/members/{member}", {
      params: { group: rng.pick(scope.scratchGroups), member: member(rng) },
      body: { topics: [rng.pick(scope.scratchTopics)], session_timeout_ms: rng.pick([100, 1000, 5000]), assignor: rng.pick(["round-robin", "sticky"]) },
    }),
  "DELETE /api/v1/consumer-groups/{group}/members/{member}": (rng, scope) =>
    shape("DELETE", "/api/v1/consumer-groups/{group}/members/{member}", { params: { group: rng.pick(scope.scratchGroups), member: member(rng) } }),
  "POST /api/v1/consumer-groups/{group}/members/{member}/heartbeat": (rng, scope) =>
    shape("POST", "/api/v1/consumer-groups/{group}/members/{member}/heartbeat", { params: { group: rng.pick(scope.scratchGroups), member: member(rng) } }),
  "POST /api/v1/consumer-groups/{group}/offsets": (rng, scope) => {
    const body: Record<string, unknown> = { offsets: [{ topic: rng.pick(scope.scratchTopics), partition: rng.int(0, 2), offset: rng.int(0, 5) }] };
    if (rng.chance(0.5)) Object.assign(body, { consumer_id: member(rng), generation: rng.int(0, 3) });
    return shape("POST", "/api/v1/consumer-groups/{group}/offsets", { params: { group: rng.pick(scope.scratchGroups) }, body });
  },
  "POST /api/v1/consumer-groups/{group}/offsets/reset": (rng, scope) =>
    shape("POST", "/api/v1/consumer-groups/{group}/offsets/reset", {
      params: { group: rng.pick(scope.scratchGroups) },
      body: { topic: rng.pick(scope.scratchTopics), partitions: [rng.int(0, 2)], to: rng.pick(["earliest", "latest", "offset", "timestamp"]), offset: rng.int(0, 9), timestamp: 1_764_000_000_000 },
    }),
  "POST /api/v1/replication/stream": (rng, scope) =>
    shape("POST", "/api/v1/replication/stream", {
      body: {
        follower_id: rng.int(2, 9),
        address: `127.0.0.1:${rng.int(1, 65535)}`,
        leader_epoch: scope.leaderEpoch,
        cluster_id: scope.clusterId,
        partitions: [{ topic: rng.pick(scope.scratchTopics), created_at: 1_764_000_000_000, partition: 0, log_end_offset: rng.int(0, 3), durable_end_offset: 0, epochs: [[0, 0]] }],
      },
    }),
  "POST /api/v1/replication/ack": (rng) =>
    shape("POST", "/api/v1/replication/ack", {
      body: {
        follower_id: rng.int(2, 9),
        session: Array.from(rng.bytes(16), (b) => b.toString(16).padStart(2, "0")).join(""),
        positions: [{ topic: "t", partition: 0, offset: rng.int(0, 9) }],
        offsets_sequence: rng.int(0, 9),
        sent_at: rng.int(0, 1_000_000),
        leaving: rng.chance(0.2),
      },
    }),
  "POST /api/v1/replication/leader": (rng, scope) =>
    shape("POST", "/api/v1/replication/leader", {
      body: { leader_id: rng.int(1, 9), leader_epoch: scope.leaderEpoch + rng.int(0, 2), address: `127.0.0.1:${rng.int(1, 65535)}`, cluster_id: scope.clusterId },
    }),
  "POST /api/v1/replication/promote": (rng) => shape("POST", "/api/v1/replication/promote", { body: rng.chance(0.3) ? {} : { force: rng.chance(0.5), leader_dead: rng.chance(0.5) } }),
  "GET /api/v1/replication/status": () => shape("GET", "/api/v1/replication/status"),
  "GET /api/v1/security/users": () => shape("GET", "/api/v1/security/users"),
  "POST /api/v1/security/users": (rng) =>
    shape("POST", "/api/v1/security/users", { body: { name: userName(rng), password: rng.pick(["password1", "correct horse battery", "short"]), ...(rng.chance(0.2) ? { iterations: rng.pick([4096, 8192]) } : {}) } }),
  "DELETE /api/v1/security/users/{name}": (rng) => shape("DELETE", "/api/v1/security/users/{name}", { params: { name: userName(rng) } }),
  "POST /api/v1/security/users/{name}/password": (rng) =>
    shape("POST", "/api/v1/security/users/{name}/password", { params: { name: userName(rng) }, body: { password: rng.pick(["password2", "another one!"]) } }),
  "GET /api/v1/security/tokens": (rng) => shape("GET", "/api/v1/security/tokens", { query: rng.chance(0.5) ? [["user", userName(rng)]] : [] }),
  "POST /api/v1/security/tokens": (rng) =>
    shape("POST", "/api/v1/security/tokens", { body: { user: userName(rng), ...(rng.chance(0.5) ? { expires_in: rng.pick(["1h", "30m", 60_000]) } : {}), ...(rng.chance(0.3) ? { description: "ci" } : {}) } }),
  "DELETE /api/v1/security/tokens/{id}": (rng) =>
    shape("DELETE", "/api/v1/security/tokens/{id}", { params: { id: Array.from(rng.bytes(8), (b) => b.toString(16).padStart(2, "0")).join("") } }),
  "GET /api/v1/security/acls": (rng) => shape("GET", "/api/v1/security/acls", { query: rng.chance(0.5) ? [["principal", `User:${userName(rng)}`]] : [] }),
  "POST /api/v1/security/acls": (rng, scope) => shape("POST", "/api/v1/security/acls", { body: aclBinding(rng, scope) }),
  "POST /api/v1/security/acls/delete": (rng, scope) => shape("POST", "/api/v1/security/acls/delete", { body: rng.chance(0.2) ? {} : aclBinding(rng, scope) }),
  "GET /healthz": () => shape("GET", "/healthz"),
  "GET /metrics": () => shape("GET", "/metrics"),
};

/** The builder of each route in `routeTable`; throws naming any route the fuzzer does not know, so a new route is fuzzed from the day it exists. */
export function buildersFor(routeTable: readonly { method: string; path: string }[]): { route: string; build: Builder }[] {
  const missing = routeTable.map(({ method, path }) => `${method} ${path}`).filter((route) => BUILDERS[route] === undefined);
  if (missing.length > 0) throw new Error(`the fuzz harness has no request builder for: ${missing.join(", ")} (test/helpers/fuzz/base-requests.ts)`);
  return routeTable.map(({ method, path }) => ({ route: `${method} ${path}`, build: BUILDERS[`${method} ${path}`]! }));
}

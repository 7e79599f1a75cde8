import { invalidRequest } from "../../core/errors.ts";
import { isHostPort } from "../../core/host-port.ts";
import { isLeaderEpoch, LEADER_EPOCH_MAX } from "../../core/limits.ts";
import type { EpochEntry } from "../../storage/leader-epoch-cache.ts";
import type { StreamRequest } from "../../replication/leader-replicator.ts";
import type { ReplicaManager } from "../../replication/replica-manager.ts";
import { isSessionId } from "../../replication/session-id.ts";
import { isClusterId } from "../../replication/cluster-id.ts";
import { LEADER_EPOCH_HEADER } from "../leader-epoch-header.ts";
import { GafkaError } from "../../core/errors.ts";
import { principalOf, readBodyText, readJsonObject } from "../request.ts";
import type { Route, RouteContext } from "../route.ts";

/**
 * Replication (docs/api.md "Replication"): the follower's stream and its
 * position reports, a new leader's announcement to its former leader,
 * promotion, and each broker's view for `gafka admin cluster`.
 */

function replicationOf(context: RouteContext): ReplicaManager {
  if (context.replication === undefined) throw new GafkaError("not_found", "replication is not running on this server");
  return context.replication;
}

/**
 * POST /api/v1/replication/stream — a follower opens its one long-lived
 * stream; the answer's body is the stream (src/replication/stream-codec.ts)
 * and does not end while both sides live.
 */
async function stream(request: Request, context: RouteContext): Promise<Response> {
  const replication = replicationOf(context);
  const body = await readJsonObject(request, context.requestBytesMax);
  const session = replication.openStream(principalOf(request), parseStreamRequest(body));
  return new Response(session.stream, {
    headers: {
      "content-type": "application/vnd.gafka.replication-stream",
      "cache-control": "no-store",
      [LEADER_EPOCH_HEADER]: String(replication.leaderEpoch),
    },
  });
}

/**
 * POST /api/v1/replication/ack — a follower's durable positions; `offsets_sequence`: the offsets
 * stream's position it holds durably; `sent_at`: the newest stream stamp it received (its echo, which
 * renews the leader's lease); `leaving: true` when it shuts down cleanly.
 */
async function ack(request: Request, context: RouteContext): Promise<Response> {
  const replication = replicationOf(context);
  const body = await readJsonObject(request, context.requestBytesMax);
  const followerId = integer(body.follower_id, "follower_id");
  if (!isSessionId(body.session)) throw invalidRequest("field 'session' must be the session id the stream's metadata message gave (32 hex digits)", { field: "session" });
  const session = body.session;
  if (!Array.isArray(body.positions)) throw invalidRequest("field 'positions' must be an array", { field: "positions" });
  const positions = body.positions.map((item: unknown, index: number) => {
    const { topic, partition, offset } = (item ?? {}) as Record<string, unknown>;
    if (typeof topic !== "string") throw invalidRequest(`positions[${index}].topic must be a string`, { field: "positions" });
    return { topic, partition: integer(partition, `positions[${index}].partition`), offset: integer(offset, `positions[${index}].offset`) };
  });
  const offsetsSequence = body.offsets_sequence === undefined ? undefined : integer(body.offsets_sequence, "offsets_sequence");
  const sentAtMs = body.sent_at === undefined || body.sent_at === null ? undefined : body.sent_at;
  if (sentAtMs !== undefined && (typeof sentAtMs !== "number" || !Number.isFinite(sentAtMs))) {
    throw invalidRequest("field 'sent_at' must be a number (a stamp the leader's stream carried)", { field: "sent_at" });
  }
  return Response.json({ accepted: replication.acknowledge(principalOf(request), followerId, session, positions, { leaving: body.leaving === true, offsetsSequence, sentAtMs }) });
}

/** POST /api/v1/replication/leader — "I lead under this epoch": a newer epoch makes this broker follow the sender. */
async function leader(request: Request, context: RouteContext): Promise<Response> {
  const replication = replicationOf(context);
  const body = await readJsonObject(request, context.requestBytesMax);
  const answer = await replication.acceptLeader(principalOf(request), {
    leaderId: integer(body.leader_id, "leader_id"),
    leaderEpoch: leaderEpoch(body.leader_epoch, "leader_epoch"),
    address: hostPort(body.address, "address"),
    clusterId: clusterId(body.cluster_id, "cluster_id"),
  });
  return Response.json({ broker_id: context.broker.config.brokerId, role: answer.role, leader_epoch: answer.leaderEpoch });
}

/**
 * POST /api/v1/replication/promote {"force"?, "leader_dead"?} — makes this follower the leader
 * under a new epoch (docs/operations.md "Promotion"): clean unless forced (409
 * replica_not_in_sync says what may be missing), and only once the old leader stepped down when
 * told, or its lease lapsed, or `leader_dead`. The answer says which, and what a forced promotion
 * may have lost.
 */
async function promote(request: Request, context: RouteContext): Promise<Response> {
  const text = await readBodyText(request, context.requestBytesMax);
  let body: Record<string, unknown> = {};
  if (text.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalidRequest("the request body is not valid JSON");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalidRequest("the request body must be a JSON object");
    body = parsed as Record<string, unknown>;
  }
  const force = optionalBoolean(body, "force");
  const leaderDead = optionalBoolean(body, "leader_dead");
  const result = await replicationOf(context).promote(principalOf(request), { force, leaderDead });
  return Response.json({
    broker_id: context.broker.config.brokerId,
    role: "leader",
    changed: result.changed,
    leader_epoch: result.leaderEpoch,
    clean: result.clean,
    why: result.why,
    partitions: result.partitions,
    lease: { end: result.lease.end, waited_ms: result.lease.waitedMs },
    former_leader: result.formerLeader === null ? null : { address: result.formerLeader.address, informed: result.formerLeader.informed },
    other_followers: result.otherFollowers.map((other) => ({ address: other.address, informed: other.informed })),
  });
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean {
  const value = body[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") throw invalidRequest(`field '${field}' must be true or false`, { field });
  return value;
}

/** GET /api/v1/replication/status — role, epoch, leader; a leader adds each follower's lag and in-sync partitions. */
function status(request: Request, context: RouteContext): Response {
  const view = replicationOf(context).describe(principalOf(request));
  return Response.json(
    {
      broker_id: view.brokerId,
      address: view.address,
      cluster_id: view.clusterId,
      role: view.role,
      fenced: view.fenced,
      leader_epoch: view.leaderEpoch,
      leader: view.leader,
      leader_id: view.leaderId,
      to_inform: view.toInform,
      replica_lag_max_ms: view.replicaLagMaxMs,
      min_insync_replicas: view.minInsyncReplicas,
      security_version: view.securityVersion,
      replication:
        view.fetcher === null
          ? null
          : {
              connected: view.fetcher.connected,
              last_message_ms_ago: view.fetcher.lastMessageMsAgo,
              error: view.fetcher.error,
              promotion_lease_wait_ms: view.fetcher.promotionLeaseWaitMs,
            },
      lease:
        view.lease === null
          ? null
          : {
              held: view.lease.held,
              period_ms: view.lease.periodMs,
              followers_heard: view.lease.followersHeard,
              followers_needed: view.lease.followersNeeded,
              remaining_ms: view.lease.remainingMs,
            },
      followers: view.followers.map((follower) => ({
        id: follower.id,
        address: follower.address,
        connected: follower.connected,
        lease_renewed_ms_ago: follower.leaseRenewedMsAgo,
        lag: follower.partitions.reduce((sum, p) => sum + p.lag, 0),
        in_sync_partitions: follower.partitions.filter((p) => p.inSync).length,
        partitions: follower.partitions.map((p) => ({ topic: p.topic, partition: p.partition, acked_offset: p.ackedOffset, lag: p.lag, in_sync: p.inSync })),
      })),
      partitions: view.partitions.map((p) => ({ topic: p.topic, partition: p.partition, log_end_offset: p.logEndOffset, high_watermark: p.highWatermark })),
    },
    { headers: { [LEADER_EPOCH_HEADER]: String(view.leaderEpoch) } },
  );
}

function parseStreamRequest(body: Record<string, unknown>): StreamRequest {
  const address = hostPort(body.address, "address");
  if (!Array.isArray(body.partitions)) throw invalidRequest("field 'partitions' must be an array", { field: "partitions" });
  return {
    followerId: integer(body.follower_id, "follower_id"),
    address,
    // Absent from a follower whose Kafka door is off, or from an older one.
    kafkaAddress: body.kafka_address === undefined || body.kafka_address === null ? undefined : hostPort(body.kafka_address, "kafka_address"),
    leaderEpoch: leaderEpoch(body.leader_epoch, "leader_epoch"),
    clusterId: body.cluster_id === undefined || body.cluster_id === null ? null : clusterId(body.cluster_id, "cluster_id"),
    partitions: body.partitions.map((item: unknown, index: number) => {
      const p = (item ?? {}) as Record<string, unknown>;
      const field = `partitions[${index}]`;
      if (typeof p.topic !== "string") throw invalidRequest(`${field}.topic must be a string`, { field });
      if (!Array.isArray(p.epochs)) throw invalidRequest(`${field}.epochs must be an array of [epoch, start_offset]`, { field });
      const epochs: EpochEntry[] = p.epochs.map((pair: unknown) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw invalidRequest(`${field}.epochs must be an array of [epoch, start_offset]`, { field });
        return { epoch: leaderEpoch(pair[0], `${field}.epochs`), startOffset: integer(pair[1], `${field}.epochs`) };
      });
      return {
        topic: p.topic,
        topicCreatedAtMs: integer(p.created_at, `${field}.created_at`),
        partition: integer(p.partition, `${field}.partition`),
        logEndOffset: p.log_end_offset === null ? null : integer(p.log_end_offset, `${field}.log_end_offset`),
        durableEndOffset: integer(p.durable_end_offset, `${field}.durable_end_offset`),
        epochs,
      };
    }),
  };
}

/** A peer's address, which this broker will call: host:port only (src/core/host-port.ts), never a URL. */
function hostPort(value: unknown, field: string): string {
  if (typeof value !== "string" || !isHostPort(value)) {
    throw invalidRequest(`field '${field}' must be host:port (a name, an IPv4 address or an [IPv6] address, and a port 1-65535)`, { field });
  }
  return value;
}

function clusterId(value: unknown, field: string): string {
  if (!isClusterId(value)) throw invalidRequest(`field '${field}' must be a cluster id (22 base64url characters)`, { field });
  return value;
}

/** A leader epoch from the network: an int32 with one value kept free (LEADER_EPOCH_MAX), never anything that could overflow. */
function leaderEpoch(value: unknown, field: string): number {
  if (!isLeaderEpoch(value)) throw invalidRequest(`field '${field}' must be a leader epoch, an integer from 0 to ${LEADER_EPOCH_MAX}`, { field });
  return value;
}

function integer(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw invalidRequest(`field '${field}' must be an integer`, { field });
  return value;
}

export const replicationRoutes: Route[] = [
  { method: "POST", path: "/api/v1/replication/stream", handle: stream, longLived: true },
  { method: "POST", path: "/api/v1/replication/ack", handle: ack },
  { method: "POST", path: "/api/v1/replication/leader", handle: leader },
  { method: "POST", path: "/api/v1/replication/promote", handle: promote },
  { method: "GET", path: "/api/v1/replication/status", handle: status },
];

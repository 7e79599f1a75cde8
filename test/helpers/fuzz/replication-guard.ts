import { isHostPort } from "../../../src/core/host-port.ts";
import { isClusterId } from "../../../src/replication/cluster-id.ts";
import type { FuzzScope } from "./base-requests.ts";
import type { FuzzRequest } from "./fuzz-request.ts";

/**
 * What the fuzz harness must not send while brokers take replication calls
 * from anyone (no cluster secret): a request that would legitimately change
 * who leads or who follows — a leader announcement under a newer epoch, a
 * promotion of the follower, a stream opened by a made-up follower (it joins
 * the in-sync set and holds the high watermark), a `gafka-leader-epoch` header
 * newer than the leader's epoch (it fences the leader) — and any write naming
 * the reference topic or group. The checks mirror the routes' parsing,
 * so every malformed variant still goes out.
 */
export function refusedToSend(request: FuzzRequest, scope: FuzzScope): string | undefined {
  if (touchesReference(request, scope)) return "names the reference topic or group in a write";
  if (scope.peersAuthenticated) return undefined;
  for (const [name, value] of request.headers) {
    if (name.toLowerCase() !== "gafka-leader-epoch") continue;
    const epoch = Number(value);
    if (Number.isSafeInteger(epoch) && epoch > scope.leaderEpoch) return "carries a newer leader epoch (fences the leader)";
  }
  if (request.method !== "POST") return undefined;
  const route = routeOf(request.path);
  if (route === "/api/v1/replication/promote") return request.target === "follower" && promoteParses(request.body) ? "promotes the follower" : undefined;
  if (route !== "/api/v1/replication/leader" && route !== "/api/v1/replication/stream") return undefined;
  const body = jsonObject(request.body);
  if (body === undefined) return undefined;
  if (route === "/api/v1/replication/leader") return announcementAccepted(body, scope) ? "announces a newer leader" : undefined;
  return streamParses(body) ? "opens a stream as a made-up follower" : undefined;
}

/** Only reads may name the reference topic or group: describing, partition reads, a group's status. */
function touchesReference(request: FuzzRequest, scope: FuzzScope): boolean {
  const text = `${safeDecode(request.path)} ${request.body === undefined ? "" : new TextDecoder().decode(request.body)}`;
  if (!text.includes(scope.referenceTopic) && !text.includes(scope.referenceGroup)) return false;
  if (request.method !== "GET") return true;
  // A group consume is a GET that commits.
  return routeOf(request.path) === "/api/v1/consume" && text.includes("group_id");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The request's path without its query, as the server routes it (`..` resolved by URL parsing). */
function routeOf(target: string): string {
  try {
    return new URL(target, "http://fuzz").pathname;
  } catch {
    return target;
  }
}

function jsonObject(body: Uint8Array | undefined): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array()));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const integer = (value: unknown) => typeof value === "number" && Number.isSafeInteger(value);

function promoteParses(body: Uint8Array | undefined): boolean {
  const text = new TextDecoder().decode(body ?? new Uint8Array());
  if (text.trim() === "") return true;
  const parsed = jsonObject(body);
  if (parsed === undefined) return false;
  return [parsed.force, parsed.leader_dead].every((value) => value === undefined || value === null || typeof value === "boolean");
}

function announcementAccepted(body: Record<string, unknown>, scope: FuzzScope): boolean {
  return (
    integer(body.leader_id) &&
    integer(body.leader_epoch) &&
    (body.leader_epoch as number) > scope.leaderEpoch &&
    typeof body.address === "string" &&
    isHostPort(body.address) &&
    isClusterId(body.cluster_id)
  );
}

function streamParses(body: Record<string, unknown>): boolean {
  if (typeof body.address !== "string" || !isHostPort(body.address) || !Array.isArray(body.partitions)) return false;
  if (!integer(body.follower_id) || !integer(body.leader_epoch)) return false;
  if (body.cluster_id !== undefined && body.cluster_id !== null && !isClusterId(body.cluster_id)) return false;
  return body.partitions.every((item: unknown) => {
    const p = (item ?? {}) as Record<string, unknown>;
    if (typeof p.topic !== "string" || !Array.isArray(p.epochs)) return false;
    if (!p.epochs.every((pair: unknown) => Array.isArray(pair) && pair.length === 2 && integer(pair[0]) && integer(pair[1]))) return false;
    return integer(p.created_at) && integer(p.partition) && (p.log_end_offset === null || integer(p.log_end_offset)) && integer(p.durable_end_offset);
  });
}

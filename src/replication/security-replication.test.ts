import { ANONYMOUS } from "../security/principal.ts";
import { afterEach, expect, test } from "bun:test";
import { Broker } from "../broker/broker.ts";
import { systemClock } from "../core/clock.ts";
import { nodeFileSystem } from "../storage/file-system.ts";
import { CredentialStore } from "../security/credential-store.ts";
import type { SecuritySnapshot } from "../security/security-snapshot.ts";
import { testBrokerConfig } from "../../test/helpers/broker-config.ts";
import { waitFor } from "../../test/helpers/http.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import type { PeerFetch } from "./peer-client.ts";
import { ReplicaManager } from "./replica-manager.ts";
import { type ReplicationState, ReplicationStateStore } from "./replication-state.ts";
import { encodeMessage, StreamDecoder, type StreamMessage } from "./stream-codec.ts";
import { type SessionSource, StreamSession } from "./stream-session.ts";
import { silentLogger } from "../core/logger.ts";

/**
 * The credential store replicated in-process: a leader's and a follower's
 * ReplicaManager over real brokers and stores, the follower's peer calls
 * handed straight to the leader's manager (what routes/replication.ts does
 * over HTTP).
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const LEADER_ADDRESS = "127.0.0.1:1";

async function replica(brokerId: number, state: ReplicationState, fetch: PeerFetch, prepare?: (store: CredentialStore) => Promise<void>) {
  const temp = makeTempDir("gafka-security-replica-");
  cleanups.push(temp.remove);
  const config = testBrokerConfig(temp.dir, { brokerId });
  const credentials = CredentialStore.load(temp.dir, nodeFileSystem, systemClock);
  await prepare?.(credentials);
  const store = ReplicationStateStore.load(temp.dir, nodeFileSystem, state);
  const broker = await Broker.open(config, { leaderEpoch: () => store.state.leaderEpoch });
  const address = brokerId === 1 ? LEADER_ADDRESS : `127.0.0.1:${brokerId}`;
  const manager = await ReplicaManager.open({
    broker,
    config,
    replication: { role: state.role, leader: state.leader ?? undefined, advertisedAddress: address, replicaLagMaxMs: 1000, minInsyncReplicas: 1 },
    state: store,
    offsets: undefined,
    credentials,
    fetch,
  });
  manager.begin(address);
  cleanups.push(async () => {
    await manager.stop();
    await broker.close();
  });
  return { manager, credentials, dataDir: temp.dir };
}

const refused: PeerFetch = () => Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));

/** The follower's calls, answered by the leader's manager; an aborted call ends its stream, as a closed connection does. */
function toLeader(leader: () => ReplicaManager): PeerFetch {
  return async (url, init) => {
    const body = JSON.parse(String(init?.body));
    const path = new URL(url).pathname;
    if (path === "/api/v1/replication/stream") {
      const session = leader().openStream(ANONYMOUS, {
        followerId: body.follower_id,
        address: body.address,
        leaderEpoch: body.leader_epoch,
        clusterId: body.cluster_id,
        partitions: body.partitions.map((p: any) => ({
          topic: p.topic,
          topicCreatedAtMs: p.created_at,
          partition: p.partition,
          logEndOffset: p.log_end_offset,
          durableEndOffset: p.durable_end_offset,
          epochs: p.epochs.map(([epoch, startOffset]: number[]) => ({ epoch, startOffset })),
        })),
      });
      init?.signal?.addEventListener("abort", () => session.close());
      return new Response(session.stream);
    }
    if (path === "/api/v1/replication/ack") {
      const accepted = leader().acknowledge(ANONYMOUS, body.follower_id, body.session, body.positions, { leaving: body.leaving === true, sentAtMs: body.sent_at });
      return Response.json({ accepted });
    }
    return Response.json({}, { status: 404 });
  };
}

async function pair(prepareLeader?: (store: CredentialStore) => Promise<void>, prepareFollower?: (store: CredentialStore) => Promise<void>) {
  const leader = await replica(1, { role: "leader", leaderEpoch: 0, leader: null, leaderId: null, toInform: [], followers: [] }, refused, prepareLeader);
  const follower = await replica(
    2,
    { role: "follower", leaderEpoch: 0, leader: LEADER_ADDRESS, leaderId: null, toInform: [], followers: [] },
    toLeader(() => leader.manager),
    prepareFollower,
  );
  return { leader, follower };
}

const readAcl = (user: string) => ({ principal: `User:${user}`, resourceType: "topic", resourceName: "orders", patternType: "literal", operation: "read", permission: "allow" }) as const;

async function waitSame(leader: CredentialStore, follower: CredentialStore): Promise<void> {
  await waitFor(() => JSON.stringify(follower.snapshot()) === JSON.stringify(leader.snapshot()), "the follower to hold the leader's credentials", 10_000);
}

test("users, tokens and ACLs added on a running leader reach its follower, durably, with the same version", async () => {
  const { leader, follower } = await pair();
  await waitFor(() => follower.manager.status().fetcher?.connected === true, "the follower to connect", 10_000);
  await leader.credentials.addUser("alice", "password-1");
  const { info } = await leader.credentials.createToken("alice", { description: "ci" });
  // A burst: each change is one version; the follower ends at the last.
  await Promise.all(["alice", "bob", "carol", "dave"].map((user) => leader.credentials.addAcl(readAcl(user))));
  expect(leader.credentials.version).toBe(6);
  await waitSame(leader.credentials, follower.credentials);
  expect(follower.credentials.version).toBe(6);
  expect(follower.credentials.listTokens()).toEqual([info]);
  expect(follower.manager.status().securityVersion).toBe(6);
  expect(leader.manager.status().securityVersion).toBe(6);
  // On disk, as a restart reads it.
  expect(CredentialStore.load(follower.dataDir, nodeFileSystem, systemClock).snapshot()).toEqual(leader.credentials.snapshot());

  await leader.credentials.deleteUser("alice");
  await waitSame(leader.credentials, follower.credentials);
  expect(follower.credentials.listUsers()).toEqual([]);
  expect(follower.credentials.listTokens()).toEqual([]);
});

test("a follower holding the same version with other contents (a deposed leader's change) takes the leader's", async () => {
  const { leader, follower } = await pair(
    async (store) => void (await store.addUser("alice", "password-1")),
    async (store) => void (await store.addUser("mallory", "password-1")),
  );
  await waitSame(leader.credentials, follower.credentials);
  expect(follower.credentials.version).toBe(1);
  expect(follower.credentials.listUsers().map((user) => user.name)).toEqual(["alice"]);
});

test("a security snapshot that does not check out is a stream error in the follower's status; its store is untouched", async () => {
  const follower = await replica(
    2,
    { role: "follower", leaderEpoch: 0, leader: LEADER_ADDRESS, leaderId: null, toInform: [], followers: [] },
    async (_url, init) => {
      const messages: StreamMessage[] = [
        { type: "metadata", session: "0123456789abcdef0123456789abcdef", clusterId: "q1Sh-9_ITX2l6MxLvGUkVA", leaderId: 1, leaderEpoch: 0, topics: [], followers: [] },
        { type: "security", snapshot: { version: 1, state_version: 4, users: [{ name: "a:b", scram: [] }], tokens: [], acls: [] } as unknown as SecuritySnapshot },
      ];
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const message of messages) controller.enqueue(encodeMessage(message));
          init?.signal?.addEventListener("abort", () => controller.close());
        },
      });
      return new Response(stream);
    },
    async (store) => void (await store.addUser("alice", "password-1")),
  );
  await waitFor(() => /security snapshot is invalid/.test(follower.manager.status().fetcher?.error ?? ""), "the follower to report the bad snapshot", 10_000);
  expect(follower.credentials.version).toBe(1);
  expect(follower.credentials.listUsers().map((user) => user.name)).toEqual(["alice"]);
  expect(follower.manager.status().securityVersion).toBe(1);
});

test("changes made before a stream sends anything go out as one snapshot, the state as of the send", async () => {
  let version = 1;
  const source: SessionSource = {
    leaderEpoch: 0,
    logger: silentLogger,
    heartbeatIntervalMs: 60_000,
    clock: systemClock,
    sendTimeMs: () => 1,
    securitySnapshot: () => ({ version: 1, state_version: version, users: [], tokens: [], acls: [] }),
    logOf: () => undefined,
    noteSent: () => {},
    sessionEnded: () => {},
  };
  const session = new StreamSession("0123456789abcdef0123456789abcdef", 2, source);
  for (; version < 4; version++) session.securityChanged();
  const reader = session.stream.getReader();
  const { value } = await reader.read();
  const sent = new StreamDecoder().push(value!).filter((message) => message.type === "security");
  expect(sent).toEqual([{ type: "security", snapshot: { version: 1, state_version: 4, users: [], tokens: [], acls: [] } }]);
  session.close();
});

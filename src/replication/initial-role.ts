import { peerStatus } from "./peer-client.ts";
import { PEER_TIMEOUT_MS, type ReplicaContext } from "./replica-context.ts";

/**
 * Settles the role on start. replication.json, once it exists, is the truth;
 * --role and --leader only set up a data dir that has never been in a cluster
 * (a follower's --leader also updates its leader's address). A broker that
 * believes it leads first asks the brokers it knows (its followers, the
 * broker it was promoted away from, --leader) and, when one leads or follows
 * under a newer epoch, becomes a follower of that leader before it serves
 * anything (or, when no leader is named, fences itself).
 */
export async function settleInitialRole(context: ReplicaContext): Promise<void> {
  const { state: store, replication } = context.options;
  const logger = context.logger;
  const self = context.address;
  if (!store.existed) {
    await store.save({
      role: replication.role,
      leaderEpoch: 0,
      leader: replication.role === "follower" ? replication.leader ?? null : null,
      leaderId: null,
      toInform: [],
      followers: [],
    });
  } else if (context.state.role === "follower" && replication.leader !== undefined && replication.leader !== context.state.leader) {
    logger.warn(`following ${replication.leader} (--leader) instead of ${context.state.leader} (replication.json)`);
    await store.update((current) => ({ ...current, leader: replication.leader ?? null }));
  } else if (context.state.role !== replication.role) {
    logger.warn(
      `this broker is a ${context.state.role} under leader epoch ${context.state.leaderEpoch} (replication.json); --role=${replication.role} only sets up a new data dir` +
        (context.state.role === "follower" ? "; use `gafka admin promote` to make it the leader" : ""),
    );
  }
  context.role = context.state.role;
  if (context.role === "follower" && context.state.leader === null) {
    throw new Error("this broker is a follower with no leader to follow (replication.json); start it with --leader=host:port");
  }
  if (context.role !== "leader") return;
  const peers = new Set([...context.state.followers.map((f) => f.address), ...context.state.toInform]);
  if (replication.leader !== undefined) peers.add(replication.leader);
  peers.delete(self);
  const answers = await Promise.all([...peers].map((address) => peerStatus(context.fetchPeer, address, PEER_TIMEOUT_MS)));
  let newest: { epoch: number; leader: string | null } | undefined;
  for (const answer of answers) {
    if (answer === undefined || answer.leaderEpoch <= (newest?.epoch ?? context.state.leaderEpoch)) continue;
    // A broker of another cluster (a reused address) says nothing of this one's epochs.
    const mine = context.clusterIds.clusterId;
    if (mine !== null && answer.clusterId !== null && answer.clusterId !== mine) continue;
    newest = { epoch: answer.leaderEpoch, leader: answer.role === "leader" ? answer.address : answer.leader };
  }
  if (newest === undefined) return;
  if (newest.leader === null || newest.leader === self) {
    logger.warn(`a peer knows leader epoch ${newest.epoch}, newer than this broker's ${context.state.leaderEpoch}: refusing writes until the leader calls`);
    context.fenced = true;
    return;
  }
  logger.warn(`${newest.leader} leads under epoch ${newest.epoch}, newer than this broker's ${context.state.leaderEpoch}: becoming its follower`);
  await store.update((current) => ({ ...current, role: "follower", leaderEpoch: newest!.epoch, leader: newest!.leader, leaderId: null, toInform: [] }));
  context.role = "follower";
}

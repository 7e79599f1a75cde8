import { defineCommand } from "citty";
import { ClusterAdmin, GafkaClientError, type ReplicationStatus } from "../client/index.ts";
import { type BrokerArgValues, brokerArgs, logLevelArgs, oneShotClientOptions } from "./shared-args.ts";

interface Row {
  brokerId: number | null;
  address: string;
  /** Its cluster id; null when unknown (unreachable, or a follower that has not heard from its leader). */
  clusterId: string | null;
  role: string;
  leaderEpoch: number | null;
  state: string;
  /** Records behind the leader, over all partitions (followers). */
  lag: number | null;
}

/** `gafka admin cluster --broker=host:port`: the cluster id, and every broker's role, epoch and lag, found from any one of them. */
export default defineCommand({
  meta: { name: "cluster", description: "Show each broker's role, leader epoch and replication lag" },
  args: {
    ...brokerArgs,
    json: { type: "boolean", description: "Print one JSON object per broker and line", default: false },
    ...logLevelArgs("warn"),
  },
  async run({ args }) {
    const rows = await clusterRows(args);
    if (args.json) return console.log(rows.map((row) => JSON.stringify(rowJson(row))).join("\n"));
    // The leader's cluster (or the first that names one); a broker of another cluster says so in its state.
    const clusterId = rows.find((row) => row.clusterId !== null)?.clusterId ?? null;
    console.log(`CLUSTER ${clusterId ?? "?"}`);
    for (const row of rows) if (row.clusterId !== null && row.clusterId !== clusterId) row.state += ` (other cluster ${row.clusterId})`;
    const table = [["BROKER", "ADDRESS", "ROLE", "EPOCH", "STATE", "LAG"]];
    for (const row of rows) {
      table.push([String(row.brokerId ?? "?"), row.address, row.role, String(row.leaderEpoch ?? "?"), row.state, row.lag === null ? "-" : String(row.lag)]);
    }
    const widths = table[0]!.map((_, column) => Math.max(...table.map((r) => r[column]!.length)));
    console.log(table.map((r) => r.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n"));
  },
});

/** A row under the HTTP API's names (`GET /api/v1/replication/status`: broker_id, leader_epoch). */
function rowJson(row: Row) {
  return { broker_id: row.brokerId, address: row.address, cluster_id: row.clusterId, role: row.role, leader_epoch: row.leaderEpoch, state: row.state, lag: row.lag };
}

/** Asks the named broker (the first of a list that answers), then its leader, then each follower the leader knows. */
async function clusterRows(args: BrokerArgValues): Promise<Row[]> {
  const options = oneShotClientOptions(args);
  // The addresses brokers name are host:port; a cluster runs TLS throughout, so they take the scheme of the one asked first.
  const https = options.tls !== undefined || options.brokers!.some((broker) => /^https:\/\//i.test(broker));
  // Every broker is asked with the caller's credentials: under --auth required a status needs DESCRIBE on the cluster.
  // A broker that refuses says so in its row (unreachable is for one that does not answer).
  const refusals = new Map<string, string>();
  const ask = (address: string) =>
    new ClusterAdmin({ broker: https ? `https://${address}` : address, tls: options.tls, auth: options.auth, retries: 0, requestTimeoutMs: 3000 })
      .status()
      .catch((error: unknown) => {
        if (error instanceof GafkaClientError && error.status > 0) refusals.set(address, `refused (${error.status} ${error.code})`);
        return undefined;
      });
  const first = await new ClusterAdmin(options).status();
  const leaderAddress = first.role === "leader" ? first.address : first.leader;
  const leader = first.role === "leader" ? first : leaderAddress === null ? undefined : await ask(leaderAddress);
  const rows: Row[] = [];
  if (leader !== undefined) rows.push(statusRow(leader, undefined));
  else if (leaderAddress !== null) rows.push({ brokerId: null, address: leaderAddress, clusterId: null, role: "leader?", leaderEpoch: null, state: refusals.get(leaderAddress) ?? "unreachable", lag: null });
  const followers = leader?.followers ?? [];
  const views = await Promise.all(followers.map((follower) => ask(follower.address)));
  followers.forEach((follower, index) => {
    const view = views[index];
    const seen = leader?.followers.find((f) => f.id === follower.id);
    if (view === undefined) {
      rows.push({ brokerId: follower.id, address: follower.address, clusterId: null, role: "?", leaderEpoch: null, state: refusals.get(follower.address) ?? "unreachable", lag: follower.lag });
    } else {
      rows.push(statusRow(view, seen));
    }
  });
  if (!rows.some((row) => row.address === first.address || row.brokerId === first.brokerId)) rows.push(statusRow(first, undefined));
  return rows;
}

function statusRow(status: ReplicationStatus, seenByLeader: ReplicationStatus["followers"][number] | undefined): Row {
  let state: string;
  if (status.role === "leader") {
    state = status.fenced ? "fenced (refuses writes)" : "leading";
  } else if (seenByLeader === undefined) {
    state = status.replication?.connected ? "following" : `not connected${status.replication?.error ? `: ${status.replication.error}` : ""}`;
  } else if (!seenByLeader.connected) {
    state = "disconnected";
  } else {
    state = seenByLeader.inSyncPartitions === seenByLeader.partitions ? "in sync" : `lagging (${seenByLeader.inSyncPartitions}/${seenByLeader.partitions} partitions in sync)`;
  }
  return { brokerId: status.brokerId, address: status.address, clusterId: status.clusterId, role: status.role, leaderEpoch: status.leaderEpoch, state, lag: seenByLeader?.lag ?? null };
}

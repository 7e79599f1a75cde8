import { defineCommand } from "citty";
import { ClusterAdmin, GafkaClientError, type PromoteResult } from "../client/index.ts";
import { brokerArgs, brokerList, clientAuthArg, clientTlsArg, logLevelArgs, UsageError } from "./shared-args.ts";

/** `gafka admin promote --broker=host:port`: the failover step of docs/operations.md ("Promotion"). */
export default defineCommand({
  meta: { name: "promote", description: "Make a follower the leader under a new leader epoch (it tells its former leader)" },
  args: {
    ...brokerArgs,
    force: {
      type: "boolean",
      description: "Promote even a follower that cannot be shown to hold everything its leader made visible (an unclean election: what it lacks is lost)",
      default: false,
    },
    "leader-dead": {
      type: "boolean",
      description: "The old leader is dead (you killed it, its machine is gone): do not wait out its lease",
      default: false,
    },
    ...logLevelArgs("warn"),
  },
  async run({ args }) {
    // Promotion is of one broker: a list would leave the choice to chance.
    if (brokerList(args.broker).length !== 1) throw new UsageError("--broker must name exactly one broker to promote");
    const admin = new ClusterAdmin({ broker: args.broker, retries: 0, tls: clientTlsArg(args), auth: clientAuthArg(args) });
    const leaderDead = args["leader-dead"] === true;
    let waitMs = 0;
    if (!leaderDead) {
      const status = await admin.status();
      waitMs = status.replication?.promotionLeaseWaitMs ?? 0;
      if (status.role === "follower" && waitMs > 0) {
        console.log(
          `unless the old leader ${status.leader} is reached and steps down, waiting up to ${seconds(waitMs)} for its lease to lapse ` +
            "(pass --leader-dead if it is dead)",
        );
      }
    }
    const result = await admin.promote({ force: args.force, leaderDead, waitMs }).catch((error: unknown) => {
      if (error instanceof GafkaClientError && error.code === "replica_not_in_sync") printRefusal(error.details);
      throw error;
    });
    if (!result.changed) return console.log(`broker ${result.brokerId} already leads (leader epoch ${result.leaderEpoch})`);
    console.log(`broker ${result.brokerId} is the leader under leader epoch ${result.leaderEpoch}`);
    if (!result.clean) printLoss(result);
    console.log(leaseLine(result.lease));
    const former = result.formerLeader;
    if (former !== null) {
      console.log(
        former.informed
          ? `former leader ${former.address} was told: it refuses writes, drops its unreplicated tail and follows`
          : `former leader ${former.address} could not be reached; it is told as soon as it answers (it refuses writes from then on)`,
      );
    }
    for (const other of result.otherFollowers) {
      console.log(other.informed ? `follower ${other.address} follows the new leader` : `follower ${other.address} could not be reached; it is told as soon as it answers`);
    }
  },
});

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** What an unclean (forced) election may have given up, per partition. */
function printLoss(result: PromoteResult): void {
  console.log(`UNCLEAN election (--force): ${result.why}`);
  for (const p of result.partitions) {
    const known = p.highWatermark === null ? "no high watermark known" : `${p.source === "leader" ? "leader's high watermark" : "last high watermark sent"} ${p.highWatermark}`;
    const leaderEnd = p.leaderLogEndOffset === null ? "" : `, leader's log end ${p.leaderLogEndOffset}`;
    const lost = p.missingAtLeast > 0 ? `: ${p.missingAtLeast} visible record(s) lost at least` : "";
    console.log(`  ${p.topic}-${p.partition}: log end ${p.logEndOffset}, ${known}${leaderEnd}${lost}`);
  }
  console.log("  whatever the old leader held beyond these log ends is dropped when it follows");
}

/** Refused: per partition, what may be missing (main.ts then prints the reason). */
function printRefusal(details: Record<string, unknown>): void {
  const partitions = Array.isArray(details.partitions) ? (details.partitions as Record<string, unknown>[]) : [];
  const reachable = details.leader_reachable === true ? "answered" : "could not be reached";
  console.error(`not promoted; the leader ${String(details.leader ?? "")} ${reachable}`);
  for (const p of partitions) {
    const source = p.high_watermark_source === "leader" ? "leader's high watermark" : "last high watermark sent";
    const missing = Number(p.missing_at_least) > 0 ? `: ${p.missing_at_least} record(s) missing at least` : "";
    console.error(`  ${p.topic}-${p.partition}: log end ${p.log_end_offset}, ${source} ${p.high_watermark ?? "unknown"}${missing}`);
  }
}

function leaseLine(lease: PromoteResult["lease"]): string {
  switch (lease.end) {
    case "leader_stepped_down":
      return "the old leader stepped down when told: no lease to wait out";
    case "leader_dead":
      return "the old leader is dead (--leader-dead): its lease was not waited out";
    case "lease_expired":
      return `waited ${seconds(lease.waitedMs)} for the old leader's lease to lapse`;
    case "no_lease":
      return "the old leader ran with min.insync.replicas=1 and holds no lease: it may act as leader until it hears of the new epoch";
    case "was_leader":
      return "this broker led already: no other leader to wait for";
  }
}

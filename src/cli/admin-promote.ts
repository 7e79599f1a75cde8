import { defineCommand } from "citty";
import { ClusterAdmin } from "../client/index.ts";
import { brokerArgs, brokerList, logLevelArgs, UsageError } from "./shared-args.ts";

/** `gafka admin promote --broker=host:port`: the failover step of docs/operations.md. */
export default defineCommand({
  meta: { name: "promote", description: "Make a follower the leader under a new leader epoch (it tells its former leader)" },
  args: {
    ...brokerArgs,
    force: {
      type: "boolean",
      description: "Promote even a follower that lacks records its leader had committed (they are lost)",
      default: false,
    },
    ...logLevelArgs("warn"),
  },
  async run({ args }) {
    // Promotion is of one broker: a list would leave the choice to chance.
    if (brokerList(args.broker).length !== 1) throw new UsageError("--broker must name exactly one broker to promote");
    const result = await new ClusterAdmin({ broker: args.broker, retries: 0 }).promote({ force: args.force });
    if (!result.changed) return console.log(`broker ${result.brokerId} already leads (leader epoch ${result.leaderEpoch})`);
    console.log(`broker ${result.brokerId} is the leader under leader epoch ${result.leaderEpoch}`);
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

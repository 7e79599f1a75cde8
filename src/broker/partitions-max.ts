import { limits } from "../core/limits.ts";

/**
 * How many partitions one broker may hold: `--partitions-max`, by default
 * limits.partitionsPerBrokerMaxDefault. Creating a topic past it is refused
 * with a clear 409 limit_reached (src/broker/topic-admin.ts).
 *
 * The cap no longer follows from the open-file limit: a partition holds no
 * descriptor while idle (segment files are opened through the broker's
 * bounded pool, src/storage/descriptor-pool.ts and src/broker/open-files.ts),
 * so what grows with partitions is memory and start time, which the default
 * keeps within the scale targets (docs/operations.md "Sizing").
 */
export function partitionsMax(requested: number | undefined): number {
  return requested ?? limits.partitionsPerBrokerMaxDefault;
}

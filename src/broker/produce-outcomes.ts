/**
 * What a produce answers partition by partition: where each record landed,
 * and, when some partitions failed, the one error that says which records
 * were stored and which were not (Kafka has no transaction across partitions).
 */

import { GafkaError, type GafkaErrorOptions } from "../core/errors.ts";
import type { RecordInput } from "../protocol/record.ts";

/** Where one produced record landed. */
export interface ProduceResult {
  partition: number;
  offset: number;
  timestampMs: number;
}

/** A produce request's records for one partition: appended as one batch. */
export interface PartitionGroup {
  readonly partition: number;
  readonly records: RecordInput[];
  /** Positions of `records` in the produce request. */
  readonly requestIndexes: number[];
  /** Key + value bytes of `records` (what onProduced counts). */
  payloadBytes: number;
}

/**
 * A produce spanning partitions that failed in some or all of them: the
 * first failure, with `details.results` giving every record's outcome, and
 * `storedIndexes` the request positions of the records that were stored and
 * acknowledged all the same (none when every partition failed).
 */
export class ProduceOutcomesError extends GafkaError {
  constructor(
    code: GafkaError["code"],
    message: string,
    readonly storedIndexes: readonly number[],
    options: GafkaErrorOptions,
  ) {
    super(code, message, options);
  }
}

/**
 * The failure of a produce spanning partitions, some of which may have
 * stored their records: the first failure (in request order) with every
 * record's own outcome in `details.results`, in the wire's names. Retriable
 * when every failure is; retrying only the records with an error duplicates
 * nothing.
 */
export function outcomesError(
  topic: string,
  groups: PartitionGroup[],
  outcomes: PromiseSettledResult<void>[],
  results: ProduceResult[],
): GafkaError {
  const wire = new Array<Record<string, unknown>>(results.length);
  const failures: GafkaError[] = [];
  const storedPartitions: number[] = [];
  const storedIndexes: number[] = [];
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const outcome = outcomes[g]!;
    if (outcome.status === "fulfilled") {
      storedPartitions.push(group.partition);
      storedIndexes.push(...group.requestIndexes);
      for (const index of group.requestIndexes) {
        const result = results[index]!;
        wire[index] = { partition: result.partition, offset: result.offset, timestamp: result.timestampMs };
      }
      continue;
    }
    const failure = outcome.reason as GafkaError;
    failures.push(failure);
    const error = { code: failure.code, message: failure.message, retriable: failure.retriable };
    for (const index of group.requestIndexes) wire[index] = { partition: group.partition, error };
  }
  const first = failures[0]!;
  const storedRecords = storedIndexes.length;
  const stored =
    storedRecords === 0
      ? `no record of this request was stored (${failures.length} partition${failures.length > 1 ? "s" : ""} failed; see error.results)`
      : `this request's records for partition${storedPartitions.length > 1 ? "s" : ""} ${storedPartitions.join(", ")} ` +
        `(${storedRecords} of ${results.length}) were stored and acknowledged: retry only the records whose entry in error.results has an error`;
  return new ProduceOutcomesError(first.code, `${first.message}. ${stored}`, storedIndexes.sort((a, b) => a - b), {
    retriable: failures.every((failure) => failure.retriable),
    cause: first,
    details: { ...first.details, topic, results: wire },
  });
}

/** Where acks=0 records were sent: partitions known, offsets not (-1). */
export function unacknowledged(groups: Map<number, PartitionGroup>, count: number): ProduceResult[] {
  const results = new Array<ProduceResult>(count);
  for (const group of groups.values()) {
    for (let j = 0; j < group.records.length; j++) {
      results[group.requestIndexes[j]!] = { partition: group.partition, offset: -1, timestampMs: group.records[j]!.timestampMs };
    }
  }
  return results;
}

/** The same failure, its message and details naming the topic and partition it happened on. */
export function naming(error: GafkaError, topic: string, partition: number): GafkaError {
  const label = `${topic}-${partition}`;
  const message = error.message.includes(label) ? error.message : `partition ${label}: ${error.message}`;
  return new GafkaError(error.code, message, {
    retriable: error.retriable,
    cause: error,
    details: { ...error.details, topic, partition },
  });
}

/** The same failure, its details naming the record's position in the request. */
export function withRecordIndex(error: GafkaError, requestIndex: number): GafkaError {
  return new GafkaError(error.code, error.message, {
    retriable: error.retriable,
    cause: error.cause,
    details: { ...error.details, record: requestIndex },
  });
}

/**
 * What every path of the broker reads: the topics it holds by name and
 * whether it still accepts requests, with the look-ups that turn a missing
 * topic, partition or a refused log into the client's typed error.
 */

import { GafkaError, invalidRequest, partitionNotFound, topicNotFound } from "../core/errors.ts";
import { topicNameProblem } from "../core/limits.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import type { TopicState } from "./topic-state.ts";

export class BrokerState {
  readonly topics = new Map<string, TopicState>();
  /** False once close() began: every new request gets 503 shutting_down. */
  accepting = true;

  checkAccepting(): void {
    if (!this.accepting) throw new GafkaError("shutting_down", "the broker is shutting down", { retriable: true });
  }

  topicOrThrow(name: string): TopicState {
    const topic = this.topics.get(name);
    if (topic !== undefined) return topic;
    const problem = topicNameProblem(name);
    if (problem !== undefined) throw invalidRequest(problem, { field: "topic" });
    throw topicNotFound(name);
  }

  logOrThrow(topic: TopicState, partition: number): PartitionLogApi {
    const slot = Number.isInteger(partition) ? topic.partitions[partition] : undefined;
    if (slot === undefined) throw partitionNotFound(topic.metadata.name, partition);
    if (slot.refusal !== undefined) throw slot.refusal;
    return slot.log!;
  }

  /** The log of `partition` of the topic named `topicName`, or the typed error a client gets. */
  partitionLog(topicName: string, partition: number): PartitionLogApi {
    return this.logOrThrow(this.topicOrThrow(topicName), partition);
  }
}

import { GafkaClientError } from "./client-error.ts";
import { type GroupMembership, isMembershipLost, isRebalance, REBALANCE_RETRIES_MAX } from "./group-membership.ts";
import type { HttpClient } from "./http-client.ts";
import { partitionKey, type TopicPartitionOffset } from "./topic-partition.ts";
import type { WireCommitAnswer } from "./wire.ts";

/**
 * What a group member handed out and has not acknowledged yet, per
 * partition, and its commits of them: explicit ones and, with
 * autoCommitIntervalMs, the background ones (Kafka's auto-commit).
 */
export class Acknowledgements {
  /** Per partition, the offset after the last record handed out and not yet acknowledged. */
  private readonly unacknowledged = new Map<string, TopicPartitionOffset>();
  /** performance.now() of the last background commit. */
  private lastAutoCommitMs = performance.now();
  /** The background commit in flight, if any. */
  autoCommitting: Promise<void> | undefined;

  constructor(
    private readonly http: HttpClient,
    /** The group's path, `/api/v1/consumer-groups/{group}`. */
    private readonly groupPath: string,
    private readonly consumerId: string,
    private readonly membership: GroupMembership,
    /** Aborted when the consumer closes. */
    private readonly closing: AbortSignal,
    private readonly autoCommitIntervalMs: number | undefined,
  ) {}

  /** Notes where the records handed to the caller end; on-poll commits acknowledge the batch before. */
  handOut(records: readonly { topic: string; partition: number; offset: number }[]): void {
    if (this.autoCommitIntervalMs === undefined) this.unacknowledged.clear(); // this call acknowledged them
    // Records come in runs of one partition: the last of each run says where the next begins.
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const next = records[index + 1];
      if (next !== undefined && next.partition === record.partition && next.topic === record.topic) continue;
      this.unacknowledged.set(partitionKey(record), { topic: record.topic, partition: record.partition, offset: record.offset + 1 });
    }
  }

  /**
   * With autoCommitIntervalMs: once the interval has passed, commits what
   * earlier polls handed out, without waiting. A failure is left for the
   * next one (a rebalance makes the partition's new owner start from the
   * last commit: at-least-once).
   */
  autoCommitIfDue(): void {
    if (this.autoCommitIntervalMs === undefined || this.autoCommitting !== undefined || this.unacknowledged.size === 0) return;
    if (performance.now() - this.lastAutoCommitMs < this.autoCommitIntervalMs) return;
    this.lastAutoCommitMs = performance.now();
    this.autoCommitting = this.commit(this.closing).then(
      () => {
        this.autoCommitting = undefined;
      },
      () => {
        this.autoCommitting = undefined;
      },
    );
  }

  /** Commits what is unacknowledged in partitions the member still owns, riding out rebalances; what was committed. */
  async commit(signal: AbortSignal): Promise<TopicPartitionOffset[]> {
    for (let rebalances = 0; ; rebalances++) {
      const membership = this.membership.current;
      if (membership === undefined) return [];
      const owned = new Set(membership.assignment.map(partitionKey));
      for (const key of this.unacknowledged.keys()) if (!owned.has(key)) this.unacknowledged.delete(key);
      const offsets = [...this.unacknowledged.values()];
      if (offsets.length === 0) return [];
      try {
        const answer = await this.http.request<WireCommitAnswer>("POST", `${this.groupPath}/offsets`, {
          body: { consumer_id: this.consumerId, generation: membership.generation, offsets },
          signal,
        });
        for (const offset of offsets) {
          const key = partitionKey(offset);
          if (this.unacknowledged.get(key)?.offset === offset.offset) this.unacknowledged.delete(key);
        }
        return answer.committed;
      } catch (error) {
        if (!(error instanceof GafkaClientError) || !isRebalance(error) || rebalances >= REBALANCE_RETRIES_MAX) throw error;
        if (isMembershipLost(error)) {
          this.membership.forget(false);
          throw error;
        }
        this.membership.adoptConflict(error);
      }
    }
  }
}
